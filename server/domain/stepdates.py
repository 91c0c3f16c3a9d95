"""The dates of a step: the day it happened, the day it was entered, its time limit — pure.

A step entered later than it happened keeps both dates; one entered past the profile's backdating window
(``dates.backdating_workdays``) is marked ``entered_late`` (补录), and it stays ``late`` if its limit had
passed by the day it was entered (docs/decisions.md).  Also the certificate's longest validity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.domain.calendar import WorkCalendar
from server.domain.roster import add_months_to_date

# The payload key holding the day a backdatable step happened (the others happen the day they are recorded).
STEP_DATE_KEYS = {"accept": "accepted_on", "request_verification": "requested_on",
                  "record_verification_report": "report_on", "record_home_visit": "visit_on",
                  "record_appraisal": "appraisal_on"}


def step_due(case: Any, action: str, profile: Any, cal: WorkCalendar) -> dt.date | None:
    """The time limit of a backdatable step, from the case as it stood before the step."""
    d = profile.deadlines
    if action == "request_verification" and case.accepted_on:
        return cal.add_workdays(case.accepted_on, d.verification_request).date
    if action == "record_home_visit" and (case.investigation_from or case.accepted_on):
        return cal.add_workdays(case.investigation_from or case.accepted_on, d.home_visit).date
    if action == "record_appraisal" and case.visit_on:
        return cal.add_workdays(case.visit_on, d.appraisal).date
    return None


def step_timing(happened: dt.date, recorded: dt.date, due: dt.date | None, window: int,
                cal: WorkCalendar) -> dict[str, Any]:
    """Both dates of a step and whether it was late.

    A step entered more than ``window`` working days after it happened is marked ``entered_late`` (补录).
    It is ``late`` when it happened after its limit, or when it was entered late and its limit had passed
    by the day it was entered: a backdated date cannot make an overdue mark disappear.
    """
    out: dict[str, Any] = {}
    if recorded != happened:
        out["recorded_on"] = recorded.isoformat()
        if cal.workdays_between(happened, recorded).days > window:
            out["entered_late"] = True
    if due is not None:
        out["due"] = due.isoformat()
        if happened > due or (out.get("entered_late") and recorded > due):
            out["late"] = True
    return out


def certificate_valid_until(valid_from: dt.date, months: int) -> dt.date:
    """The last day of a certificate valid for ``months`` from ``valid_from`` (12 months from 2026-12-07:
    2027-12-06)."""
    return add_months_to_date(valid_from, months) - dt.timedelta(days=1)
