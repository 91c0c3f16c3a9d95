"""The case state machine: the happy paths, every illegal transition, roles, scope, rules, deadlines.

The profiles are the real shipped ones (``server.rules.load_profiles()``); the calendar is the national
one. Dates are literal so that every expected deadline can be checked by hand against the 2025
National Day arrangement: 2025-10-01..08 off, make-up working days Sunday 2025-09-28 and Saturday
2025-10-11. Counting starts the day after the starting day (期间开始之日不计算在内).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from server.domain.calendar import NATIONAL, WorkCalendar
from server.domain.workflow import (
    PANEL_CATEGORIES,
    ROLES,
    RULES,
    STATES,
    TERMINAL,
    Actor,
    CaseState,
    IllegalTransition,
    NotPermitted,
    OutOfScope,
    PanelMember,
    PreconditionFailed,
    TeamMember,
    WorkflowError,
    allowed_actions,
    apply,
    in_scope,
    next_deadline,
    pending_deadlines,
    urgency,
)
from server.rules import BUILTIN_DIR, load_profiles, parse_profile

D = dt.date.fromisoformat
PROFILES = load_profiles()
PROFILE_IDS = ("guancheng", "yijun")

# --- the organisation: district > street office > community, and a second one beside it --------------

DISTRICT, OFFICE, COMMUNITY = 1, 10, 100
OTHER_DISTRICT, OTHER_OFFICE, OTHER_COMMUNITY = 2, 20, 200
LINEAGE = (DISTRICT, OFFICE, COMMUNITY)

ACTORS = {
    "investigator": Actor(1, "investigator", COMMUNITY, "社区调查员"),
    "caseworker": Actor(2, "caseworker", OFFICE, "经办人"),
    "leader": Actor(3, "leader", OFFICE, "分管领导"),
    "director": Actor(4, "director", OFFICE, "主任"),
    "bureau_supervisor": Actor(5, "bureau_supervisor", DISTRICT, "民政局"),
    "admin": Actor(6, "admin", OFFICE, "管理员"),
}

TEAM = [TeamMember(1, "investigator", COMMUNITY, True), TeamMember(12, "investigator", OFFICE, True)]


def panel(residents: int, others: int, *, unsigned: int = 0) -> list[PanelMember]:
    """``residents`` resident representatives and ``others`` other members; the last ``unsigned`` did not sign."""
    kinds = [c for c in PANEL_CATEGORIES if c != "resident"]
    members = [PanelMember(f"居民代表{i}", "resident", True) for i in range(residents)]
    members += [PanelMember(f"成员{i}", kinds[i % len(kinds)], True) for i in range(others)]
    for i in range(1, unsigned + 1):
        m = members[-i]
        members[-i] = PanelMember(m.name, m.category, False)
    return members


ALL_MATERIALS = sorted({m.code for p in PROFILES.values() for m in p.materials})

# A payload with which each action succeeds when its preconditions on the case hold.
GOOD: dict[str, dict] = {
    "notify_missing": {"materials": ["application"]},
    "accept": {"materials": ALL_MATERIALS, "applicant_signed": True, "fingerprint_file": "ab" * 32},
    "abandon": {"reason": "拒绝配合入户调查"},
    "request_verification": {"members": ["申请人", "配偶"]},
    "record_verification_report": {"found_income_6m": "1200.00"},
    "record_home_visit": {"team": TEAM, "applicant_signed": True},
    "record_appraisal": {"panel": panel(4, 2), "minutes": "政策宣讲、申请人陈述、评议、表决。", "conclusion": "agree"},
    "review_opinion": {"recommendation": "approve", "opinion": "经核对，家庭人均收入低于当地标准。",
                       "assessed_income_6m": Decimal("1200.00"), "property_checked": True},
    "sign_review": {"signature": True, "opinion": "同意"},
    "record_meeting": {"record": "班子会议研究，同意拟保障意见。", "decision": "approve", "attendees": ["王镇长", "李干事"]},
    "open_publicity": {"boards": ["B1"], "required_levels": ["community"], "board_levels": {"B1": "community"}},
    "record_objection": {"text": "该户有营运车辆", "source": "phone"},
    "resolve_objection": {"finding": "车辆已于2024年转让，异议不成立", "outcome": "uphold"},
    "close_publicity": {},
    "approve": {"signature": True, "amount": Decimal("320.00"), "opinion": "同意"},
    "refuse": {"reasons": "家庭人均收入高于当地低保标准"},
    "issue_certificate": {"number": "GC-2025-0001", "valid_from": D("2025-11-03"), "valid_until": D("2026-11-02")},
    "start_payment": {"month": "2025-11"},
    "start_rereview": {"reason": "半年复核"},
    "complete_rereview": {"outcome": "continue", "evidence": [{"kind": "visit", "visit_on": "2026-04-02"}]},
    "record_change": {"direction": "lower", "reasons": "家庭成员就业", "amount": Decimal("200.00")},
    "start_gradual_exit": {"reasons": "家庭人均收入超过标准"},
    "finish_gradual_exit": {},
    "stop": {"reasons": "家庭人均收入超过标准"},
    "return_for_correction": {"to": "review", "reasons": "认定收入与核对报告不一致，请重新核算"},
}

TODAY = D("2025-11-03")  # after every date case_in() puts on a case

# The fields a case has once it reaches each state of the main line, cumulative in this order.
MAIN_LINE = [
    ("application", {}),
    ("accepted", {"accepted_on": D("2025-09-26")}),
    ("visited", {"verification_requested_on": D("2025-09-28"), "visit_on": D("2025-09-29")}),
    ("appraised", {"verification_report_on": D("2025-09-30"), "appraisal_on": D("2025-10-09")}),
    ("review_signing", {"review_opinion_on": D("2025-10-10"), "recommendation": "approve"}),
    ("reviewed", {"reviewed_on": D("2025-10-11")}),
    ("meeting_held", {"meeting_on": D("2025-10-13")}),
    ("publicity", {"publicity_opened_on": D("2025-10-14"), "publicity_earliest_close": D("2025-10-21"),
                   "publicity_rounds": 1}),
    ("publicity_closed", {"publicity_closed_on": D("2025-10-21")}),
    ("approved", {"decided_on": D("2025-10-22")}),
    ("certified", {"certificate_until": D("2026-10-22")}),
    ("in_payment", {}),
]
# Side states: (the main-line state they branch from, their own fields).
SIDE = {
    "objection": ("publicity", {"objection_on": D("2025-10-16")}),
    "refused": ("publicity_closed", {"decided_on": D("2025-10-22")}),
    "abandoned": ("accepted", {"decided_on": D("2025-09-30")}),
    "rereview": ("in_payment", {}),
    "gradual_exit": ("in_payment", {"exit_month": 1}),
    "stopped": ("in_payment", {"decided_on": D("2025-10-31")}),
}


def case_in(status: str, **overrides) -> CaseState:
    """A plausible case in ``status`` (handled by OFFICE, living in COMMUNITY)."""
    base, extra = SIDE.get(status, (status, {}))
    names = [name for name, _ in MAIN_LINE]
    fields: dict = {}
    for _name, f in MAIN_LINE[: names.index(base) + 1]:
        fields.update(f)
    fields.update(extra)
    fields.update(overrides)
    return CaseState(status=status, office_unit_id=OFFICE, lineage=LINEAGE, **fields)


def actor_for(action: str) -> Actor:
    return ACTORS[RULES[action].roles[0]]


def test_tables_cover_the_workflow():
    """The fixtures of this file know every role, state and action: a new one must be added here."""
    assert set(ACTORS) == set(ROLES)
    assert set(GOOD) == set(RULES)
    assert {name for name, _ in MAIN_LINE} | set(SIDE) == set(STATES)
    for rule in RULES.values():
        assert set(rule.from_states) <= set(STATES), rule.action
        assert rule.to_state == "" or rule.to_state in STATES, rule.action
        assert set(rule.roles) <= set(ROLES), rule.action
    assert TERMINAL <= set(STATES)
    for status in STATES:
        assert case_in(status).status == status


# --- happy paths --------------------------------------------------------------------------------------

HAPPY = [
    # action, role, today, payload, status after
    ("accept", "caseworker", "2025-09-26", GOOD["accept"], "accepted"),
    ("request_verification", "caseworker", "2025-09-28", GOOD["request_verification"], "accepted"),
    ("record_home_visit", "investigator", "2025-09-29", GOOD["record_home_visit"], "visited"),
    ("record_verification_report", "caseworker", "2025-09-30", GOOD["record_verification_report"], "visited"),
    ("record_appraisal", "caseworker", "2025-10-09", GOOD["record_appraisal"], "appraised"),
    ("review_opinion", "caseworker", "2025-10-10", GOOD["review_opinion"], "review_signing"),
    ("sign_review", "leader", "2025-10-11", GOOD["sign_review"], "reviewed"),
    ("record_meeting", "leader", "2025-10-13", GOOD["record_meeting"], "meeting_held"),  # yijun only
    ("open_publicity", "caseworker", "2025-10-14", GOOD["open_publicity"], "publicity"),
    ("close_publicity", "caseworker", "2025-10-21", {}, "publicity_closed"),
    ("approve", "director", "2025-10-22", GOOD["approve"], "approved"),
    ("issue_certificate", "caseworker", "2025-10-23",
     {"number": "YJ-2025-0007", "valid_from": D("2025-10-23"), "valid_until": D("2026-10-22")}, "certified"),
    ("start_payment", "caseworker", "2025-10-24", {"month": "2025-11"}, "in_payment"),
]


@pytest.mark.parametrize("profile_id, with_meeting", [("guancheng", False), ("yijun", True)])
def test_happy_path_from_application_to_payment(profile_id, with_meeting):
    profile = PROFILES[profile_id]
    assert profile.has_meeting is with_meeting
    steps = [s for s in HAPPY if s[0] != "record_meeting" or with_meeting]
    case = case_in("application")
    seen = []
    for action, role, today, payload, expected in steps:
        actor = ACTORS[role]
        assert action in allowed_actions(case, actor, profile), (action, case.status)
        out = apply(case, action, actor, profile, NATIONAL, D(today), payload)
        assert out.event.action == action
        assert (out.event.from_status, out.event.to_status) == (case.status, expected), action
        assert out.state.status == expected
        seen.append(out.event.to_status)
        case = out.state
    assert seen[-1] == "in_payment"
    assert ("meeting_held" in seen) is with_meeting
    # what the path left on the case
    assert case.accepted_on == D("2025-09-26")
    assert case.verification_requested_on == D("2025-09-28")
    assert case.visit_on == D("2025-09-29")
    assert case.verification_report_on == D("2025-09-30")
    assert case.appraisal_on == D("2025-10-09")
    assert case.review_opinion_on == D("2025-10-10")
    assert case.reviewed_on == D("2025-10-11")
    assert case.meeting_on == (D("2025-10-13") if with_meeting else None)
    assert case.recommendation == "approve"
    assert case.publicity_opened_on == D("2025-10-14")
    assert case.publicity_earliest_close == D("2025-10-21")  # 7 calendar days
    assert case.publicity_closed_on == D("2025-10-21")
    assert case.publicity_rounds == 1
    assert case.decided_on == D("2025-10-22")
    assert case.certificate_until == D("2026-10-22")
    assert pending_deadlines(case, profile, NATIONAL) == []
    assert urgency(case, profile, NATIONAL, D("2025-10-24")) is None


def test_happy_path_event_data():
    profile = PROFILES["guancheng"]
    out = apply(case_in("application"), "accept", ACTORS["caseworker"], profile, NATIONAL, D("2025-09-26"),
                GOOD["accept"])
    assert out.event.data == {"accepted_on": "2025-09-26"}
    out = apply(case_in("accepted"), "record_home_visit", ACTORS["investigator"], profile, NATIONAL,
                D("2025-09-29"), GOOD["record_home_visit"])
    assert out.event.data == {"visit_on": "2025-09-29", "team": [1, 12], "due": "2025-10-10"}
    out = apply(case_in("reviewed"), "open_publicity", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-14"),
                GOOD["open_publicity"])
    assert out.event.data == {"boards": ["B1"], "earliest_close": "2025-10-21",
                              "provisional": False, "round": 1}


# --- illegal transitions: generated from STATES x RULES -----------------------------------------------

ILLEGAL = [pytest.param(status, action, id=f"{status}-{action}")
           for status in STATES for action, rule in RULES.items() if status not in rule.from_states]
LEGAL = [pytest.param(status, action, id=f"{status}-{action}")
         for action, rule in RULES.items() for status in rule.from_states]


def test_illegal_table_is_large():
    assert len(ILLEGAL) + len(LEGAL) == len(STATES) * len(RULES)
    assert len(ILLEGAL) > 300


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
@pytest.mark.parametrize("status, action", ILLEGAL)
def test_every_illegal_transition_is_refused(profile_id, status, action):
    case = case_in(status)
    with pytest.raises(IllegalTransition) as info:
        apply(case, action, actor_for(action), PROFILES[profile_id], NATIONAL, TODAY, GOOD[action])
    assert info.value.code == "illegal_transition"
    assert info.value.details == {"state": status}
    assert info.value.status == 409


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
@pytest.mark.parametrize("status, action", LEGAL)
def test_every_legal_transition_gets_past_the_state_check(profile_id, status, action):
    """The converse: a listed (state, action) pair is never refused as an illegal transition."""
    try:
        out = apply(case_in(status), action, actor_for(action), PROFILES[profile_id], NATIONAL, TODAY, GOOD[action])
    except IllegalTransition as exc:
        assert exc.code != "illegal_transition"
    except PreconditionFailed:
        pass
    else:
        assert out.event.from_status == status
        assert out.state.status == out.event.to_status
        assert out.event.to_status == (RULES[action].to_state or status) or action in (
            "record_appraisal", "resolve_objection", "complete_rereview")


def test_unknown_action():
    with pytest.raises(IllegalTransition) as info:
        apply(case_in("application"), "approve_everything", ACTORS["caseworker"], PROFILES["guancheng"],
              NATIONAL, TODAY, {})
    assert info.value.code == "unknown_action"


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
@pytest.mark.parametrize("status", STATES)
def test_allowed_actions_agree_with_apply(profile_id, status):
    """Every offered action passes the state, role and scope checks; every other one is refused."""
    profile = PROFILES[profile_id]
    case = case_in(status)
    for role, actor in ACTORS.items():
        offered = allowed_actions(case, actor, profile)
        for action in RULES:
            try:
                apply(case, action, actor, profile, NATIONAL, TODAY, GOOD[action])
            except (IllegalTransition, NotPermitted, OutOfScope) as exc:
                assert action not in offered, (role, action, exc.code)
            except PreconditionFailed as exc:
                assert action in offered or exc.code == "meeting_required", (role, action, exc.code)
            else:
                assert action in offered, (role, action)


# --- roles and scope ------------------------------------------------------------------------------------

WRONG_ROLES = [pytest.param(action, role, id=f"{action}-{role}")
               for action, rule in RULES.items() for role in ROLES
               if role not in rule.roles and role != "admin"]


@pytest.mark.parametrize("action, role", WRONG_ROLES)
def test_every_wrong_role_is_not_permitted(action, role):
    rule = RULES[action]
    case = case_in(rule.from_states[0])
    with pytest.raises(NotPermitted) as info:
        apply(case, action, ACTORS[role], PROFILES["yijun"], NATIONAL, TODAY, GOOD[action])
    assert info.value.code == "role_not_permitted"
    assert info.value.status == 403
    assert info.value.details == {"roles": list(rule.roles)}


def test_bureau_and_admin_have_no_casework_action():
    for rule in RULES.values():
        assert "bureau_supervisor" not in rule.roles
        assert "admin" not in rule.roles


@pytest.mark.parametrize("action", list(RULES))
def test_admin_cannot_act_on_cases(action):
    """An administrator manages accounts; no case is in an administrator's scope."""
    case = case_in(RULES[action].from_states[0])
    assert not in_scope(ACTORS["admin"], case)
    with pytest.raises(OutOfScope):
        apply(case, action, ACTORS["admin"], PROFILES["guancheng"], NATIONAL, TODAY, GOOD[action])


