"""Decisions that survive an inspection (issue 12, first half), in the pure core: required facts,
eligibility, return for correction, and dates that tell the truth.  Table-driven, literal data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from server.domain.calendar import NATIONAL
from server.domain.eligibility import MemberHukou, assess, is_local
from server.domain.workflow import (
    RETURN_FROM,
    RULES,
    STATES,
    IllegalTransition,
    NotPermitted,
    PreconditionFailed,
    allowed_actions,
    apply,
    certificate_valid_until,
    pending_deadlines,
    step_timing,
)
from server.rules import BUILTIN_DIR, ProfileError, parse_profile
from tests.unit.test_workflow import ACTORS, GOOD, PROFILES, TODAY, case_in

D = dt.date.fromisoformat
GC = PROFILES["guancheng"]
RULES_GC = GC.property_rules


def refused(status, action, role, payload, *, today=TODAY, profile=GC, **overrides):
    with pytest.raises(PreconditionFailed) as info:
        apply(case_in(status, **overrides), action, ACTORS[role], profile, NATIONAL, today, payload)
    assert info.value.status == 422
    assert info.value.message and info.value.message_en   # Chinese and English
    return info.value


# --- required facts --------------------------------------------------------------------------------

@pytest.mark.parametrize("payload, code", [
    ({}, "found_income_6m_required"),
    ({"found_income_6m": ""}, "found_income_6m_required"),
    ({"found_income_6m": None, "found_property": "无"}, "found_income_6m_required"),
    ({"found_income_6m": "0"}, "found_income_6m_required"),              # 0 must be the explicit choice
    ({"no_income_found": True}, "report_file_required"),               # the choice needs the report file
    ({"found_income_6m": "0.00", "no_income_found": True}, "report_file_required"),
    ({"found_income_6m": "300.00", "no_income_found": True, "file": "a" * 64}, "found_income_conflict"),
    ({"found_income_6m": "abc"}, "found_income_6m_invalid"),
    ({"found_income_6m": "-5"}, "found_income_6m_invalid"),
    ({"found_income_6m": "1.005"}, "found_income_6m_invalid"),
    ({"found_income_6m": "Infinity"}, "found_income_6m_invalid"),
    ({"found_income_6m": "1e40"}, "found_income_6m_invalid"),
])
def test_a_verification_report_must_say_what_it_found(payload, code):
    err = refused("visited", "record_verification_report", "caseworker", payload, today=D("2025-09-30"))
    assert err.code == code


@pytest.mark.parametrize("payload, data", [
    ({"found_income_6m": "7200"}, {"found_income_6m": "7200.00"}),
    ({"no_income_found": True, "file": "a" * 64}, {"no_income_found": True}),
    ({"found_income_6m": "0", "no_income_found": True, "file": "a" * 64}, {"no_income_found": True}),
])
def test_a_verification_report_with_findings_is_recorded(payload, data):
    out = apply(case_in("visited"), "record_verification_report", ACTORS["caseworker"], GC, NATIONAL,
                D("2025-09-30"), payload)
    assert {k: out.event.data[k] for k in data} == data


@pytest.mark.parametrize("status, action, role, change, code", [
    ("appraised", "review_opinion", "caseworker", {"assessed_income_6m": None}, "assessed_income_6m_required"),
    ("appraised", "review_opinion", "caseworker", {"assessed_income_6m": "6900"}, "assessed_income_6m_required"),
    ("appraised", "review_opinion", "caseworker", {"assessed_income_6m": Decimal("-1")},
     "assessed_income_6m_required"),
    ("appraised", "review_opinion", "caseworker", {"property_checked": False}, "property_checked_required"),
    ("review_signing", "sign_review", "leader", {"opinion": ""}, "opinion_required"),
    ("review_signing", "sign_review", "leader", {"opinion": "  \n"}, "opinion_required"),
    ("publicity_closed", "approve", "director", {"opinion": ""}, "opinion_required"),
    ("publicity_closed", "approve", "director", {"opinion": None}, "opinion_required"),
])
def test_every_figure_and_opinion_a_decision_rests_on_is_required(status, action, role, change, code):
    err = refused(status, action, role, {**GOOD[action], **change})
    assert err.code == code


# --- eligibility -----------------------------------------------------------------------------------

HEAD_LOCAL = [MemberHukou("张建国", "head", "410104005001"), MemberHukou("李秀英", "spouse", "110105")]


@pytest.mark.parametrize("income_6m, people, members, found, codes", [
    (Decimal("1800"), 2, HEAD_LOCAL, [], []),                                       # 150/person < 700
    (Decimal("8399.99"), 2, HEAD_LOCAL, [], []),                                    # 699.999... < 700
    (Decimal("8400"), 2, HEAD_LOCAL, [], ["income_above_standard"]),               # exactly the standard
    (Decimal("7154.04"), 1, HEAD_LOCAL, [], ["income_above_standard"]),            # 1192.34 > 700
    (Decimal("0"), 2, [MemberHukou("王", "head", "110105")], [], ["hukou_not_local"]),
    (Decimal("0"), 2, [MemberHukou("王", "head", "")], [], ["hukou_not_local"]),
    (Decimal("0"), 2, [MemberHukou("王", "head", "41010")], [], ["hukou_not_local"]),   # a shorter code
    (Decimal("0"), 2, [MemberHukou("王", "spouse", "410104")], [], ["hukou_not_local"]),  # no head
    (Decimal("0"), 2, HEAD_LOCAL, ["vehicle"], ["property_excluded"]),
    (Decimal("9000"), 0, [MemberHukou("王", "head", "110105")], ["vehicle", "second_home"],
     ["nobody_co_residing", "hukou_not_local", "property_excluded"]),
])
def test_eligibility_table(income_6m, people, members, found, codes):
    result = assess(income_6m=income_6m, co_residing=people, standard_monthly=Decimal("700.00"), members=members,
                    hukou_prefixes=["410104"], property_found=found, property_rules=RULES_GC)
    assert result.codes == codes
    assert result.ok is (codes == [])


def test_a_failing_household_is_told_the_numbers():
    result = assess(income_6m=Decimal("7154.04"), co_residing=1, standard_monthly=Decimal("500.00"),
                    members=HEAD_LOCAL, hukou_prefixes=["410104"], property_found=["second_home"],
                    property_rules=RULES_GC)
    assert result.per_capita == Fraction(715404, 600)
    assert "1192.34" in result.text("zh") and "500.00" in result.text("zh")
    assert "1192.34" in result.text("en") and "two or more homes" in result.text("en")
    assert "拥有两套及以上住房" in result.text("zh")
    assert result.as_json()["per_capita"] == "1192.34"


def test_a_yearly_rural_standard_is_compared_exactly():
    # 6277 / 12 = 523.0833...; 6 months of 3138.50 for one person = 523.0833... exactly: not below
    result = assess(income_6m=Decimal("3138.50"), co_residing=1, standard_monthly=Fraction(6277, 12),
                    members=HEAD_LOCAL, hukou_prefixes=["410104"], property_found=[], property_rules=RULES_GC)
    assert result.codes == ["income_above_standard"]


def test_an_unknown_property_item_is_an_error_not_ignored():
    with pytest.raises(ValueError):
        assess(income_6m=Decimal("0"), co_residing=1, standard_monthly=Decimal("700"), members=HEAD_LOCAL,
               hukou_prefixes=["410104"], property_found=["yacht"], property_rules=RULES_GC)


@pytest.mark.parametrize("code, prefixes, expected", [
    ("410104005001", ["410104"], True), ("410104", ["410104"], True), ("410105", ["410104"], False),
    ("", ["410104"], False), ("41010x", ["41010"], False), ("610222", ["410104", "6102"], True),
])
def test_is_local(code, prefixes, expected):
    assert is_local(code, prefixes) is expected


def _failing():
    return assess(income_6m=Decimal("7154.04"), co_residing=1, standard_monthly=Decimal("500.00"),
                  members=HEAD_LOCAL, hukou_prefixes=["410104"], property_found=[], property_rules=RULES_GC)


def test_review_cannot_propose_approval_of_a_failing_household_but_can_propose_refusal():
    err = refused("appraised", "review_opinion", "caseworker", {**GOOD["review_opinion"], "eligibility": _failing()})
    assert err.code == "not_eligible" and err.details["per_capita"] == "1192.34"
    out = apply(case_in("appraised"), "review_opinion", ACTORS["caseworker"], GC, NATIONAL, TODAY,
                {**GOOD["review_opinion"], "recommendation": "refuse", "eligibility": _failing()})
    assert out.state.recommendation == "refuse"
    assert out.event.data["eligibility"]["reasons"] == ["income_above_standard"]


def test_the_yijun_meeting_cannot_turn_a_failing_household_into_a_proposed_approval():
    yj = PROFILES["yijun"]
    payload = {**GOOD["record_meeting"], "eligibility": _failing()}
    err = refused("reviewed", "record_meeting", "leader", payload, profile=yj)
    assert err.code == "not_eligible"
    out = apply(case_in("reviewed", recommendation="refuse"), "record_meeting", ACTORS["leader"], yj, NATIONAL,
                TODAY, {**payload, "decision": "refuse"})
    assert out.state.recommendation == "refuse"


def test_the_director_cannot_approve_a_failing_household():
    err = refused("publicity_closed", "approve", "director", {**GOOD["approve"], "eligibility": _failing()})
    assert err.code == "not_eligible" and "1192.34" in err.message and "500.00" in err.message_en


# --- return for correction ---------------------------------------------------------------------------

RETURNS = [pytest.param(status, role, id=f"{status}-{role}") for status in STATES for role in ("leader", "director")]


@pytest.mark.parametrize("status, role", RETURNS)
def test_return_for_correction_state_by_role(status, role):
    """The leader returns at signing; the director at approval (or a proposed refusal); nobody elsewhere."""
    payload = GOOD["return_for_correction"]
    case = case_in(status)
    offered = "return_for_correction" in allowed_actions(case, ACTORS[role], PROFILES["yijun"])
    if status in RETURN_FROM[role]:
        assert offered
        out = apply(case, "return_for_correction", ACTORS[role], PROFILES["yijun"], NATIONAL, TODAY, payload)
        assert out.state.status == "appraised" and out.state.returned_on == TODAY
        assert out.state.accepted_on == case.accepted_on          # the overall clock keeps running
        assert out.state.recommendation is None and out.state.reviewed_on is None
        assert out.event.data == {"reasons": payload["reasons"], "to": "review"}
    else:
        assert not offered
        with pytest.raises(IllegalTransition):
            apply(case, "return_for_correction", ACTORS[role], PROFILES["yijun"], NATIONAL, TODAY, payload)


@pytest.mark.parametrize("role", ["caseworker", "investigator", "bureau_supervisor"])
def test_only_the_leader_and_director_return(role):
    with pytest.raises(NotPermitted):
        apply(case_in("review_signing"), "return_for_correction", ACTORS[role], GC, NATIONAL, TODAY,
              GOOD["return_for_correction"])


@pytest.mark.parametrize("payload, code", [
    ({"to": "review"}, "reasons_required"),
    ({"to": "review", "reasons": "   "}, "reasons_required"),
    ({"reasons": "收入认定有误"}, "return_to_invalid"),
    ({"to": "approval", "reasons": "收入认定有误"}, "return_to_invalid"),
])
def test_a_return_needs_written_reasons_and_a_target(payload, code):
    assert refused("review_signing", "return_for_correction", "leader", payload).code == code


def test_return_to_re_investigation_clears_the_visit_and_restarts_its_limit():
    case = case_in("publicity_closed")
    out = apply(case, "return_for_correction", ACTORS["director"], GC, NATIONAL, D("2025-10-23"),
                {"to": "investigation", "reasons": "入户调查未核实车辆情况"})
    s = out.state
    assert s.status == "accepted" and s.visit_on is None and s.appraisal_on is None
    assert s.investigation_from == D("2025-10-23") and s.publicity_closed_on is None
    steps = {x.step: x.due.date for x in pending_deadlines(s, GC, NATIONAL)}
    assert steps["overall"] == NATIONAL.add_workdays(D("2025-09-26"), 25).date   # unchanged
    assert steps["home_visit"] == NATIONAL.add_workdays(D("2025-10-23"), 5).date
    # the new visit may not be dated before the re-investigation started
    err = refused("accepted", "record_home_visit", "investigator", {**GOOD["record_home_visit"],
                  "visit_on": D("2025-10-22")}, today=D("2025-10-24"), investigation_from=D("2025-10-23"))
    assert err.code == "visit_on_before_reinvestigation"


def test_after_a_return_to_review_the_review_limit_restarts_from_the_return():
    s = apply(case_in("review_signing"), "return_for_correction", ACTORS["leader"], GC, NATIONAL, D("2025-10-13"),
              GOOD["return_for_correction"]).state
    steps = {x.step: x.due.date for x in pending_deadlines(s, GC, NATIONAL)}
    assert steps["review"] == NATIONAL.add_workdays(D("2025-10-13"), 5).date
    assert steps["overall"] == NATIONAL.add_workdays(D("2025-09-26"), 25).date


@pytest.mark.parametrize("outcome, status, recommendation", [
    ("uphold", "reviewed", "approve"),
    ("founded", "reviewed", "refuse"),
    ("revise", "appraised", None),
])
def test_an_objection_resolves_three_ways(outcome, status, recommendation):
    out = apply(case_in("objection"), "resolve_objection", ACTORS["caseworker"], GC, NATIONAL, TODAY,
                {"finding": "核实结论", "outcome": outcome})
    assert (out.state.status, out.state.recommendation, out.state.objection_on) == (status, recommendation, None)
    if outcome == "founded":   # the director refuses; publicity is not offered
        offered = allowed_actions(out.state, ACTORS["director"], GC)
        assert "refuse" in offered
        with pytest.raises(PreconditionFailed):
            apply(out.state, "open_publicity", ACTORS["caseworker"], GC, NATIONAL, TODAY, GOOD["open_publicity"])


# --- dates -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, action, role, payload, fields, code", [
    ("application", "accept", "caseworker", {**GOOD["accept"], "accepted_on": D("2020-01-01")},
     {"applied_on": D("2025-09-20")}, "accepted_on_too_early"),
    ("accepted", "request_verification", "caseworker", {**GOOD["request_verification"],
                                                        "requested_on": D("2025-09-25")}, {},
     "requested_on_before_acceptance"),
    ("visited", "record_appraisal", "caseworker", {**GOOD["record_appraisal"], "appraisal_on": D("2025-09-28")}, {},
     "appraisal_on_before_visit"),
])
def test_a_step_may_not_precede_what_it_depends_on(status, action, role, payload, fields, code):
    assert refused(status, action, role, payload, **fields).code == code


def test_acceptance_on_the_application_day_is_fine():
    out = apply(case_in("application", applied_on=D("2025-09-26")), "accept", ACTORS["caseworker"], GC, NATIONAL,
                D("2025-09-26"), GOOD["accept"])
    assert out.state.accepted_on == D("2025-09-26") and out.event.on == D("2025-09-26")


# happened, recorded, due, window -> expected marks.  2026-11-06 is a Friday; 11-09 Monday.
TIMING = [
    ("2026-11-06", "2026-11-06", "2026-11-07", 2, {"due": "2026-11-07"}),
    ("2026-11-06", "2026-11-10", "2026-11-07", 2, {"recorded_on": "2026-11-10", "due": "2026-11-07"}),
    ("2026-11-06", "2026-11-11", "2026-11-13", 2,
     {"recorded_on": "2026-11-11", "entered_late": True, "due": "2026-11-13"}),   # late entry, limit not passed
    ("2026-11-06", "2026-12-01", "2026-11-07", 2,
     {"recorded_on": "2026-12-01", "entered_late": True, "due": "2026-11-07", "late": True}),  # the case
    ("2026-11-09", "2026-11-09", "2026-11-07", 2, {"due": "2026-11-07", "late": True}),
    ("2026-11-06", "2026-11-11", None, 2, {"recorded_on": "2026-11-11", "entered_late": True}),
    ("2026-11-06", "2026-11-11", "2026-11-07", 5, {"recorded_on": "2026-11-11", "due": "2026-11-07"}),
]


@pytest.mark.parametrize("happened, recorded, due, window, expected", TIMING)
def test_step_timing(happened, recorded, due, window, expected):
    assert step_timing(D(happened), D(recorded), D(due) if due else None, window, NATIONAL) == expected


def test_a_backdated_overdue_visit_stays_late():
    """Accepted Friday 2026-10-30: the visit was due 11-06.  Entered on 12-01 as done on 11-05."""
    case = case_in("accepted", accepted_on=D("2026-10-30"), investigation_from=D("2026-10-30"))
    due = NATIONAL.add_workdays(D("2026-10-30"), GC.deadlines.home_visit).date
    out = apply(case, "record_home_visit", ACTORS["investigator"], GC, NATIONAL, D("2026-12-01"),
                {**GOOD["record_home_visit"], "visit_on": D("2026-11-05")})
    assert out.event.on == D("2026-11-05") and out.state.visit_on == D("2026-11-05")
    assert out.event.data["recorded_on"] == "2026-12-01" and out.event.data["due"] == due.isoformat()
    assert out.event.data["entered_late"] is True and out.event.data["late"] is True


def test_a_step_entered_the_day_it_happened_carries_no_marks():
    out = apply(case_in("accepted"), "record_home_visit", ACTORS["investigator"], GC, NATIONAL, D("2025-09-29"),
                GOOD["record_home_visit"])
    assert "recorded_on" not in out.event.data and "late" not in out.event.data


@pytest.mark.parametrize("valid_from, valid_until, code", [
    ("2020-01-01", "2020-12-31", "valid_from_before_approval"),
    ("2025-10-21", "2026-10-20", "valid_from_before_approval"),
    ("2025-10-22", "2099-12-31", "validity_too_long"),
    ("2025-10-22", "2026-10-22", "validity_too_long"),          # one day past 12 months
    ("2025-10-22", "2025-10-22", "validity_invalid"),
])
def test_certificate_validity_starts_at_approval_and_lasts_the_profile(valid_from, valid_until, code):
    payload = {"number": "GC-1", "valid_from": D(valid_from), "valid_until": D(valid_until)}
    assert refused("approved", "issue_certificate", "caseworker", payload).code == code


@pytest.mark.parametrize("valid_from, valid_until", [("2025-10-22", "2026-10-21"), ("2025-11-01", "2026-03-31")])
def test_certificate_within_the_profile(valid_from, valid_until):
    out = apply(case_in("approved"), "issue_certificate", ACTORS["caseworker"], GC, NATIONAL, TODAY,
                {"number": "GC-1", "valid_from": D(valid_from), "valid_until": D(valid_until)})
    assert out.state.certificate_until == D(valid_until)


@pytest.mark.parametrize("start, months, end", [
    ("2025-10-22", 12, "2026-10-21"), ("2024-02-29", 12, "2025-02-27"), ("2025-08-31", 6, "2026-02-27"),
])
def test_certificate_valid_until(start, months, end):
    assert certificate_valid_until(D(start), months) == D(end)


def test_the_rule_table_names_the_return():
    rule = RULES["return_for_correction"]
    assert set(rule.roles) == {"leader", "director"}
    assert set(rule.from_states) == set(RETURN_FROM["leader"]) | set(RETURN_FROM["director"])


# --- the profile's settings for this area -------------------------------------------------------------

GC_TEXT = (BUILTIN_DIR / "guancheng.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, key", [
    ('hukou_prefixes = ["410104"]', "hukou_prefixes = []", "eligibility.hukou_prefixes"),
    ('hukou_prefixes = ["410104"]', 'hukou_prefixes = ["41x104"]', "eligibility.hukou_prefixes"),
    ('code = "vehicle"', 'code = "second_home"', "eligibility.property_exclusions"),
    ("backdating_workdays = 2", "backdating_workdays = -1", "dates.backdating_workdays"),
    ("backdating_workdays = 2\n", "", "dates.backdating_workdays"),
])
def test_a_broken_eligibility_or_dates_setting_names_its_key(old, new, key):
    assert old in GC_TEXT
    with pytest.raises(ProfileError) as info:
        parse_profile(GC_TEXT.replace(old, new, 1), "g.toml")
    assert info.value.key == key


def test_the_backdating_window_is_read_from_the_profile():
    """With a 30-working-day window the issue's visit is neither a late entry nor late."""
    lenient = parse_profile(GC_TEXT.replace("backdating_workdays = 2", "backdating_workdays = 30"), "g.toml")
    case = case_in("accepted", accepted_on=D("2026-10-30"), investigation_from=D("2026-10-30"))
    payload = {**GOOD["record_home_visit"], "visit_on": D("2026-11-05")}
    strict = apply(case, "record_home_visit", ACTORS["investigator"], GC, NATIONAL, D("2026-12-01"), payload)
    loose = apply(case, "record_home_visit", ACTORS["investigator"], lenient, NATIONAL, D("2026-12-01"), payload)
    assert strict.event.data.get("late") is True
    assert "late" not in loose.event.data and "entered_late" not in loose.event.data


def test_the_jurisdiction_is_read_from_the_profile():
    other = parse_profile(GC_TEXT.replace('hukou_prefixes = ["410104"]', 'hukou_prefixes = ["110105"]'), "g.toml")
    beijing = [MemberHukou("王", "head", "110105001")]
    for profile, ok in ((GC, False), (other, True)):
        result = assess(income_6m=Decimal("0"), co_residing=1, standard_monthly=Decimal("700"), members=beijing,
                        hukou_prefixes=profile.eligibility.hukou_prefixes, property_found=[],
                        property_rules=profile.property_rules)
        assert result.ok is ok
