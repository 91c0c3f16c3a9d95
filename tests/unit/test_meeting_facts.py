"""The appraisal meeting's own facts kept with the step (server.domain.workflow._meeting_facts): only the
fixed keys, of the right types, votes within the panel; anything else is left out, never stored as sent."""

from __future__ import annotations

import pytest

from server.domain.workflow import _meeting_facts

FULL = {"place": " 社区会议室 ", "host": "王主任", "recorder": "李干事", "policy_briefed": True,
        "applicant_present": False, "investigators_present": True}


@pytest.mark.parametrize("meeting, votes, panel, expected", [
    (FULL, {"for": 9, "against": 0}, 9,
     {"meeting": {"place": "社区会议室", "host": "王主任", "recorder": "李干事", "policy_briefed": True,
                  "applicant_present": False, "investigators_present": True}, "votes": {"for": 9, "against": 0}}),
    (None, None, 9, {}),                                                     # a console appraisal: nothing to add
    ({}, {}, 9, {}),
    ({"place": "  ", "host": 3, "policy_briefed": "yes"}, {"for": True, "against": -1}, 9, {}),   # wrong types
    ({"place": "x" * 300, "chair": "not a key"}, {"for": 10, "against": 2}, 9,                    # too many votes
     {"meeting": {"place": "x" * 300}, "votes": {"against": 2}}),                                 # never cut
    ("社区会议室", [9, 0], 9, {}),                                            # not a mapping at all
])
def test_meeting_facts(meeting, votes, panel, expected):
    assert _meeting_facts(meeting, votes, panel) == expected