@pytest.mark.parametrize("actor, expected", [
    pytest.param(Actor(1, "investigator", COMMUNITY), True, id="investigator-of-the-community"),
    pytest.param(Actor(1, "investigator", OFFICE), True, id="investigator-of-the-office"),
    pytest.param(Actor(2, "caseworker", OFFICE), True, id="caseworker-of-the-office"),
    pytest.param(Actor(3, "leader", OFFICE), True, id="leader-of-the-office"),
    pytest.param(Actor(4, "director", OFFICE), True, id="director-of-the-office"),
    pytest.param(Actor(5, "bureau_supervisor", DISTRICT), True, id="bureau-of-the-district"),
    pytest.param(Actor(1, "investigator", OTHER_COMMUNITY), False, id="investigator-of-another-office-community"),
    pytest.param(Actor(1, "investigator", OTHER_OFFICE), False, id="investigator-of-another-office"),
    pytest.param(Actor(1, "investigator", DISTRICT), False, id="investigator-at-district"),
    pytest.param(Actor(2, "caseworker", OTHER_OFFICE), False, id="caseworker-of-another-office"),
    pytest.param(Actor(2, "caseworker", COMMUNITY), False, id="caseworker-at-community"),
    pytest.param(Actor(2, "caseworker", DISTRICT), False, id="caseworker-at-district"),
    pytest.param(Actor(3, "leader", OTHER_OFFICE), False, id="leader-of-another-office"),
    pytest.param(Actor(4, "director", OTHER_OFFICE), False, id="director-of-another-office"),
    pytest.param(Actor(5, "bureau_supervisor", OTHER_DISTRICT), False, id="bureau-of-another-district"),
    pytest.param(Actor(5, "bureau_supervisor", OFFICE), False, id="bureau-at-office"),
    pytest.param(Actor(6, "admin", OFFICE), False, id="admin"),
])
def test_in_scope(actor, expected):
    assert in_scope(actor, case_in("accepted")) is expected


