"""sync.validate: the form definitions in pwa/forms and the validation of a visit's answers."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import date
from pathlib import Path

import pytest

from server.domain.declaration import INCOME_SOURCES, PROPERTY_ITEMS
from server.domain.ids import check_character
from sync.protocol import Attachment, parse_envelope
from sync.validate import (
    FIELD_TYPES,
    load_forms,
    validate_answers,
    validate_attachments,
    validate_definition,
    validate_visit,
)

ROOT = Path(__file__).resolve().parents[2]
FORMS_DIR = ROOT / "pwa" / "forms"
FORMS = load_forms(FORMS_DIR)
SURVEY = FORMS[("household_survey", 1)]
REREVIEW = FORMS[("rereview", 1)]
SPOT = FORMS[("spot_check", 1)]
FIXTURES = ROOT / "tests" / "fixtures"
VECTORS = json.loads((FIXTURES / "sync_envelopes.json").read_text(encoding="utf-8"))
ENVELOPES = {e["name"]: e for e in VECTORS["envelopes"]}
ID_VECTORS = json.loads((FIXTURES / "id_numbers.json").read_text(encoding="utf-8"))
TODAY = date(2026, 11, 22)

HEAD = "410104197803121236"
SPOUSE = "410104198009211028"


def make_id(first17: str) -> str:
    return first17 + check_character(first17)


def section(form, section_id):
    return next(s for s in form["sections"] if s["id"] == section_id)


def field_ids(form, section_id):
    return [f["id"] for f in section(form, section_id)["fields"]]


def found(form, answers, today=TODAY):
    return {(p.path, p.code) for p in validate_answers(form, answers, today)}


# --- the shipped definitions ----------------------------------------------------------------------

def test_the_shipped_forms_load():
    assert set(FORMS) == {("appraisal", 1), ("household_survey", 1), ("rereview", 1), ("spot_check", 1),
                          ("two_rates", 1)}
    assert [FORMS[k]["kind"] for k in sorted(FORMS)] == ["appraisal", "home_visit", "rereview", "spot_check", "survey"]


@pytest.mark.parametrize("path", sorted(FORMS_DIR.glob("*.json")), ids=lambda p: p.name)
def test_each_file_is_a_sound_definition_named_after_its_id(path):
    form = json.loads(path.read_text(encoding="utf-8"))
    validate_definition(form)
    assert path.stem == form["id"]


def test_form_kinds_are_visit_kinds():
    from server.models.visits import VISIT_KINDS
    from sync.validate import FORM_KINDS, FORMS_FOR_ASSIGNMENT
    # Every visit kind has forms; a "survey" (the two rates) is filled in on another kind's visit.
    assert set(FORM_KINDS) - {"survey"} == set(VISIT_KINDS) == set(FORMS_FOR_ASSIGNMENT)
    assert {k for own, extra in FORMS_FOR_ASSIGNMENT.values() for k in own + extra} == set(FORM_KINDS)
    # each assignment kind's own record is first of all a form of its own kind; no form is both own and extra
    assert all(own[0] == kind and not set(own) & set(extra) for kind, (own, extra) in FORMS_FOR_ASSIGNMENT.items())


@pytest.mark.parametrize("form_kind, assignment_kind, fits", [
    ("home_visit", "home_visit", True), ("spot_check", "home_visit", False), ("survey", "home_visit", False),
    ("home_visit", "reinvestigation", True), ("rereview", "rereview", True), ("home_visit", "rereview", False),
    ("spot_check", "spot_check", True), ("survey", "spot_check", True), ("appraisal", "spot_check", False),
    ("appraisal", "appraisal", True), ("home_visit", "appraisal", False), (None, "home_visit", False),
    ("home_visit", "no_such_kind", False),
])
def test_which_forms_an_assignment_takes(form_kind, assignment_kind, fits):
    from sync.validate import form_fits_assignment
    assert form_fits_assignment(form_kind, assignment_kind) is fits


@pytest.mark.parametrize("form_kind, assignment_kind, own", [
    ("home_visit", "home_visit", True), ("spot_check", "spot_check", True), ("survey", "spot_check", False),
    # re-investigating is done with the household survey while no re-investigation form exists: it closes it
    ("home_visit", "reinvestigation", True), ("reinvestigation", "reinvestigation", True),
    ("appraisal", "appraisal", True), ("home_visit", "appraisal", False), ("home_visit", "no_such_kind", False),
])
def test_which_record_closes_an_assignment(form_kind, assignment_kind, own):
    from sync.validate import is_own_form
    assert is_own_form(form_kind, assignment_kind) is own


def test_household_survey_members():
    members = section(SURVEY, "members")
    assert (members["repeat"], members["min"], members["max"]) == (True, 1, 20)
    assert field_ids(SURVEY, "members") == ["name", "id_number", "relation", "co_residing", "health", "disabled",
                                            "disability_grade", "student", "school", "work", "able_to_work"]
    fields = {f["id"]: f for f in members["fields"]}
    assert fields["id_number"]["type"] == "id_number" and fields["id_number"]["unique"] is True
    assert fields["name"]["required"] and fields["id_number"]["required"]
    assert fields["disability_grade"]["show_if"] == {"field": "disabled", "equals": True}
    assert [o["value"] for o in fields["disability_grade"]["options"]] == ["1", "2", "3", "4"]
    assert fields["school"]["show_if"] == {"field": "student", "equals": True}
    assert [o["value"] for o in fields["health"]["options"]] == ["healthy", "chronic", "seriously_ill"]
    assert [o["value"] for o in fields["work"]["options"]] == ["employed", "unemployed", "retired", "unable"]
    assert {f["id"]: f["type"] for f in members["fields"]}["able_to_work"] == "boolean"


def test_relations_match_the_console():
    from server.models.households import RELATIONS
    relation = {f["id"]: f for f in section(SURVEY, "members")["fields"]}["relation"]
    assert {o["value"]: (o["label"]["zh"], o["label"]["en"]) for o in relation["options"]} == RELATIONS


@pytest.mark.parametrize("form", [SURVEY, REREVIEW], ids=["household_survey", "rereview"])
def test_income_is_one_money6_field_per_declared_source(form):
    fields = section(form, "income")["fields"]
    assert [f["id"] for f in fields] == list(INCOME_SOURCES)
    assert {f["type"] for f in fields} == {"money6"}
    assert {f["id"]: (f["label"]["zh"], f["label"]["en"]) for f in fields} == INCOME_SOURCES


def test_property_is_one_text_field_per_item_plus_the_vehicle_count():
    fields = {f["id"]: f for f in section(SURVEY, "property")["fields"]}
    assert list(fields) == [*PROPERTY_ITEMS, "vehicles_count"]
    assert all(fields[item]["type"] == "text" for item in PROPERTY_ITEMS)
    assert {k: (f["label"]["zh"], f["label"]["en"]) for k, f in fields.items() if k in PROPERTY_ITEMS} == PROPERTY_ITEMS
    assert (fields["vehicles_count"]["type"], fields["vehicles_count"]["min"], fields["vehicles_count"]["max"]) == \
        ("integer", 0, 20)


def test_living_and_findings():
    living = {f["id"]: f for f in section(SURVEY, "living")["fields"]}
    assert living["conditions"]["type"] == "multi"
    assert {"leaking_roof", "no_heating", "no_appliances", "poor_sanitation", "adequate"} <= \
        {o["value"] for o in living["conditions"]["options"]}
    assert living["notes"]["type"] == "text"
    findings = {f["id"]: f for f in section(SURVEY, "findings")["fields"]}
    assert findings["summary"]["required"] and findings["recommendation"]["required"]
    assert [o["value"] for o in findings["recommendation"]["options"]] == ["eligible", "not_eligible", "unsure"]


def test_rereview_and_spot_check_fields():
    assert field_ids(REREVIEW, "members") == ["name", "id_number", "co_residing", "health", "work"]
    recommendation = {f["id"]: f for f in section(REREVIEW, "findings")["fields"]}["recommendation"]
    assert [o["value"] for o in recommendation["options"]] == ["continue", "raise", "lower", "stop"]
    assert "changes" in field_ids(REREVIEW, "findings")
    spot = {f["id"]: f for s in SPOT["sections"] for f in s["fields"]}
    assert {k: f["type"] for k, f in spot.items()} == {
        "household_found": "boolean", "members_match": "boolean", "total": "money6", "accuracy": "choice",
        "notes": "text"}
    assert [o["value"] for o in spot["accuracy"]["options"]] == ["accurate", "minor_issue", "wrong"]


def test_every_label_is_bilingual():
    def walk(value):
        if isinstance(value, dict):
            if "label" in value or "title" in value:
                text = value.get("label") or value.get("title")
                assert set(text) == {"zh", "en"} and all(text.values()), value
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    for form in FORMS.values():
        walk(form)


# --- validate_definition ------------------------------------------------------------------------

LABEL = {"zh": "标签", "en": "Label"}


def tiny(*fields, repeat=False, **form_changes):
    sec = {"id": "s", "title": LABEL, "fields": list(fields)}
    if repeat:
        sec.update(repeat=True, min=0, max=3)
    form = {"id": "tiny", "version": 1, "kind": "home_visit", "title": LABEL, "sections": [sec]}
    form.update(form_changes)
    return form


def fld(fid, ftype="text", **extra):
    out = {"id": fid, "type": ftype, "label": LABEL, "required": False}
    if ftype in ("choice", "multi") and "options" not in extra:
        out["options"] = [{"value": "a", "label": LABEL}, {"value": "b", "label": LABEL}]
    out.update(extra)
    return out


def test_tiny_form_is_sound():
    validate_definition(tiny(fld("t"), fld("c", "choice"), fld("flag", "boolean"),
                             fld("x", show_if={"field": "flag", "equals": True})))


@pytest.mark.parametrize("form, message", [
    ("not an object", "JSON object"),
    (tiny(fld("t", "textarea")), "unknown type"),
    (tiny(fld("t"), fld("t")), "duplicate field id"),
    (tiny(fld("t"), sections=[{"id": "s", "title": LABEL, "fields": [fld("a")]},
                              {"id": "s", "title": LABEL, "fields": [fld("b")]}]), "duplicate section id"),
    (tiny(fld("x", show_if={"field": "nope", "equals": True})), "not an earlier field"),
    (tiny(fld("x", show_if={"field": "flag", "equals": True}), fld("flag", "boolean")), "not an earlier field"),
    (tiny(fld("x", show_if={"field": "x", "equals": True})), "not an earlier field"),
    (tiny(fld("flag", "boolean"), fld("x", show_if={"field": "flag", "equals": "yes"})), "true or false"),
    (tiny(fld("c", "choice"), fld("x", show_if={"field": "c", "equals": "z"})), "not an option"),
    (tiny(fld("t"), fld("x", show_if={"field": "t", "equals": "z"})), "boolean or choice"),
    (tiny(fld("flag", "boolean"), fld("x", show_if={"field": "flag"})), "'show_if' must be"),
    (tiny(fld("c", "choice", options=None)), "'options' must be a non-empty list"),
    (tiny({"id": "c", "type": "choice", "label": LABEL, "required": False}), "missing 'options'"),
    (tiny(fld("c", "choice", options=[])), "'options' must be a non-empty list"),
    (tiny(fld("c", "multi", options=[{"value": "a", "label": LABEL}, {"value": "a", "label": LABEL}])),
     "duplicate option value"),
    (tiny(fld("c", "choice", options=[{"value": 1, "label": LABEL}])), "'value' must be a non-empty string"),
    (tiny(fld("c", "choice", options=[{"value": "a"}])), "missing 'label'"),
    (tiny(fld("t", max_length=0)), "max_length"),
    (tiny(fld("t", options=[])), "unknown key 'options'"),
    (tiny(fld("n", "integer", min=5, max=1)), "'min' is greater than 'max'"),
    (tiny(fld("n", "integer", min="0")), "'min' must be an integer"),
    (tiny(fld("t", required="yes")), "'required' must be true or false"),
    (tiny({"id": "t", "type": "text", "label": LABEL}), "missing 'required'"),
    (tiny(fld("t", label={"zh": "标签"})), "label"),
    (tiny(fld("t", label={"zh": "", "en": "x"})), "label"),
    (tiny(fld("Bad-Id"))  , "lowercase letters"),
    (tiny(fld("a/b")), "lowercase letters"),
    (tiny(fld("t", unique=True)), "'unique' may only be"),
    (tiny(fld("t", "boolean", unique=True), repeat=True), "'unique' may only be"),
    (tiny(fld("t"), kind="visit"), "'kind'"),
    (tiny(fld("t"), version=0), "'version'"),
    (tiny(fld("t"), version=True), "'version'"),
    (tiny(fld("t"), extra=1), "unknown key 'extra'"),
    (tiny(fld("t"), sections=[]), "'sections'"),
    (tiny(fld("t"), sections=[{"id": "s", "title": LABEL, "fields": []}]), "'fields'"),
    (tiny(fld("t"), sections=[{"id": "s", "title": LABEL, "repeat": True, "fields": [fld("a")]}]), "missing 'min'"),
    (tiny(fld("t"), sections=[{"id": "s", "title": LABEL, "repeat": True, "min": 3, "max": 2,
                               "fields": [fld("a")]}]), "0 <= 'min' <= 'max'"),
    (tiny(fld("t"), sections=[{"id": "s", "title": LABEL, "min": 1, "max": 2, "fields": [fld("a")]}]),
     "unknown key 'max'"),
    (tiny(fld("t"), slots=[{"id": "p", "label": LABEL, "roles": ["video"], "min": 0, "max": 1}]), "'roles'"),
    (tiny(fld("t"), slots=[{"id": "p", "label": LABEL, "roles": ["photo"], "min": 2, "max": 1}]), "'min'"),
    (tiny(fld("t"), slots=[{"id": "p", "label": LABEL, "roles": ["photo"], "min": 0, "max": 1},
                           {"id": "p", "label": LABEL, "roles": ["photo"], "min": 0, "max": 1}]), "duplicate slot"),
])
def test_malformed_definitions_are_refused(form, message):
    with pytest.raises(ValueError, match=message):
        validate_definition(form)


def test_definition_errors_are_all_listed():
    with pytest.raises(ValueError) as info:
        validate_definition(tiny(fld("t", "textarea"), fld("c", "choice", options=[]), kind="x"))
    text = str(info.value)
    assert "unknown type" in text and "'options'" in text and "'kind'" in text


def test_load_forms_names_the_bad_file(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(tiny(fld("t"))), encoding="utf-8")
    (tmp_path / "worse.json").write_text(json.dumps(tiny(fld("t", "textarea"))), encoding="utf-8")
    with pytest.raises(ValueError, match="worse.json"):
        load_forms(tmp_path)


def test_load_forms_refuses_invalid_json(tmp_path):
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json"):
        load_forms(tmp_path)


def test_load_forms_refuses_the_same_id_and_version_twice(tmp_path):
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(tiny(fld("t"))), encoding="utf-8")
    with pytest.raises(ValueError, match="also defined in a.json"):
        load_forms(tmp_path)


def test_load_forms_keys_by_id_and_version(tmp_path):
    (tmp_path / "v1.json").write_text(json.dumps(tiny(fld("t"))), encoding="utf-8")
    (tmp_path / "v2.json").write_text(json.dumps(tiny(fld("t"), version=2)), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a form", encoding="utf-8")
    assert sorted(load_forms(tmp_path)) == [("tiny", 1), ("tiny", 2)]


# --- validate_answers: every type -----------------------------------------------------------------

ALL_TYPES = {
    "id": "all", "version": 1, "kind": "home_visit", "title": LABEL,
    "sections": [{"id": "s", "title": LABEL, "fields": [
        fld("text", max_length=5),
        fld("int", "integer", min=0, max=20),
        fld("free_int", "integer"),
        fld("money", "money"),
        fld("months", "money6"),
        fld("flag", "boolean"),
        fld("pick", "choice"),
        fld("picks", "multi"),
        fld("day", "date"),
        fld("idn", "id_number"),
    ]}],
}
validate_definition(ALL_TYPES)


def test_every_type_is_covered():
    assert {f["type"] for f in ALL_TYPES["sections"][0]["fields"]} == set(FIELD_TYPES)


@pytest.mark.parametrize("fid, value, codes", [
    ("text", "王建国", []),
    ("text", "12345", []),
    ("text", "123456", ["too_long"]),
    ("text", "😀😀😀😀😀", []),  # counted in code points
    ("text", 5, ["wrong_type"]),
    ("int", 0, []),
    ("int", 20, []),
    ("int", -1, ["too_small"]),
    ("int", 21, ["too_large"]),
    ("int", True, ["wrong_type"]),
    ("int", "3", ["wrong_type"]),
    ("free_int", -(10**9), []),
    ("money", "0", []),
    ("money", "1200", []),
    ("money", "1200.5", []),
    ("money", "1,200.50", []),  # as the console accepts it
    ("money", "12.345", ["invalid_amount"]),
    ("money", "-5", ["invalid_amount"]),
    ("money", "abc", ["invalid_amount"]),
    ("money", 12, ["wrong_type"]),
    ("months", ["1", "2", "3", "4", "5", "6"], []),
    ("months", ["", "0", "0", "0", "0", "0"], ["partial_months"]),   # a blank month is unknown, never 0
    ("months", [""] * 6, []),                                        # all blank: no income of this kind
    ("money", "12,50", ["invalid_amount"]),                           # a comma only groups thousands
    ("months", ["1", "2", "3", "4", "5"], ["wrong_length"]),
    ("months", ["1", "2", "3", "4", "5", "6", "7"], ["wrong_length"]),
    ("months", "1200", ["wrong_type"]),
    ("flag", True, []),
    ("flag", False, []),
    ("flag", 1, ["wrong_type"]),
    ("flag", "true", ["wrong_type"]),
    ("pick", "a", []),
    ("pick", "c", ["invalid_choice"]),
    ("pick", ["a"], ["wrong_type"]),
    ("picks", ["a", "b"], []),
    ("picks", [], []),
    ("picks", "a", ["wrong_type"]),
    ("day", "2026-02-28", []),
    ("day", "2026-02-29", ["invalid_date"]),
    ("day", "2026-2-3", ["invalid_date"]),
    ("day", "20260203", ["invalid_date"]),
    ("day", 20260203, ["wrong_type"]),
    ("idn", HEAD, []),
    ("idn", "41010420100620007x", []),
    ("idn", "410104197803121237", ["id_number_checksum"]),
    ("idn", "4101041978031212", ["id_number_length"]),
    ("idn", 410104197803121236, ["wrong_type"]),
])
def test_field_types(fid, value, codes):
    assert found(ALL_TYPES, {"s": {fid: value}}) == {(f"s/{fid}", code) for code in codes}


@pytest.mark.parametrize("value, expected", [
    (["1", "x", "3", "4", "-1", "6"], {("s/months/1", "invalid_amount"), ("s/months/4", "invalid_amount")}),
    (["1", 2, "3", "4", "5", "6"], {("s/months/1", "wrong_type")}),
    (["1", "x", "3"], {("s/months", "wrong_length"), ("s/months/1", "invalid_amount")}),
])
def test_money6_points_at_the_month(value, expected):
    assert found(ALL_TYPES, {"s": {"months": value}}) == expected


def test_multi_points_at_the_bad_option():
    assert found(ALL_TYPES, {"s": {"picks": ["a", "z", "a", 1]}}) == {
        ("s/picks/1", "invalid_choice"), ("s/picks/2", "duplicate"), ("s/picks/3", "invalid_choice")}


@pytest.mark.parametrize("vector", ID_VECTORS["invalid"], ids=lambda v: v.get("why", "")[:40])
def test_shared_invalid_id_vectors(vector):
    today = date.fromisoformat(ID_VECTORS["today"])
    problems = validate_answers(ALL_TYPES, {"s": {"idn": vector["input"]}}, today=today)
    if not vector["input"].strip():  # blank text is "not answered": fine for an optional field
        assert problems == []
        required = tiny(fld("idn", "id_number", required=True))
        assert found(required, {"s": {"idn": vector["input"]}}, today=today) == {("s/idn", "required")}
        return
    assert [(p.path, p.code) for p in problems] == [("s/idn", f"id_number_{vector['code']}")]
    assert problems[0].message.startswith("“标签”：") and problems[0].message_en.startswith("Label: ")


def test_id_numbers_are_checked_as_of_today():
    born_2026 = make_id("41010420261201001")
    assert found(ALL_TYPES, {"s": {"idn": born_2026}}, today=date(2026, 12, 1)) == set()
    assert found(ALL_TYPES, {"s": {"idn": born_2026}}, today=date(2026, 11, 30)) == {
        ("s/idn", "id_number_future_birth_date")}


# --- required, show_if, unknown keys, sections ----------------------------------------------------

COND = tiny(
    fld("name", required=True),
    fld("flag", "boolean", required=True),
    fld("detail", "choice", required=True, show_if={"field": "flag", "equals": True}),
    fld("more", required=True, show_if={"field": "detail", "equals": "b"}),
    fld("note"),
)
validate_definition(COND)


@pytest.mark.parametrize("answers, expected", [
    ({"name": "x", "flag": False}, set()),
    ({"name": "x", "flag": False, "detail": None, "more": None}, set()),
    ({"name": "x", "flag": True}, {("s/detail", "required")}),
    ({"name": "x", "flag": True, "detail": "a"}, set()),
    ({"name": "x", "flag": True, "detail": "b"}, {("s/more", "required")}),
    ({"name": "x", "flag": True, "detail": "b", "more": "y"}, set()),
    ({"name": "x", "flag": False, "detail": "a"}, {("s/detail", "not_shown")}),
    ({"name": "x", "flag": False, "detail": "b", "more": "y"}, {("s/detail", "not_shown"), ("s/more", "not_shown")}),
    ({"name": "x", "flag": 1, "detail": "a"}, {("s/flag", "wrong_type"), ("s/detail", "not_shown")}),
    ({"name": "x", "flag": False, "more": ""}, {("s/more", "not_shown")}),  # hidden: absent or null only
    ({"flag": False}, {("s/name", "required")}),
    ({"name": "  ", "flag": False}, {("s/name", "required")}),
    ({"name": None, "flag": None}, {("s/name", "required"), ("s/flag", "required")}),
    ({"name": "x", "flag": False, "note": ""}, set()),
    ({"name": "x", "flag": False, "colour": "red"}, {("s/colour", "unknown_field")}),
    ({"name": "x", "flag": False, "a/b": 1}, {("s/a~1b", "unknown_field")}),
])
def test_required_and_show_if(answers, expected):
    assert found(COND, {"s": answers}) == expected


@pytest.mark.parametrize("answers, expected", [
    ({}, {("s/name", "required"), ("s/flag", "required")}),
    ({"s": None}, {("s/name", "required"), ("s/flag", "required")}),
    ({"s": []}, {("s", "wrong_type")}),
    ({"s": {"name": "x", "flag": True, "detail": "a"}, "t": {}}, {("t", "unknown_field")}),
    ([], {("", "wrong_type")}),
    (None, {("", "wrong_type")}),
])
def test_sections(answers, expected):
    assert found(COND, answers) == expected


REPEAT = tiny(fld("idn", "id_number", required=True, unique=True), fld("name", unique=True), repeat=True)
REPEAT["sections"][0].update(min=1, max=3)
validate_definition(REPEAT)


@pytest.mark.parametrize("items, expected", [
    ([{"idn": HEAD}], set()),
    ([{"idn": HEAD}, {"idn": SPOUSE}], set()),
    (None, {("s", "too_few")}),
    ([], {("s", "too_few")}),
    ([{"idn": HEAD}] * 4, {("s", "too_many"), ("s/1/idn", "duplicate"), ("s/2/idn", "duplicate"),
                           ("s/3/idn", "duplicate")}),
    ([{"idn": "41010420100620007X"}, {"idn": " 41010420100620007x"}], {("s/1/idn", "duplicate")}),
    ([{"idn": HEAD, "name": "王芳"}, {"idn": SPOUSE, "name": "王芳 "}], {("s/1/name", "duplicate")}),
    ([{"idn": HEAD}, "x"], {("s/1", "wrong_type")}),
    ([{"idn": HEAD}, {}], {("s/1/idn", "required")}),
    ([{"idn": HEAD}, {"idn": SPOUSE, "age": 3}], {("s/1/age", "unknown_field")}),
    ({"idn": HEAD}, {("s", "wrong_type")}),
])
def test_repeating_sections(items, expected):
    assert found(REPEAT, {"s": items}) == expected


# --- the shipped forms with real answers ---------------------------------------------------------

VALID_ANSWERS = ENVELOPES["valid_household_survey"]["envelope"]["answers"]


def test_valid_survey_answers_pass():
    assert validate_answers(SURVEY, VALID_ANSWERS, today=TODAY) == []


@pytest.mark.parametrize("change, expected", [
    (lambda a: a["members"][0].update(disabled=False), {("members/0/disability_grade", "not_shown")}),
    (lambda a: a["members"][0].pop("disability_grade"), {("members/0/disability_grade", "required")}),
    (lambda a: a["members"][1].update(student=True), {("members/1/school", "required")}),
    (lambda a: a["members"][1].update(student=True, school="郑州市第二中学 高二"), set()),
    (lambda a: a["members"][1].update(id_number=HEAD), {("members/1/id_number", "duplicate")}),
    (lambda a: a["members"][1].update(relation="cousin"), {("members/1/relation", "invalid_choice")}),
    (lambda a: a["members"].clear(), {("members", "too_few")}),
    (lambda a: a["income"].update(wages=["1"] * 5), {("income/wages", "wrong_length")}),
    (lambda a: a["income"]["wages"].__setitem__(3, "1.234"), {("income/wages/3", "invalid_amount")}),
    (lambda a: a["income"].update(salary=["0"] * 6), {("income/salary", "unknown_field")}),
    (lambda a: a["property"].update(vehicles_count=21), {("property/vehicles_count", "too_large")}),
    (lambda a: a["property"].update(housing="房" * 501), {("property/housing", "too_long")}),
    (lambda a: a["living"].update(conditions=["adequate", "mould"]), {("living/conditions/1", "invalid_choice")}),
    (lambda a: a["findings"].pop("summary"), {("findings/summary", "required")}),
    (lambda a: a["findings"].update(recommendation="maybe"), {("findings/recommendation", "invalid_choice")}),
    (lambda a: a.pop("findings"), {("findings/summary", "required"), ("findings/recommendation", "required")}),
    (lambda a: a.pop("income"), set()),
])
def test_survey_answer_problems(change, expected):
    answers = copy.deepcopy(VALID_ANSWERS)
    change(answers)
    assert found(SURVEY, answers) == expected


def test_twenty_members_are_allowed_and_twenty_one_are_not():
    member = VALID_ANSWERS["members"][1]
    many = [{**member, "id_number": make_id(f"41010419900101{i:03d}")} for i in range(21)]
    assert found(SURVEY, {**VALID_ANSWERS, "members": many[:20]}) == set()
    assert found(SURVEY, {**VALID_ANSWERS, "members": many}) == {("members", "too_many")}


@pytest.mark.parametrize("answers, expected", [
    ({"household": {"household_found": False}, "findings": {"accuracy": "wrong"}}, set()),
    ({"household": {"household_found": True}, "findings": {"accuracy": "wrong"}},
     {("household/members_match", "required")}),
    ({"household": {"household_found": False, "members_match": True}, "findings": {"accuracy": "accurate"}},
     {("household/members_match", "not_shown")}),
    ({"household": {"household_found": True, "members_match": True}, "income": {"total": ["900"] * 6},
      "findings": {"accuracy": "minor_issue", "notes": "收入略有出入"}}, set()),
    ({}, {("household/household_found", "required"), ("findings/accuracy", "required")}),
])
def test_spot_check_answers(answers, expected):
    assert found(SPOT, answers) == expected


def test_rereview_answers():
    answers = {"members": [{"name": "王建国", "id_number": HEAD, "co_residing": True, "health": "chronic",
                            "work": "unable"}],
               "income": {"pensions": ["300"] * 6}, "findings": {"recommendation": "continue"}}
    assert found(REREVIEW, answers) == set()
    answers["members"][0]["disabled"] = True
    assert found(REREVIEW, answers) == {("members/0/disabled", "unknown_field")}


def test_problems_are_bilingual_and_name_the_field():
    problems = validate_answers(SURVEY, {"members": [{"id_number": HEAD}]}, today=TODAY)
    name = next(p for p in problems if p.path == "members/0/name")
    assert (name.code, name.message, name.message_en) == ("required", "“姓名”为必填项", "Name is required")
    assert all(p.message and p.message_en for p in problems)


# --- attachments and whole visits -----------------------------------------------------------------

def att(slot, role="photo", n=0):
    return Attachment(sha256=f"{n:064x}", size=10, type="image/jpeg", role=role, slot=slot)


@pytest.mark.parametrize("attachments, expected", [
    ([att("applicant", "signature")], set()),
    ([att("applicant", "fingerprint"), att("house_outside"), att("kitchen", n=1)], set()),
    ([], {("attachments", "slot_too_few")}),
    ([att("house_outside")], {("attachments", "slot_too_few")}),
    ([att("applicant", "signature"), att("garden", n=1)], {("attachments/1/slot", "unknown_slot")}),
    ([att("applicant", "photo")], {("attachments/0/role", "role_not_allowed")}),
    ([att("applicant", "signature")] + [att("kitchen", n=i) for i in range(4)], {("attachments", "slot_too_many")}),
])
def test_attachments_against_slots(attachments, expected):
    assert {(p.path, p.code) for p in validate_attachments(SURVEY, attachments)} == expected


def test_a_form_without_slots_takes_no_attachments():
    assert [(p.path, p.code) for p in validate_attachments(tiny(fld("t")), [att("x")])] == [
        ("attachments/0/slot", "unknown_slot")]


@pytest.mark.parametrize("name", [n for n, e in ENVELOPES.items() if e["visit_problems"] is not None])
def test_fixture_visit_problems(name):
    entry = ENVELOPES[name]
    problems = validate_visit(FORMS, parse_envelope(entry["envelope"]), today=date.fromisoformat(VECTORS["today"]))
    assert {(p.path, p.code) for p in problems} == {(p["path"], p["code"]) for p in entry["visit_problems"]}


def test_bad_answers_fixture_reports_many_problems_at_once():
    assert len(ENVELOPES["bad_answers"]["visit_problems"]) >= 10


def test_validate_visit_unknown_form():
    raw = copy.deepcopy(ENVELOPES["valid_household_survey"]["envelope"])
    raw["form_version"] = 9
    problems = validate_visit(FORMS, parse_envelope(raw), today=TODAY)
    assert [(p.path, p.code) for p in problems] == [("form_version", "unknown_form")]


def test_validate_visit_prefixes_answer_paths():
    env = parse_envelope(ENVELOPES["valid_household_survey"]["envelope"])
    problems = validate_visit(FORMS, dataclasses.replace(env, answers=[]), today=TODAY)
    assert [(p.path, p.code) for p in problems] == [("answers", "wrong_type")]
    answers = copy.deepcopy(env.answers)
    answers["members"][0]["name"] = ""
    problems = validate_visit(FORMS, dataclasses.replace(env, answers=answers), today=TODAY)
    assert [(p.path, p.code) for p in problems] == [("answers/members/0/name", "required")]
