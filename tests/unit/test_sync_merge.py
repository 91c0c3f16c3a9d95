"""sync.merge: visits in the case field space, the three-way merge, and applying choices."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.merge import (
    MEMBER_FIELDS,
    MERGEABLE_FORMS,
    Conflict,
    MergeResult,
    apply,
    flatten_answers,
    income_total,
    member_numbers,
    merge,
    same_value,
)
from sync.protocol import parse_envelope
from sync.validate import load_forms

ROOT = Path(__file__).resolve().parents[2]
FORMS = load_forms(ROOT / "pwa" / "forms")
VECTORS = json.loads((ROOT / "tests" / "fixtures" / "sync_envelopes.json").read_text(encoding="utf-8"))
ENVELOPES = {e["name"]: e for e in VECTORS["envelopes"]}
ANSWERS = ENVELOPES["valid_household_survey"]["envelope"]["answers"]

HEAD = "410104197803121236"
SPOUSE = "410104198009211028"

FLAT_SURVEY = {
    f"member/{HEAD}/name": "王建国",
    f"member/{HEAD}/relation": "head",
    f"member/{HEAD}/co_residing": True,
    f"member/{HEAD}/health": "chronic",
    f"member/{HEAD}/disabled": True,
    f"member/{HEAD}/disability_grade": "2",
    f"member/{HEAD}/student": False,
    f"member/{HEAD}/school": None,
    f"member/{HEAD}/work": "unable",
    f"member/{HEAD}/able_to_work": False,
    f"member/{SPOUSE}/name": "李秀兰",
    f"member/{SPOUSE}/relation": "spouse",
    f"member/{SPOUSE}/co_residing": True,
    f"member/{SPOUSE}/health": "healthy",
    f"member/{SPOUSE}/disabled": False,
    f"member/{SPOUSE}/disability_grade": None,
    f"member/{SPOUSE}/student": False,
    f"member/{SPOUSE}/school": None,
    f"member/{SPOUSE}/work": "employed",
    f"member/{SPOUSE}/able_to_work": True,
    "income/wages": "6050.50",
    "income/pensions": "0.00",
    "property/housing": "自有住房一套，约60平方米",
    "property/vehicles": None,
    "property/vehicles_count": 0,
    "living/conditions": ["leaking_roof", "no_heating"],
    "living/notes": "房屋老旧，门口有Caf\u00e9招牌",
}


# --- flatten_answers ------------------------------------------------------------------------------

def test_flatten_the_fixture_survey():
    assert flatten_answers("household_survey", ANSWERS) == FLAT_SURVEY


def test_flatten_the_replay_gives_the_same_fields():
    replay = parse_envelope(ENVELOPES["replay"]["envelope"])
    assert flatten_answers(replay.form_id, replay.answers) == FLAT_SURVEY


def test_members_are_keyed_by_id_number_not_position():
    reordered = copy.deepcopy(ANSWERS)
    reordered["members"].reverse()
    assert flatten_answers("household_survey", reordered) == FLAT_SURVEY


def test_id_numbers_are_normalised_in_paths():
    answers = {"members": [{"name": "王小明", "id_number": " 41010420100620007x", "relation": "child"}]}
    flat = flatten_answers("household_survey", answers)
    assert flat["member/41010420100620007X/name"] == "王小明"
    assert member_numbers(flat) == {"41010420100620007X"}


def test_text_is_stripped_and_nfc_and_empty_is_none():
    answers = {"property": {"housing": "  Cafe\u0301 ", "other": "   "}, "living": {"notes": ""}}
    assert flatten_answers("household_survey", answers) == {
        "property/housing": "Caf\u00e9", "property/other": None, "living/notes": None}


def test_only_answered_income_property_and_living_are_mentioned():
    assert flatten_answers("household_survey", {}) == {}
    assert flatten_answers("household_survey", {"income": {"wages": None}, "property": {"housing": None}}) == {}
    assert flatten_answers("household_survey", {"living": {"conditions": []}}) == {"living/conditions": []}


def test_conditions_are_sorted_and_findings_skipped():
    answers = {"living": {"conditions": ["no_heating", "adequate", "leaking_roof"]},
               "findings": {"summary": "x", "recommendation": "eligible"}}
    assert flatten_answers("household_survey", answers) == {
        "living/conditions": ["adequate", "leaking_roof", "no_heating"]}


def test_flatten_a_rereview():
    answers = {"members": [{"name": "王建国", "id_number": HEAD, "co_residing": False, "health": "seriously_ill",
                            "work": "unable"}],
               "income": {"pensions": ["300", "300", "300", "300", "300", "310.5"]},
               "findings": {"changes": "户主住院", "recommendation": "raise"}}
    assert flatten_answers("rereview", answers) == {
        f"member/{HEAD}/name": "王建国", f"member/{HEAD}/co_residing": False,
        f"member/{HEAD}/health": "seriously_ill", f"member/{HEAD}/work": "unable",
        "income/pensions": "1810.50"}


def test_a_spot_check_speaks_about_no_case_field():
    answers = {"household": {"household_found": True, "members_match": False}, "income": {"total": ["900"] * 6},
               "findings": {"accuracy": "wrong"}}
    assert flatten_answers("spot_check", answers) == {}


@pytest.mark.parametrize("form_id", ["democratic_appraisal", "", "Household_Survey"])
def test_unknown_forms_are_refused(form_id):
    with pytest.raises(ValueError):
        flatten_answers(form_id, {})


def test_every_shipped_form_is_either_merged_or_not():
    from sync.merge import UNMERGED_FORMS
    assert {fid for fid, _ in FORMS} == set(MERGEABLE_FORMS) | set(UNMERGED_FORMS)


def test_two_members_with_one_id_number_are_refused():
    member = ANSWERS["members"][0]
    with pytest.raises(ValueError):
        flatten_answers("household_survey", {"members": [member, {**member, "id_number": HEAD.lower()}]})


@pytest.mark.parametrize("form_id", MERGEABLE_FORMS)
def test_member_fields_follow_the_form_definitions(form_id):
    form = next(f for (fid, _), f in FORMS.items() if fid == form_id)
    members = next(s for s in form["sections"] if s["id"] == "members")
    assert MEMBER_FIELDS[form_id] == tuple(f["id"] for f in members["fields"] if f["id"] != "id_number")


@pytest.mark.parametrize("months, total", [
    (["0"] * 6, "0.00"),
    (["1200", "1200.5", "0.05", "1,000", "0", "1"], "3401.55"),
    (["999999999.99"] * 6, "5999999999.94"),
])
def test_income_total(months, total):
    assert income_total(months) == total


@pytest.mark.parametrize("months", [["1"] * 5, ["1"] * 7, ["1", "2", "x", "4", "5", "6"], ["1"] * 5 + [1],
                                    [""] * 6, ["1200", "", "", "", "", ""], ["12,50", "0", "0", "0", "0", "0"]])
def test_income_total_refuses_bad_months(months):
    with pytest.raises(ValueError):
        income_total(months)


# --- same_value ---------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, equal", [
    (None, None, True),
    (True, True, True),
    (True, 1, False),
    (False, 0, False),
    (0, None, False),
    ("", None, False),
    ("1200.00", "1200.00", True),
    ("1200", "1200.00", False),
    ("Cafe\u0301", "Caf\u00e9", True),
    (["a", "b"], ["a", "b"], True),
    (["a", "b"], ["b", "a"], False),
    ([True], [1], False),
    ({"a": 1}, {"a": 1}, True),
    ({"a": 1}, {"a": True}, False),
    ({"a": 1}, {"b": 1}, False),
    (3, 3, True),
])
def test_same_value(a, b, equal):
    assert same_value(a, b) is equal
    assert same_value(b, a) is equal


# --- merge: literal cases -----------------------------------------------------------------------

P = "member/x/name"


@pytest.mark.parametrize("base, current, visit, outcome", [
    # (base, current, visit) values of one path: the visit speaks about it
    ("a", "a", "a", "agreed"),
    ("a", "a", "b", "proposal"),
    ("a", "b", "a", "ignored"),  # the visit left it; the case moved on
    ("a", "b", "b", "agreed"),  # both made the same change
    ("a", "b", "c", "conflict"),
    (None, None, "a", "proposal"),  # a new fact
    (None, "b", "a", "conflict"),
    ("a", "a", None, "proposal"),  # the visit found it empty
    ("a", None, None, "agreed"),
    ("a", "b", None, "conflict"),
    (True, True, 1, "proposal"),  # 1 is not true
    ("Caf\u00e9", "Caf\u00e9", "Cafe\u0301", "agreed"),
    (["a"], ["a"], ["a", "b"], "proposal"),
])
def test_merge_one_path(base, current, visit, outcome):
    result = merge({P: base}, {P: current}, {P: visit})
    expected = MergeResult(
        proposals={P: visit} if outcome == "proposal" else {},
        conflicts={P: Conflict(base, current, visit)} if outcome == "conflict" else {},
        agreed=[P] if outcome == "agreed" else [],
    )
    assert result == expected


def test_a_missing_path_means_none_in_base_and_current():
    assert merge({}, {}, {P: None}) == MergeResult(agreed=[P])
    assert merge({}, {}, {P: "a"}) == MergeResult(proposals={P: "a"})
    assert merge({P: "a"}, {}, {P: "a"}) == MergeResult()  # someone cleared it; the visit did not change it
    assert merge({}, {P: "b"}, {P: "a"}) == MergeResult(conflicts={P: Conflict(None, "b", "a")})


@pytest.mark.parametrize("record, months, outcome", [
    # an income kind the record has no figure for (never declared, never found) is unknown, not 0.00
    ({}, ["0"] * 6, "proposal"),                               # found none: 0.00 becomes known
    ({}, ["100"] * 6, "proposal"),
    ({}, [""] * 6, "ignored"),                                 # left blank: still unknown
    ({}, None, "ignored"),
    ({"income/other": "0.00"}, ["0"] * 6, "agreed"),           # a record from before kept 0.00 for it
    ({"income/other": "0.00"}, [""] * 6, "ignored"),
    ({"income/other": "600.00"}, ["0"] * 6, "proposal"),
])
def test_an_income_kind_without_a_figure_stays_unknown(record, months, outcome):
    found = flatten_answers("household_survey", {"income": {"other": months}} if months is not None else {})
    result = merge(record, record, found)
    expected = {"income/other": income_total(months)} if outcome == "proposal" else {}
    assert result.proposals == expected and not result.conflicts
    assert result.agreed == (["income/other"] if outcome == "agreed" else [])


def test_paths_the_visit_does_not_mention_are_left_alone():
    base = {"member/A/relation": "head", "member/C/name": "离开的人"}
    assert merge(base, base, {"member/A/name": "甲"}) == MergeResult(proposals={"member/A/name": "甲"})


def test_merge_a_survey_into_a_case():
    base = {f"member/{HEAD}/name": "王建国", f"member/{HEAD}/relation": "head", f"member/{HEAD}/disabled": False,
            f"member/{HEAD}/health": "healthy", f"member/{HEAD}/co_residing": True,
            "income/wages": "7200.00", "income/pensions": "0.00", "property/housing": "自有住房一套",
            "member/410104200001010017/name": "王小军"}
    current = {**base, f"member/{HEAD}/health": "seriously_ill", "income/wages": "6050.50"}  # since the base
    result = merge(base, current, FLAT_SURVEY)
    assert result.conflicts == {f"member/{HEAD}/health": Conflict("healthy", "seriously_ill", "chronic")}
    assert "income/wages" in result.agreed and "income/pensions" in result.agreed
    assert result.proposals[f"member/{HEAD}/disabled"] is True
    assert result.proposals["property/housing"] == "自有住房一套，约60平方米"
    assert result.proposals[f"member/{SPOUSE}/name"] == "李秀兰"  # a new member
    assert not any(p.startswith("member/410104200001010017/") for p in [*result.proposals, *result.conflicts])
    assert f"member/{HEAD}/school" in result.agreed  # None everywhere
    assert not result.clean
    assert set(result.proposals) | set(result.conflicts) | set(result.agreed) == set(FLAT_SURVEY)


def test_merge_does_not_change_its_inputs_nor_share_values():
    base, current, visit = {P: ["a"]}, {P: ["a"]}, {P: ["a", "b"]}
    result = merge(base, current, visit)
    result.proposals[P].append("c")
    assert (base, current, visit) == ({P: ["a"]}, {P: ["a"]}, {P: ["a", "b"]})


# --- apply --------------------------------------------------------------------------------------

def test_apply_returns_a_new_dict():
    current = {"a": "1", "b": ["x"], "c": True}
    before = copy.deepcopy(current)
    result = apply(current, {"a": "2", "c": None, "d": 0})
    assert result == {"a": "2", "b": ["x"], "d": 0}
    assert current == before
    result["b"].append("y")
    assert current["b"] == ["x"]


def test_apply_nothing():
    assert apply({"a": 1}, {}) == {"a": 1}


# --- properties ---------------------------------------------------------------------------------

PATHS = st.sampled_from(["member/A/name", "member/A/disabled", "member/B/name", "income/wages", "income/other",
                         "property/housing", "property/vehicles_count", "living/conditions", "living/notes"])
VALUES = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "a", "b", "Cafe\u0301", "Caf\u00e9"]) \
    | st.lists(st.sampled_from(["x", "y"]), max_size=2)
FLAT = st.dictionaries(PATHS, VALUES, max_size=9)


@settings(deadline=None, max_examples=200)
@given(base=FLAT, current=FLAT, visit=FLAT)
def test_merge_partitions_the_visit(base, current, visit):
    result = merge(base, current, visit)
    touched = [*result.proposals, *result.conflicts, *result.agreed]
    assert len(touched) == len(set(touched)) and set(touched) <= set(visit)
    for path, value in result.proposals.items():
        assert same_value(current.get(path), base.get(path)) and not same_value(value, base.get(path))


@settings(deadline=None, max_examples=200)
@given(base=FLAT, current=FLAT, visit=FLAT)
def test_merging_the_same_visit_again_after_applying_it_is_a_no_op(base, current, visit):
    first = merge(base, current, visit)
    after = apply(current, first.proposals)
    second = merge(base, after, visit)
    assert second.proposals == {}
    assert second.conflicts == first.conflicts  # still waiting for the caseworker
    settled = apply(after, {path: c.proposed for path, c in first.conflicts.items()})
    third = merge(base, settled, visit)
    assert third.proposals == {} and third.conflicts == {}
    # every path now agrees, except those the visit left as they were at the base
    assert set(visit) - set(third.agreed) == {p for p in visit if same_value(visit[p], base.get(p))
                                              and not same_value(visit[p], settled.get(p))}
    assert apply(settled, third.proposals) == settled


@settings(deadline=None, max_examples=200)
@given(base=FLAT, current=FLAT, one=FLAT, other=FLAT)
def test_visits_touching_disjoint_paths_commute(base, current, one, other):
    other = {path: value for path, value in other.items() if path not in one}

    def in_order(first, second):
        r1 = merge(base, current, first)
        state = apply(current, r1.proposals)
        r2 = merge(base, state, second)
        return apply(state, r2.proposals), {**r1.conflicts, **r2.conflicts}

    assert in_order(one, other) == in_order(other, one)


@settings(deadline=None, max_examples=200)
@given(base=FLAT, visit=FLAT)
def test_a_case_unchanged_since_the_base_takes_every_difference_as_a_proposal(base, visit):
    result = merge(base, base, visit)
    assert result.conflicts == {}
    assert {p for p in visit if not same_value(visit[p], base.get(p))} == set(result.proposals)