def test_nobody_is_in_scope_of_a_case_whose_office_is_not_in_its_lineage():
    case = CaseState(status="accepted", office_unit_id=OTHER_OFFICE, lineage=LINEAGE, accepted_on=D("2025-09-26"))
    for actor in ACTORS.values():
        assert not in_scope(actor, case)


@pytest.mark.parametrize("actor, status, action", [
    pytest.param(Actor(2, "caseworker", OTHER_OFFICE), "application", "accept", id="caseworker-other-office"),
    pytest.param(Actor(3, "leader", OTHER_OFFICE), "review_signing", "sign_review", id="leader-other-office"),
    pytest.param(Actor(4, "director", OTHER_OFFICE), "publicity_closed", "approve", id="director-other-office"),
    pytest.param(Actor(1, "investigator", OTHER_COMMUNITY), "accepted", "record_home_visit",
                 id="investigator-other-office-community"),
    pytest.param(Actor(5, "bureau_supervisor", OTHER_DISTRICT), "in_payment", "stop", id="bureau-other-district"),
])
def test_out_of_scope_actor_is_refused(actor, status, action):
    case = case_in(status)
    with pytest.raises(OutOfScope) as info:
        apply(case, action, actor, PROFILES["guancheng"], NATIONAL, TODAY, GOOD[action])
    assert info.value.code == "out_of_scope"
    assert info.value.status == 403
    assert allowed_actions(case, actor, PROFILES["guancheng"]) == []


def test_investigator_of_a_community_under_the_office_records_the_visit():
    out = apply(case_in("accepted"), "record_home_visit", Actor(1, "investigator", COMMUNITY),
                PROFILES["guancheng"], NATIONAL, D("2025-09-29"), GOOD["record_home_visit"])
    assert out.state.status == "visited"


@pytest.mark.parametrize("profile_id, status, role, needs_republication, expected", [
    ("guancheng", "application", "caseworker", False, {"notify_missing", "accept", "abandon"}),
    ("guancheng", "accepted", "caseworker", False,
     {"abandon", "request_verification", "record_verification_report", "record_home_visit"}),
    ("guancheng", "accepted", "investigator", False, {"record_home_visit"}),
    ("guancheng", "accepted", "director", False, set()),
    ("guancheng", "reviewed", "caseworker", False, {"open_publicity"}),
    ("guancheng", "reviewed", "director", False, {"refuse", "return_for_correction"}),
    ("guancheng", "review_signing", "leader", False, {"sign_review", "return_for_correction"}),
    ("guancheng", "review_signing", "director", False, set()),
    ("guancheng", "publicity_closed", "director", False, {"approve", "refuse", "return_for_correction"}),
    ("guancheng", "publicity_closed", "leader", False, set()),
    ("yijun", "reviewed", "caseworker", False, {"record_meeting"}),
    ("yijun", "reviewed", "director", False, {"record_meeting", "refuse", "return_for_correction"}),
    ("yijun", "reviewed", "caseworker", True, {"record_meeting", "open_publicity"}),
    ("yijun", "meeting_held", "caseworker", False, {"open_publicity"}),
    ("yijun", "objection", "leader", False, {"resolve_objection"}),
    ("yijun", "in_payment", "director", False, {"record_change", "start_gradual_exit", "stop"}),
    ("yijun", "in_payment", "caseworker", False, {"start_rereview"}),
    ("yijun", "in_payment", "bureau_supervisor", False, set()),
    ("yijun", "stopped", "director", False, set()),
])
def test_allowed_actions(profile_id, status, role, needs_republication, expected):
    case = case_in(status, needs_republication=needs_republication)
    assert set(allowed_actions(case, ACTORS[role], PROFILES[profile_id])) == expected


# --- the rules of each transition -----------------------------------------------------------------------

REQUIRED = ["application", "hukou_id", "income_property_statement", "integrity_pledge",
            "verification_authorisation"]
OUTSIDER = TeamMember(21, "investigator", OTHER_COMMUNITY, True)


EVIDENCE = GOOD["complete_rereview"]["evidence"]


def without(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def but(action: str, **changes) -> dict:
    return {**GOOD[action], **changes}


REFUSALS = [
    # id, profile, case, action, role, today, payload, error, code, details (subset)
    ("accept-missing-some", "guancheng", case_in("application"), "accept", "caseworker", "2025-09-26",
     but("accept", materials=["application", "marriage", "demolition"]), PreconditionFailed, "materials_missing",
     {"missing": ["hukou_id", "income_property_statement", "integrity_pledge", "verification_authorisation"]}),
    ("accept-missing-all", "yijun", case_in("application"), "accept", "caseworker", "2025-09-26",
     without(GOOD["accept"], "materials"), PreconditionFailed, "materials_missing", {"missing": REQUIRED}),
    ("accept-only-optional", "guancheng", case_in("application"), "accept", "caseworker", "2025-09-26",
     but("accept", materials=["marriage", "status_papers", "demolition", "agreements"]), PreconditionFailed,
     "materials_missing", {"missing": REQUIRED}),
    ("accept-yijun-fingerprint", "yijun", case_in("application"), "accept", "caseworker", "2025-09-26",
     without(GOOD["accept"], "fingerprint_file"), PreconditionFailed, "fingerprint_required", {}),
    ("rereview-continue-without-evidence", "guancheng", case_in("rereview"), "complete_rereview", "director",
     "2026-05-06", without(GOOD["complete_rereview"], "evidence"), PreconditionFailed,
     "rereview_evidence_required", {}),
    ("rereview-stop-without-evidence", "yijun", case_in("rereview"), "complete_rereview", "director",
     "2026-05-06", {"outcome": "stop", "reasons": "户籍迁出", "category": "moved"}, PreconditionFailed,
     "rereview_evidence_required", {}),
    ("accept-yijun-bare-fingerprint-tick", "yijun", case_in("application"), "accept", "caseworker", "2025-09-26",
     {**without(GOOD["accept"], "fingerprint_file"), "fingerprint": True}, PreconditionFailed,
     "fingerprint_required", {}),
    ("accept-situational-material-missing", "guancheng", case_in("application"), "accept", "caseworker",
     "2025-09-26", but("accept", materials=[m for m in ALL_MATERIALS if m != "student_papers"],
                       member_flags=[("张三", []), ("张小明", ["student"])]), PreconditionFailed,
     "materials_missing", {"missing": ["student_papers"]}),
    ("verification-member-left-out", "guancheng", case_in("accepted"), "request_verification", "caseworker",
     "2025-09-29", but("request_verification", members=["申请人"], required_members=["申请人", "配偶"]),
     PreconditionFailed, "verification_member_omitted", {"omitted": ["配偶"]}),
    ("verification-member-left-out-blank-reason", "yijun", case_in("accepted"), "request_verification",
     "caseworker", "2025-09-29", but("request_verification", members=["申请人"], required_members=["申请人", "配偶"],
                                    omission_reason="  "),
     PreconditionFailed, "verification_member_omitted", {"omitted": ["配偶"]}),
    ("appraisal-one-resident", "guancheng", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", panel=panel(1, 0)), PreconditionFailed, "panel_too_small", {"minimum": 3, "panel": 1}),
    ("appraisal-same-person-twice", "yijun", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", panel=[*panel(4, 2), PanelMember("陈 静", "resident", True),
                                    PanelMember("陈静", "resident", True)]), PreconditionFailed,
     "panel_member_duplicate", {"names": ["陈静"]}),
    ("appraisal-same-person-full-width", "guancheng", case_in("visited"), "record_appraisal", "caseworker",
     "2025-10-09", but("record_appraisal", panel=[PanelMember("Ｌｉ Ｍｉｎｇ", "resident", True),
                                                   PanelMember("li ming", "resident", True),
                                                   PanelMember("王", "office_staff", True)]),
     PreconditionFailed, "panel_member_duplicate", {}),
    ("publicity-missing-natural-village", "yijun", case_in("meeting_held"), "open_publicity", "caseworker",
     "2025-10-14", but("open_publicity", boards=["T", "V"], required_levels=["township", "village", "natural_village"],
                       board_levels={"T": "township", "V": "village"}), PreconditionFailed, "board_level_missing",
     {"missing": ["natural_village"]}),
    ("publicity-one-natural-village-board", "yijun", case_in("meeting_held"), "open_publicity", "caseworker",
     "2025-10-14", but("open_publicity", boards=["N"], required_levels=["township", "village", "natural_village"],
                       board_levels={"N": "natural_village"}), PreconditionFailed, "board_level_missing",
     {"missing": ["township", "village"]}),
    ("accept-no-signature", "guancheng", case_in("application"), "accept", "caseworker", "2025-09-26",
     without(GOOD["accept"], "applicant_signed"), PreconditionFailed, "applicant_signature_required", {}),
    ("accept-future-date", "guancheng", case_in("application"), "accept", "caseworker", "2025-09-26",
     but("accept", accepted_on=D("2025-09-27")), PreconditionFailed, "accepted_on_future", {}),
    ("accept-date-not-a-date", "guancheng", case_in("application"), "accept", "caseworker", "2025-09-26",
     but("accept", accepted_on="2025-09-26"), PreconditionFailed, "accepted_on_invalid", {}),
    ("notify-nothing-missing", "guancheng", case_in("application"), "notify_missing", "caseworker", "2025-09-26",
     {"materials": ALL_MATERIALS}, PreconditionFailed, "nothing_missing", {}),
    ("notify-only-required-given", "yijun", case_in("application"), "notify_missing", "caseworker", "2025-09-26",
     {"materials": REQUIRED}, PreconditionFailed, "nothing_missing", {}),
    ("abandon-no-reason", "guancheng", case_in("accepted"), "abandon", "caseworker", "2025-09-30",
     {"reason": "  "}, PreconditionFailed, "reason_required", {}),
    ("verification-no-members", "guancheng", case_in("accepted"), "request_verification", "caseworker",
     "2025-09-28", {"members": []}, PreconditionFailed, "members_required", {}),
    ("verification-before-acceptance", "guancheng", case_in("accepted"), "request_verification", "caseworker",
     "2025-09-28", but("request_verification", requested_on=D("2025-09-25")), PreconditionFailed,
     "requested_on_before_acceptance", {}),
    ("report-without-request", "guancheng", case_in("accepted"), "record_verification_report", "caseworker",
     "2025-09-30", {}, PreconditionFailed, "verification_not_requested", {}),
    ("report-before-request", "guancheng", case_in("visited"), "record_verification_report", "caseworker",
     "2025-09-30", {"report_on": D("2025-09-27")}, PreconditionFailed, "report_on_before_request", {}),
    ("visit-one-investigator", "guancheng", case_in("accepted"), "record_home_visit", "investigator", "2025-09-29",
     but("record_home_visit", team=TEAM[:1]), PreconditionFailed, "team_too_small", {"min_team": 2}),
    ("visit-same-investigator-twice", "yijun", case_in("accepted"), "record_home_visit", "investigator",
     "2025-09-29", but("record_home_visit", team=[TEAM[0], TEAM[0]]), PreconditionFailed, "team_too_small",
     {"min_team": 2}),
    ("visit-no-team", "guancheng", case_in("accepted"), "record_home_visit", "caseworker", "2025-09-29",
     without(GOOD["record_home_visit"], "team"), PreconditionFailed, "team_too_small", {}),
    ("visit-non-investigator", "guancheng", case_in("accepted"), "record_home_visit", "caseworker", "2025-09-29",
     but("record_home_visit", team=[TEAM[0], TeamMember(2, "caseworker", OFFICE, True)]), PreconditionFailed,
     "investigator_out_of_scope", {"user_id": 2}),
    ("visit-out-of-scope-investigator", "guancheng", case_in("accepted"), "record_home_visit", "investigator",
     "2025-09-29", but("record_home_visit", team=[TEAM[0], OUTSIDER]), PreconditionFailed,
     "investigator_out_of_scope", {"user_id": 21}),
    ("visit-unsigned-investigator", "yijun", case_in("accepted"), "record_home_visit", "investigator", "2025-09-29",
     but("record_home_visit", team=[TEAM[0], TeamMember(12, "investigator", OFFICE, False)]), PreconditionFailed,
     "investigator_signature_missing", {}),
    ("visit-no-applicant-signature", "guancheng", case_in("accepted"), "record_home_visit", "investigator",
     "2025-09-29", without(GOOD["record_home_visit"], "applicant_signed"), PreconditionFailed,
     "applicant_signature_required", {}),
    ("visit-before-acceptance", "guancheng", case_in("accepted"), "record_home_visit", "investigator",
     "2025-09-29", but("record_home_visit", visit_on=D("2025-09-25")), PreconditionFailed,
     "visit_on_before_acceptance", {}),
    ("appraisal-3-of-5-residents", "guancheng", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", panel=panel(3, 2)), PreconditionFailed, "resident_share_too_low",
     {"residents": 3, "panel": 5}),
    ("appraisal-no-residents", "yijun", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", panel=panel(0, 3)), PreconditionFailed, "resident_share_too_low",
     {"residents": 0, "panel": 3}),
    ("appraisal-unsigned-member", "guancheng", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", panel=panel(4, 2, unsigned=1)), PreconditionFailed, "panel_signature_missing", {}),
    ("appraisal-no-minutes", "guancheng", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     without(GOOD["record_appraisal"], "minutes"), PreconditionFailed, "minutes_required", {}),
    ("appraisal-blank-minutes", "yijun", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", minutes=" \n "), PreconditionFailed, "minutes_required", {}),
    ("appraisal-unknown-category", "guancheng", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", panel=[*panel(4, 1), PanelMember("张三", "neighbour", True)]), PreconditionFailed,
     "panel_category_invalid", {}),
    ("appraisal-no-panel", "guancheng", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", panel=[]), PreconditionFailed, "panel_required", {}),
    ("appraisal-bad-conclusion", "guancheng", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", conclusion="maybe"), PreconditionFailed, "conclusion_invalid", {}),
    ("appraisal-before-visit", "guancheng", case_in("visited"), "record_appraisal", "caseworker", "2025-10-09",
     but("record_appraisal", appraisal_on=D("2025-09-28")), PreconditionFailed, "appraisal_on_before_visit", {}),
    ("review-without-report", "guancheng", case_in("appraised", verification_report_on=None), "review_opinion",
     "caseworker", "2025-10-10", GOOD["review_opinion"], PreconditionFailed, "verification_report_missing", {}),
    ("review-bad-recommendation", "guancheng", case_in("appraised"), "review_opinion", "caseworker", "2025-10-10",
     but("review_opinion", recommendation="maybe"), PreconditionFailed, "recommendation_invalid", {}),
    ("review-no-opinion", "guancheng", case_in("appraised"), "review_opinion", "caseworker", "2025-10-10",
     but("review_opinion", opinion=""), PreconditionFailed, "opinion_required", {}),
    ("sign-review-unsigned", "yijun", case_in("review_signing"), "sign_review", "leader", "2025-10-11",
     {"opinion": "同意"}, PreconditionFailed, "signature_required", {}),
    ("yijun-publicity-before-meeting", "yijun", case_in("reviewed"), "open_publicity", "caseworker", "2025-10-14",
     GOOD["open_publicity"], PreconditionFailed, "meeting_required", {}),
    ("guancheng-no-meeting-step", "guancheng", case_in("reviewed"), "record_meeting", "leader", "2025-10-13",
     GOOD["record_meeting"], IllegalTransition, "no_meeting_step", {}),
    ("meeting-bad-decision", "yijun", case_in("reviewed"), "record_meeting", "leader", "2025-10-13",
     but("record_meeting", decision="later"), PreconditionFailed, "decision_invalid", {}),
    ("meeting-one-attendee", "yijun", case_in("reviewed"), "record_meeting", "leader", "2025-10-13",
     but("record_meeting", attendees=["王镇长"]), PreconditionFailed, "attendees_too_few", {"minimum": 2}),
    ("meeting-attendee-twice", "yijun", case_in("reviewed"), "record_meeting", "leader", "2025-10-13",
     but("record_meeting", attendees=["王镇长", "李干事", "王镇长"]), PreconditionFailed, "attendees_duplicate", {}),
    ("meeting-blank-names-do-not-count", "yijun", case_in("reviewed"), "record_meeting", "leader", "2025-10-13",
     but("record_meeting", attendees=["王镇长", " ", ""]), PreconditionFailed, "attendees_too_few", {}),
    ("meeting-in-the-future", "yijun", case_in("reviewed"), "record_meeting", "leader", "2025-10-13",
     but("record_meeting", meeting_on=D("2025-10-14")), PreconditionFailed, "meeting_on_future", {}),
    ("meeting-before-the-signed-review", "yijun", case_in("reviewed", reviewed_on=D("2025-10-12")), "record_meeting",
     "leader", "2025-10-13", but("record_meeting", meeting_on=D("2025-10-11")), PreconditionFailed,
     "meeting_on_too_early", {"earliest": "2025-10-12"}),
    ("meeting-no-minutes", "yijun", case_in("reviewed"), "record_meeting", "leader", "2025-10-13",
     but("record_meeting", record=" "), PreconditionFailed, "record_required", {}),
    ("publicity-of-a-refusal", "guancheng", case_in("reviewed", recommendation="refuse"), "open_publicity",
     "caseworker", "2025-10-14", GOOD["open_publicity"], PreconditionFailed, "recommendation_not_approve", {}),
    ("publicity-no-boards", "yijun", case_in("meeting_held"), "open_publicity", "caseworker", "2025-10-14",
     {"boards": []}, PreconditionFailed, "boards_required", {}),
    ("publicity-closed-too-early", "guancheng", case_in("publicity"), "close_publicity", "caseworker", "2025-10-20",
     {}, PreconditionFailed, "publicity_too_short", {"earliest": "2025-10-21"}),
    ("publicity-closed-same-day", "yijun", case_in("publicity"), "close_publicity", "caseworker", "2025-10-14",
     {}, PreconditionFailed, "publicity_too_short", {"earliest": "2025-10-21"}),
    ("objection-no-text", "guancheng", case_in("publicity"), "record_objection", "caseworker", "2025-10-16",
     {"text": "\t"}, PreconditionFailed, "text_required", {}),
    ("resolve-no-finding", "guancheng", case_in("objection"), "resolve_objection", "leader", "2025-10-20",
     without(GOOD["resolve_objection"], "finding"), PreconditionFailed, "finding_required", {}),
    ("resolve-refuse-outcome", "guancheng", case_in("objection"), "resolve_objection", "leader", "2025-10-20",
     but("resolve_objection", outcome="refuse"), PreconditionFailed, "outcome_invalid", {}),
    ("approve-unsigned", "guancheng", case_in("publicity_closed"), "approve", "director", "2025-10-22",
     without(GOOD["approve"], "signature"), PreconditionFailed, "signature_required", {}),
    ("approve-signature-false", "yijun", case_in("publicity_closed"), "approve", "director", "2025-10-22",
     but("approve", signature=False), PreconditionFailed, "signature_required", {}),
    ("approve-no-amount", "guancheng", case_in("publicity_closed"), "approve", "director", "2025-10-22",
     without(GOOD["approve"], "amount"), PreconditionFailed, "amount_required", {}),
    ("approve-open-objection", "guancheng", case_in("publicity_closed", objection_on=D("2025-10-20")), "approve",
     "director", "2025-10-22", GOOD["approve"], PreconditionFailed, "objection_open", {}),
    ("refuse-no-reasons", "guancheng", case_in("publicity_closed"), "refuse", "director", "2025-10-22",
     {}, PreconditionFailed, "reasons_required", {}),
    ("refuse-whitespace-reasons", "yijun", case_in("reviewed"), "refuse", "director", "2025-10-22",
     {"reasons": " \u3000\n\t "}, PreconditionFailed, "reasons_required", {}),
    ("refuse-reasons-not-text", "guancheng", case_in("objection"), "refuse", "director", "2025-10-22",
     {"reasons": ["收入超标"]}, PreconditionFailed, "reasons_required", {}),
    ("certificate-until-equals-from", "guancheng", case_in("approved"), "issue_certificate", "caseworker",
     "2025-10-23", but("issue_certificate", valid_from=D("2025-10-23"), valid_until=D("2025-10-23")),
     PreconditionFailed, "validity_invalid", {}),
    ("certificate-until-before-from", "guancheng", case_in("approved"), "issue_certificate", "caseworker",
     "2025-10-23", but("issue_certificate", valid_from=D("2025-10-23"), valid_until=D("2025-10-01")),
     PreconditionFailed, "validity_invalid", {}),
    ("certificate-no-until", "yijun", case_in("approved"), "issue_certificate", "caseworker", "2025-10-23",
     without(GOOD["issue_certificate"], "valid_until"), PreconditionFailed, "validity_invalid", {}),
    ("certificate-until-as-text", "yijun", case_in("approved"), "issue_certificate", "caseworker", "2025-10-23",
     but("issue_certificate", valid_until="2026-10-22"), PreconditionFailed, "validity_invalid", {}),
    ("certificate-no-number", "guancheng", case_in("approved"), "issue_certificate", "caseworker", "2025-10-23",
     without(GOOD["issue_certificate"], "number"), PreconditionFailed, "number_required", {}),
    ("rereview-bad-outcome", "guancheng", case_in("rereview"), "complete_rereview", "director", "2025-11-03",
     {"outcome": "pause"}, PreconditionFailed, "outcome_invalid", {}),
    ("rereview-stop-no-reasons", "guancheng", case_in("rereview"), "complete_rereview", "director", "2025-11-03",
     {"outcome": "stop", "evidence": EVIDENCE}, PreconditionFailed, "reasons_required", {}),
    ("rereview-exit-no-reasons", "yijun", case_in("rereview"), "complete_rereview", "director", "2025-11-03",
     {"outcome": "gradual_exit", "reasons": "", "evidence": EVIDENCE}, PreconditionFailed, "reasons_required", {}),
    ("rereview-change-no-reasons", "yijun", case_in("rereview"), "complete_rereview", "director", "2025-11-03",
     {"outcome": "change", "amount": Decimal("100.00"), "evidence": EVIDENCE}, PreconditionFailed,
     "reasons_required", {}),
    ("change-bad-direction", "guancheng", case_in("in_payment"), "record_change", "director", "2025-11-03",
     but("record_change", direction="sideways"), PreconditionFailed, "direction_invalid", {}),
    ("change-no-reasons", "guancheng", case_in("in_payment"), "record_change", "director", "2025-11-03",
     without(GOOD["record_change"], "reasons"), PreconditionFailed, "reasons_required", {}),
    ("gradual-exit-no-reasons", "guancheng", case_in("in_payment"), "start_gradual_exit", "director",
     "2025-11-03", {}, PreconditionFailed, "reasons_required", {}),
    ("stop-in-payment-no-reasons", "guancheng", case_in("in_payment"), "stop", "director", "2025-11-03",
     {}, PreconditionFailed, "reasons_required", {}),
    ("stop-rereview-no-reasons", "yijun", case_in("rereview"), "stop", "director", "2025-11-03",
     {"reasons": "   "}, PreconditionFailed, "reasons_required", {}),
    ("stop-gradual-exit-no-reasons", "yijun", case_in("gradual_exit"), "stop", "director", "2025-11-03",
     {"reasons": None}, PreconditionFailed, "reasons_required", {}),
]


@pytest.mark.parametrize("profile_id, case, action, role, today, payload, error, code, details",
                         [pytest.param(*row[1:], id=row[0]) for row in REFUSALS])
def test_refused_by_a_rule(profile_id, case, action, role, today, payload, error, code, details):
    with pytest.raises(error) as info:
        apply(case, action, ACTORS[role], PROFILES[profile_id], NATIONAL, D(today), payload)
    exc = info.value
    assert exc.code == code
    assert {k: exc.details.get(k) for k in details} == details
    assert exc.message and exc.message_en
    assert code in str(exc)


def test_refusal_ids_are_unique():
    ids = [row[0] for row in REFUSALS]
    assert len(ids) == len(set(ids))


def test_missing_materials_message_names_every_missing_item():
    with pytest.raises(PreconditionFailed) as info:
        apply(case_in("application"), "accept", ACTORS["caseworker"], PROFILES["guancheng"], NATIONAL,
              D("2025-09-26"), but("accept", materials=["application"]))
    for name in ("居民户口簿、身份证", "家庭收入和财产状况书面声明", "诚信承诺书", "授权委托书（核对授权）"):
        assert name in info.value.message
    for name in ("Household register and ID cards", "Integrity pledge", "Authorisation to verify"):
        assert name in info.value.message_en
    assert "书面申请书" not in info.value.message
    assert info.value.status == 422


@pytest.mark.parametrize("profile_id, payload, ok", [
    ("guancheng", without(GOOD["accept"], "fingerprint_file"), True),
    ("yijun", without(GOOD["accept"], "fingerprint_file"), False),
    ("yijun", {**without(GOOD["accept"], "fingerprint_file"), "fingerprint": 1}, False),
    ("yijun", GOOD["accept"], True),
    ("yijun", but("accept", materials=REQUIRED), True),
])
def test_fingerprint_required_by_yijun_only(profile_id, payload, ok):
    try:
        out = apply(case_in("application"), "accept", ACTORS["caseworker"], PROFILES[profile_id], NATIONAL,
                    D("2025-09-26"), payload)
    except PreconditionFailed as exc:
        assert not ok and exc.code == "fingerprint_required"
    else:
        assert ok and out.state.status == "accepted" and out.state.accepted_on == D("2025-09-26")


def test_notify_missing_lists_all_missing_and_stays_in_application():
    out = apply(case_in("application"), "notify_missing", ACTORS["caseworker"], PROFILES["yijun"], NATIONAL,
                D("2025-09-26"), {"materials": ["hukou_id", "marriage"]})
    assert (out.event.from_status, out.event.to_status) == ("application", "application")
    assert out.state == case_in("application")
    assert out.event.data == {"missing": ["application", "income_property_statement", "integrity_pledge",
                                          "verification_authorisation"]}


@pytest.mark.parametrize("payload", [
    but("record_home_visit", applicant_signed=False, applicant_fingerprint=True),
    but("record_home_visit", team=[*TEAM, TeamMember(13, "investigator", COMMUNITY, True)]),
    but("record_home_visit", team=[TEAM[0], TEAM[1], TEAM[1]]),
], ids=["fingerprint-instead-of-signature", "team-of-three", "duplicate-entry-but-two-distinct"])
def test_home_visit_accepted(payload):
    out = apply(case_in("accepted"), "record_home_visit", ACTORS["caseworker"], PROFILES["guancheng"], NATIONAL,
                D("2025-09-29"), payload)
    assert out.state.status == "visited"
    assert out.state.visit_on == D("2025-09-29")


@pytest.mark.parametrize("residents, others, passes", [
    (3, 2, False),   # 3/5 < 2/3
    (4, 2, True),    # 4/6 == 2/3 exactly
    (2, 1, True),    # 2/3
    (3, 0, True),
    (5, 2, True),    # 5/7 > 2/3
    (4, 3, False),   # 4/7 < 2/3
    (6, 3, True),    # 6/9 == 2/3
    (5, 3, False),   # 5/8 < 2/3
])
@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_resident_share(profile_id, residents, others, passes):
    payload = but("record_appraisal", panel=panel(residents, others))
    try:
        out = apply(case_in("visited"), "record_appraisal", ACTORS["caseworker"], PROFILES[profile_id], NATIONAL,
                    D("2025-10-09"), payload)
    except PreconditionFailed as exc:
        assert not passes, exc.code
        assert exc.code == "resident_share_too_low"
    else:
        assert passes
        assert out.state.status == "appraised"
        assert out.event.data["residents"] == residents
        assert out.event.data["panel"] == residents + others


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_disputed_appraisal_returns_to_a_new_investigation(profile_id):
    profile = PROFILES[profile_id]
    case = case_in("visited")
    out = apply(case, "record_appraisal", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-09"),
                but("record_appraisal", conclusion="disputed"))
    assert (out.event.from_status, out.event.to_status) == ("visited", "accepted")
    assert out.state.status == "accepted"
    assert out.state.visit_on is None and out.state.appraisal_on is None
    assert out.state.accepted_on == case.accepted_on
    assert out.state.verification_requested_on == case.verification_requested_on
    assert out.event.data["conclusion"] == "disputed"
    # the visit is done again
    assert "record_home_visit" in allowed_actions(out.state, ACTORS["investigator"], profile)
    again = apply(out.state, "record_home_visit", ACTORS["investigator"], profile, NATIONAL, D("2025-10-10"),
                  GOOD["record_home_visit"])
    assert again.state.status == "visited" and again.state.visit_on == D("2025-10-10")


def test_meeting_then_publicity_for_yijun():
    profile = PROFILES["yijun"]
    out = apply(case_in("reviewed"), "record_meeting", ACTORS["director"], profile, NATIONAL, D("2025-10-13"),
                but("record_meeting", decision="approve"))
    assert out.state.status == "meeting_held" and out.state.meeting_on == D("2025-10-13")
    out = apply(out.state, "open_publicity", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-14"),
                GOOD["open_publicity"])
    assert out.state.status == "publicity"


def test_meeting_proposing_refusal_blocks_publicity():
    profile = PROFILES["yijun"]
    out = apply(case_in("reviewed"), "record_meeting", ACTORS["leader"], profile, NATIONAL, D("2025-10-13"),
                but("record_meeting", decision="refuse"))
    assert out.state.recommendation == "refuse"
    with pytest.raises(PreconditionFailed) as info:
        apply(out.state, "open_publicity", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-14"),
              GOOD["open_publicity"])
    assert info.value.code == "recommendation_not_approve"
    refused = apply(out.state, "refuse", ACTORS["director"], profile, NATIONAL, D("2025-10-14"), GOOD["refuse"])
    assert refused.state.status == "refused"


@pytest.mark.parametrize("profile_id, opened, too_early, earliest", [
    ("guancheng", "2025-10-14", "2025-10-20", "2025-10-21"),
    ("yijun", "2025-10-14", "2025-10-20", "2025-10-21"),
    ("guancheng", "2025-09-30", "2025-10-06", "2025-10-07"),  # calendar days: holidays count
    ("yijun", "2025-12-29", "2026-01-04", "2026-01-05"),
])
def test_publicity_lasts_at_least_the_minimum(profile_id, opened, too_early, earliest):
    profile = PROFILES[profile_id]
    case = case_in("meeting_held" if profile.has_meeting else "reviewed")
    out = apply(case, "open_publicity", ACTORS["caseworker"], profile, NATIONAL, D(opened), GOOD["open_publicity"])
    assert out.state.publicity_opened_on == D(opened)
    assert out.state.publicity_earliest_close == D(earliest)
    assert out.event.data["earliest_close"] == earliest
    with pytest.raises(PreconditionFailed) as info:
        apply(out.state, "close_publicity", ACTORS["caseworker"], profile, NATIONAL, D(too_early), {})
    assert info.value.code == "publicity_too_short"
    assert info.value.details == {"earliest": earliest}
    closed = apply(out.state, "close_publicity", ACTORS["caseworker"], profile, NATIONAL, D(earliest), {})
    assert closed.state.status == "publicity_closed"
    assert closed.state.publicity_closed_on == D(earliest)


def test_publicity_in_working_days_when_the_profile_says_so():
    text = (BUILTIN_DIR / "guancheng.toml").read_text("utf-8")
    text = text.replace('unit = "calendar_days"', 'unit = "working_days"', 1)
    profile = parse_profile(text, "working-days.toml")
    out = apply(case_in("reviewed"), "open_publicity", ACTORS["caseworker"], profile, NATIONAL, D("2025-09-30"),
                GOOD["open_publicity"])
    # Oct 9, 10, 11 (make-up Saturday), 13, 14, 15, 16
    assert out.state.publicity_earliest_close == D("2025-10-16")


@pytest.mark.parametrize("profile_id, objection_on, due", [
    ("guancheng", "2025-10-16", "2025-11-06"),  # Oct 17, 20-24, 27-31, Nov 3-6
    ("yijun", "2025-09-30", "2025-10-28"),      # Oct 9, 10, 11 (Sat), 13-17, 20-24, 27, 28
])
def test_objection_starts_the_redecision_clock(profile_id, objection_on, due):
    profile = PROFILES[profile_id]
    assert profile.deadlines.objection_redecision == 15
    case = case_in("publicity", publicity_opened_on=D("2025-09-28"), publicity_earliest_close=D("2025-10-05"))
    out = apply(case, "record_objection", ACTORS["caseworker"], profile, NATIONAL, D(objection_on),
                GOOD["record_objection"])
    assert (out.event.from_status, out.event.to_status) == ("publicity", "objection")
    assert out.state.objection_on == D(objection_on)
    assert out.event.data == {"text": "该户有营运车辆", "source": "phone", "redecision_due": due, "provisional": False}
    steps = {s.step: s.due.date for s in pending_deadlines(out.state, profile, NATIONAL)}
    assert steps["objection_redecision"] == D(due)


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_resolved_objection_is_publicised_again(profile_id):
    profile = PROFILES[profile_id]
    case = case_in("meeting_held" if profile.has_meeting else "reviewed")
    pub = apply(case, "open_publicity", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-14"),
                GOOD["open_publicity"]).state
    obj = apply(pub, "record_objection", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-16"),
                GOOD["record_objection"]).state
    out = apply(obj, "resolve_objection", ACTORS["leader"], profile, NATIONAL, D("2025-10-20"),
                GOOD["resolve_objection"])
    assert (out.event.from_status, out.event.to_status) == ("objection", "reviewed")
    assert out.state.needs_republication is True
    assert out.state.objection_on is None
    assert out.event.data == {"finding": "车辆已于2024年转让，异议不成立", "outcome": "uphold"}
    # round 2, without another meeting even where a meeting is required
    assert "open_publicity" in allowed_actions(out.state, ACTORS["caseworker"], profile)
    again = apply(out.state, "open_publicity", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-21"),
                  GOOD["open_publicity"])
    assert again.state.status == "publicity"
    assert again.state.publicity_rounds == 2
    assert again.event.data["round"] == 2
    assert again.state.needs_republication is False
    assert again.state.publicity_earliest_close == D("2025-10-28")
    closed = apply(again.state, "close_publicity", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-28"), {})
    approved = apply(closed.state, "approve", ACTORS["director"], profile, NATIONAL, D("2025-10-29"),
                     GOOD["approve"])
    assert approved.state.status == "approved"


def test_refusal_after_an_objection():
    out = apply(case_in("objection"), "refuse", ACTORS["director"], PROFILES["guancheng"], NATIONAL,
                D("2025-10-22"), {"reasons": "  异议属实，家庭有营运车辆  "})
    assert out.state.status == "refused"
    assert out.state.decided_on == D("2025-10-22")
    assert out.event.data == {"reasons": "异议属实，家庭有营运车辆"}


@pytest.mark.parametrize("outcome, extra, to_status, exit_month, decided", [
    # decided_on stays the approval date (2025-10-22) unless payment stops
    ("continue", {}, "in_payment", 1, D("2025-10-22")),
    ("change", {"reasons": "家庭成员患病", "amount": Decimal("380.00")}, "in_payment", 1, D("2025-10-22")),
    ("gradual_exit", {"reasons": "就业增收"}, "gradual_exit", 0, D("2025-10-22")),
    ("stop", {"reasons": "收入超标"}, "stopped", 1, D("2025-11-03")),
])
def test_rereview_outcomes(outcome, extra, to_status, exit_month, decided):
    case = case_in("rereview", exit_month=1)
    out = apply(case, "complete_rereview", ACTORS["director"], PROFILES["guancheng"], NATIONAL, D("2025-11-03"),
                {"outcome": outcome, "evidence": EVIDENCE, **extra})
    assert out.state.status == out.event.to_status == to_status
    assert out.state.exit_month == exit_month
    assert out.state.decided_on == decided
    assert out.event.data["outcome"] == outcome


def test_gradual_exit_and_its_end():
    profile = PROFILES["yijun"]
    out = apply(case_in("in_payment"), "start_gradual_exit", ACTORS["director"], profile, NATIONAL,
                D("2025-11-03"), GOOD["start_gradual_exit"])
    assert out.state.status == "gradual_exit"
    assert out.event.data == {"reasons": "家庭人均收入超过标准", "months": 6}
    done = apply(out.state, "finish_gradual_exit", ACTORS["caseworker"], profile, NATIONAL, D("2026-05-04"), {})
    assert done.state.status == "stopped" and done.state.decided_on == D("2026-05-04")


def test_no_gradual_exit_in_a_profile_without_one():
    text = (BUILTIN_DIR / "guancheng.toml").read_text("utf-8")
    text = text.replace("months = 6\npercentages = [100, 100, 80, 80, 60, 60]", "months = 0\npercentages = []", 1)
    profile = parse_profile(text, "no-exit.toml")
    assert profile.gradual_exit.months == 0
    with pytest.raises(IllegalTransition) as info:
        apply(case_in("in_payment"), "start_gradual_exit", ACTORS["director"], profile, NATIONAL, D("2025-11-03"),
              GOOD["start_gradual_exit"])
    assert info.value.code == "no_gradual_exit"


@pytest.mark.parametrize("status, action, key, field", [
    ("application", "accept", "accepted_on", "accepted_on"),
    ("accepted", "request_verification", "requested_on", "verification_requested_on"),
    ("visited", "record_verification_report", "report_on", "verification_report_on"),
    ("accepted", "record_home_visit", "visit_on", "visit_on"),
    ("visited", "record_appraisal", "appraisal_on", "appraisal_on"),
])
def test_a_date_given_in_the_payload_is_recorded_instead_of_today(status, action, key, field):
    """Paper records entered later keep their own date (2025-10-09, the day after the holiday)."""
    case = case_in(status, accepted_on=D("2025-09-26"), verification_requested_on=D("2025-09-28"),
                   visit_on=D("2025-09-29") if status == "visited" else None)
    payload = {**GOOD[action], key: D("2025-10-09")}
    out = apply(case, action, actor_for(action), PROFILES["guancheng"], NATIONAL, D("2025-10-13"), payload)
    assert getattr(out.state, field) == D("2025-10-09")
    assert out.event.data[key] == "2025-10-09"


def test_a_backdated_acceptance_starts_the_clock_on_its_own_date():
    profile = PROFILES["guancheng"]
    out = apply(case_in("application"), "accept", ACTORS["caseworker"], profile, NATIONAL, D("2025-09-29"),
                but("accept", accepted_on=D("2025-09-26")))
    steps = {s.step: s.due.date for s in pending_deadlines(out.state, profile, NATIONAL)}
    assert steps["overall"] == D("2025-11-06")


def test_the_case_given_is_not_changed():
    case = case_in("application")
    apply(case, "accept", ACTORS["caseworker"], PROFILES["guancheng"], NATIONAL, D("2025-09-26"), GOOD["accept"])
    assert case == case_in("application")


def test_errors_carry_both_languages():
    for error in (IllegalTransition, NotPermitted, OutOfScope, PreconditionFailed):
        assert issubclass(error, WorkflowError)
    with pytest.raises(WorkflowError) as info:
        apply(case_in("application"), "approve", ACTORS["director"], PROFILES["guancheng"], NATIONAL, TODAY,
              GOOD["approve"])
    assert "申请" in info.value.message and "Application" in info.value.message_en


# --- deadlines ---------------------------------------------------------------------------------------------

ACCEPTED = dict(status="accepted", office_unit_id=OFFICE, lineage=LINEAGE, accepted_on=D("2025-09-26"))

DEADLINES = [
    # id, profile, case, {step: due}
    ("guancheng-accepted", "guancheng", CaseState(**ACCEPTED),
     {"overall": "2025-11-06", "verification_request": "2025-10-10", "home_visit": "2025-10-10"}),
    ("yijun-accepted", "yijun", CaseState(**ACCEPTED),
     {"overall": "2025-11-13", "verification_request": "2025-10-10", "home_visit": "2025-10-10"}),
    ("guancheng-verification-sent", "guancheng",
     CaseState(**ACCEPTED, verification_requested_on=D("2025-09-28")),
     {"overall": "2025-11-06", "home_visit": "2025-10-10"}),
    ("guancheng-visited", "guancheng",
     CaseState(**{**ACCEPTED, "status": "visited"}, verification_requested_on=D("2025-09-28"),
               visit_on=D("2025-09-29")),
     {"overall": "2025-11-06", "appraisal": "2025-10-13"}),  # Sep 30, Oct 9, 10, 11, 13
    ("guancheng-appraised", "guancheng",
     CaseState(**{**ACCEPTED, "status": "appraised"}, verification_requested_on=D("2025-09-28"),
               verification_report_on=D("2025-09-30")),
     {"overall": "2025-11-06", "review": "2025-10-14"}),  # Oct 9, 10, 11, 13, 14
    ("guancheng-appraised-no-report", "guancheng",
     CaseState(**{**ACCEPTED, "status": "appraised"}, verification_requested_on=D("2025-09-28")),
     {"overall": "2025-11-06"}),
    ("yijun-review-signing", "yijun",
     CaseState(**{**ACCEPTED, "status": "review_signing"}, verification_requested_on=D("2025-09-28"),
               verification_report_on=D("2025-10-09")),
     {"overall": "2025-11-13", "review": "2025-10-15"}),  # Oct 10, 11 (Sat), 13, 14, 15
    ("yijun-reviewed", "yijun",
     CaseState(**{**ACCEPTED, "status": "reviewed"}, verification_requested_on=D("2025-09-28"),
               reviewed_on=D("2025-10-11")),
     {"overall": "2025-11-13", "meeting": "2025-10-17"}),  # Oct 13-17
    ("yijun-reviewed-for-republication", "yijun",
     CaseState(**{**ACCEPTED, "status": "reviewed"}, verification_requested_on=D("2025-09-28"),
               reviewed_on=D("2025-10-20"), needs_republication=True),
     {"overall": "2025-11-13"}),
    ("guancheng-reviewed", "guancheng",
     CaseState(**{**ACCEPTED, "status": "reviewed"}, verification_requested_on=D("2025-09-28"),
               reviewed_on=D("2025-10-11")),
     {"overall": "2025-11-06"}),
    ("guancheng-publicity", "guancheng",
     CaseState(**{**ACCEPTED, "status": "publicity"}, verification_requested_on=D("2025-09-28"),
               publicity_earliest_close=D("2025-10-21")),
     {"overall": "2025-11-06", "publicity_close": "2025-10-21"}),
    ("guancheng-objection", "guancheng",
     CaseState(**{**ACCEPTED, "status": "objection"}, verification_requested_on=D("2025-09-28"),
               objection_on=D("2025-10-22")),
     {"overall": "2025-11-06", "objection_redecision": "2025-11-12"}),  # Oct 23, 24, 27-31, Nov 3-7, 10-12
    ("yijun-publicity-closed", "yijun",
     CaseState(**{**ACCEPTED, "status": "publicity_closed"}, verification_requested_on=D("2025-09-28"),
               publicity_closed_on=D("2025-10-21")),
     {"overall": "2025-11-13", "approval": "2025-10-28"}),  # Oct 22, 23, 24, 27, 28
    ("application", "guancheng", case_in("application"), {}),
    ("approved", "guancheng", case_in("approved"), {}),
    ("refused", "yijun", case_in("refused"), {}),
    ("in-payment", "yijun", case_in("in_payment"), {}),
]


@pytest.mark.parametrize("profile_id, case, expected", [pytest.param(*row[1:], id=row[0]) for row in DEADLINES])
def test_pending_deadlines(profile_id, case, expected):
    steps = pending_deadlines(case, PROFILES[profile_id], NATIONAL)
    assert {s.step: s.due.date.isoformat() for s in steps} == expected
    assert len(steps) == len(expected)
    assert [s.due.date for s in steps] == sorted(s.due.date for s in steps)
    assert not any(s.due.provisional for s in steps)
    for s in steps:
        zh, en = s.label
        assert zh and en


@pytest.mark.parametrize("profile_id, overall", [("guancheng", 25), ("yijun", 30)])
def test_overall_limit_counts_working_days_across_national_day(profile_id, overall):
    profile = PROFILES[profile_id]
    assert profile.deadlines.overall == overall
    due = {s.step: s.due for s in pending_deadlines(CaseState(**ACCEPTED), profile, NATIONAL)}["overall"]
    assert NATIONAL.workdays_between(D("2025-09-26"), due.date).days == overall
    # both make-up days count; a plain Monday-Friday count would end two working days later
    assert NATIONAL.is_workday(D("2025-09-28")) and NATIONAL.is_workday(D("2025-10-11"))


@pytest.mark.parametrize("profile_id, case, step", [
    ("guancheng", CaseState(**ACCEPTED), "verification_request"),
    ("guancheng", CaseState(**ACCEPTED, verification_requested_on=D("2025-09-28")), "home_visit"),
    ("yijun", CaseState(**{**ACCEPTED, "status": "publicity"}, verification_requested_on=D("2025-09-28"),
                        publicity_earliest_close=D("2025-10-21")), "overall"),
    ("guancheng", case_in("in_payment"), None),
])
def test_next_deadline_is_the_earliest_duty(profile_id, case, step):
    found = next_deadline(case, PROFILES[profile_id], NATIONAL)
    assert (found.step if found else None) == step


@pytest.mark.parametrize("today, expected", [
    ("2025-09-26", "ok"),
    ("2025-09-29", "ok"),        # Sep 30, Oct 9, Oct 10 remain: 3 working days
    ("2025-09-30", "due_soon"),  # Oct 9, Oct 10: the holiday brings the warning forward
    ("2025-10-05", "due_soon"),
    ("2025-10-09", "due_soon"),
    ("2025-10-10", "due_soon"),  # the deadline day itself is still in time
    ("2025-10-11", "overdue"),   # a make-up working Saturday
    ("2025-10-13", "overdue"),
])
def test_urgency(today, expected):
    profile = PROFILES["guancheng"]
    assert profile.deadlines.warn_workdays == 2
    assert urgency(CaseState(**ACCEPTED), profile, NATIONAL, D(today)) == expected


@pytest.mark.parametrize("status", sorted(TERMINAL | {"application", "approved", "certified", "in_payment"}))
def test_no_urgency_when_no_limit_runs(status):
    assert urgency(case_in(status), PROFILES["yijun"], NATIONAL, TODAY) is None


@pytest.mark.parametrize("profile_id, accepted_on, expected", [
    # 2027 is unknown to the package: Monday-Friday, provisional (2027-01-01 counts as a working day)
    ("guancheng", "2026-12-28", {"overall": ("2027-02-01", True), "verification_request": ("2027-01-04", True),
                                 "home_visit": ("2027-01-04", True)}),
    ("yijun", "2026-12-28", {"overall": ("2027-02-08", True), "verification_request": ("2027-01-04", True),
                             "home_visit": ("2027-01-04", True)}),
    ("guancheng", "2026-12-01", {"overall": ("2027-01-05", True), "verification_request": ("2026-12-08", False),
                                 "home_visit": ("2026-12-08", False)}),
])
def test_deadlines_past_the_known_years_are_provisional(profile_id, accepted_on, expected):
    case = CaseState(**{**ACCEPTED, "accepted_on": D(accepted_on)})
    steps = pending_deadlines(case, PROFILES[profile_id], NATIONAL)
    assert {s.step: (s.due.date.isoformat(), s.due.provisional) for s in steps} == expected
    assert urgency(case, PROFILES[profile_id], NATIONAL, D(accepted_on)) in ("ok", "due_soon")


def test_an_override_for_the_next_year_makes_deadlines_firm():
    cal = WorkCalendar(holidays=[D("2027-01-01")], source="2027.toml")
    case = CaseState(**{**ACCEPTED, "accepted_on": D("2026-12-28")})
    steps = {s.step: s.due for s in pending_deadlines(case, PROFILES["guancheng"], cal)}
    assert steps["home_visit"].date == D("2027-01-05")  # Dec 29, 30, 31, Jan 4, 5
    assert not steps["home_visit"].provisional


def test_objection_in_late_december_has_a_provisional_redecision_date():
    out = apply(case_in("publicity"), "record_objection", ACTORS["caseworker"], PROFILES["guancheng"], NATIONAL,
                D("2026-12-21"), GOOD["record_objection"])
    # Dec 22-25, 28-31 (8 working days), then Jan 1, 4-8, 11 in 2027 (Monday-Friday)
    assert out.event.data["redecision_due"] == "2027-01-11"
    assert out.event.data["provisional"] is True


# --- regressions found in review, and the rules added with them --------------------------------

@pytest.mark.parametrize("key, action", [
    ("accepted_on", "accept"), ("visit_on", "record_home_visit"), ("appraisal_on", "record_appraisal"),
    ("requested_on", "request_verification"), ("report_on", "record_verification_report"),
])
def test_a_datetime_is_not_a_date(key, action):
    state = {"accept": "application", "record_home_visit": "accepted", "record_appraisal": "visited",
             "request_verification": "accepted", "record_verification_report": "accepted"}[action]
    case = case_in(state)
    if action == "record_verification_report":
        case = case_in(state, verification_requested_on=D("2025-09-28"))
    actor = ACTORS["investigator"] if action == "record_home_visit" else ACTORS["caseworker"]
    with pytest.raises(PreconditionFailed) as err:
        apply(case, action, actor, PROFILES["guancheng"], NATIONAL, TODAY,
              but(action, **{key: dt.datetime(2025, 10, 10, 9, 0)}))
    assert err.value.code == f"{key}_invalid"


@pytest.mark.parametrize("state, action, payload", [
    ("publicity_closed", "approve", {"signature": True, "opinion": "同意", "amount": "abc"}),
    ("publicity_closed", "approve", {"signature": True, "opinion": "同意", "amount": Decimal("-5")}),
    ("publicity_closed", "approve", {"signature": True, "opinion": "同意", "amount": 320.5}),
    ("publicity_closed", "approve", {"signature": True, "opinion": "同意"}),
    ("rereview", "complete_rereview", {"outcome": "change", "reasons": "收入变化", "evidence": EVIDENCE}),
    ("in_payment", "record_change", {"direction": "raise", "reasons": "新增重病成员"}),
])
def test_amounts_must_be_real_money(state, action, payload):
    with pytest.raises(PreconditionFailed) as err:
        apply(case_in(state), action, ACTORS["director"], PROFILES["guancheng"], NATIONAL, TODAY, payload)
    assert err.value.code == "amount_required"


def test_an_investigator_records_only_a_visit_they_were_on():
    outsider = Actor(99, "investigator", COMMUNITY, "旁人")
    with pytest.raises(PreconditionFailed) as err:
        apply(case_in("accepted"), "record_home_visit", outsider, PROFILES["guancheng"], NATIONAL, TODAY,
              GOOD["record_home_visit"])
    assert err.value.code == "recorder_not_on_team"
    # A caseworker entering a paper visit is not on the team, and that is fine.
    out = apply(case_in("accepted"), "record_home_visit", ACTORS["caseworker"], PROFILES["guancheng"], NATIONAL,
                TODAY, GOOD["record_home_visit"])
    assert out.state.status == "visited"


def test_the_director_refuses_only_after_the_leader_signed():
    with pytest.raises(IllegalTransition):
        apply(case_in("review_signing"), "refuse", ACTORS["director"], PROFILES["guancheng"], NATIONAL, TODAY,
              GOOD["refuse"])


def test_a_disputed_appraisal_restarts_the_visit_clock_from_the_appraisal_day():
    profile = PROFILES["guancheng"]
    out = apply(case_in("visited"), "record_appraisal", ACTORS["caseworker"], profile, NATIONAL, D("2025-10-09"),
                but("record_appraisal", conclusion="disputed", appraisal_on=D("2025-10-09")))
    steps = {s.step: s.due.date for s in pending_deadlines(out.state, profile, NATIONAL)}
    assert steps["home_visit"] == D("2025-10-15")   # 10-10, 10-11 (make-up Saturday), 10-13, 10-14, 10-15
    assert steps["overall"] == D("2025-11-06")      # the overall limit still runs from acceptance


# --- issue 12: board levels, situational materials, the same person on a panel ------------------------

@pytest.mark.parametrize("required, chosen, missing", [
    (["township", "village", "natural_village"], ["natural_village"], ["township", "village"]),
    (["township", "village", "natural_village"], ["township", "village", "natural_village"], []),
    (["township", "village", "natural_village"], ["village", "village", "busy_place"],
     ["township", "natural_village"]),
    (["community"], ["community"], []),
    (["community"], [], ["community"]),
    (["township", "township"], [], ["township"]),
])
def test_missing_board_levels(required, chosen, missing):
    from server.domain.workflow import missing_board_levels

    assert missing_board_levels(required, chosen) == missing


@pytest.mark.parametrize("members, needs", [
    ([("张三", []), ("张小明", ["student"])], {"student_papers": ["张小明"]}),
    ([("张三", ["disabled", "severely_disabled"])], {"disability_card": ["张三"]}),   # one card, listed once
    ([("张三", ["unemployed"]), ("李四", ["unemployed", "seriously_ill"])],
     {"unemployment_papers": ["张三", "李四"], "illness_papers": ["李四"]}),
    ([("张三", ["able_to_work"])], {}),                                               # no paper for this flag
    ([], {}),
])
@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_situational_needs(profile_id, members, needs):
    from server.domain.workflow import missing_materials, situational_needs

    profile = PROFILES[profile_id]
    assert situational_needs(profile, members) == needs
    required = [m.code for m in profile.materials if m.required]
    assert [m.code for m in missing_materials(profile, required, members)] == \
        [m.code for m in profile.materials if m.code in needs]


@pytest.mark.parametrize("a, b, same", [
    ("陈静", "陈 静", True), ("陈静", "陈静 ", True), ("Ｌｉ Ｍｉｎｇ", "li ming", True), ("陈静", "陈晶", False),
])
def test_person_key(a, b, same):
    from server.domain.workflow import person_key

    assert (person_key(a) == person_key(b)) is same


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_a_family_refusing_the_rereview_can_be_stopped_without_a_visit(profile_id):
    out = apply(case_in("rereview"), "complete_rereview", ACTORS["director"], PROFILES[profile_id], NATIONAL,
                D("2026-05-06"), {"outcome": "stop", "reasons": "无正当理由拒不配合复核", "category": "refused"})
    assert out.state.status == "stopped" and "evidence" not in out.event.data
