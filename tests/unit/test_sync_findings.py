"""The findings shape and the reconciliation rows — pure, table-driven, against the shipped form definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.findings import derive_findings, label_value
from sync.protocol import parse_envelope
from sync.reconcile import resolve, rows

FORMS = Path(__file__).resolve().parents[2] / "pwa" / "forms"
SURVEY = json.loads((FORMS / "household_survey.json").read_text(encoding="utf-8"))
REREVIEW = json.loads((FORMS / "rereview.json").read_text(encoding="utf-8"))
HEAD, SPOUSE, CHILD = "410104196205010117", "410104196503080221", "410104201906010334"


def member(number, name, relation="head", **kw):
    return {"name": name, "id_number": number, "relation": relation, "co_residing": True, "health": "healthy",
            "disabled": False, "student": False, "work": "unemployed", "able_to_work": False, **kw}


@pytest.mark.parametrize("field, value, expected", [
    ({"type": "boolean"}, True, ["是", "Yes"]),
    ({"type": "boolean"}, False, ["否", "No"]),
    ({"type": "choice", "options": [{"value": "grandchild", "label": {"zh": "孙子女", "en": "Grandchild"}}]},
     "grandchild", ["孙子女", "Grandchild"]),
    ({"type": "multi", "options": [{"value": "a", "label": {"zh": "甲", "en": "A"}},
                                   {"value": "b", "label": {"zh": "乙", "en": "B"}}]}, ["a", "b"], ["甲、乙", "A, B"]),
    ({"type": "text"}, "  ", None),
    ({"type": "text"}, None, None),
    ({"type": "integer"}, 0, ["0", "0"]),
    ({"type": "choice", "options": []}, "unknown", ["unknown", "unknown"]),
])
def test_label_value(field, value, expected):
    assert label_value(field, value) == expected


@pytest.mark.parametrize("source, answers, attachments, expect", [
    # a phone's full survey
    ("device",
     {"members": [member(HEAD, "张建国"), member(CHILD, "张小宝", "grandchild", student=True, school="一年级")],
      "income": {"wages": ["450.00"] * 6, "pensions": ["100", "0", "0", "0", "0", "0"]},
      "property": {"housing": "平房两间", "vehicles": "", "vehicles_count": 0},
      "living": {"conditions": ["leaking_roof", "no_heating"], "notes": " 漏雨 "},
      "findings": {"summary": "属实", "recommendation": "unsure"}},
     [{"sha256": "a" * 64, "role": "photo", "slot": "kitchen", "captured_at": "2025-11-04T09:20:00+08:00",
       "position": {"refused": True}},
      {"sha256": "b" * 64, "role": "signature", "slot": "applicant"}],
     {"income_total": "2800.00", "summary": "属实", "recommendation": ["需进一步核实", "Needs further checking"],
      "conditions": ["房屋漏雨或危旧", "无取暖设施"], "living_notes": "漏雨", "applicant_signed": True,
      "members": [("张建国", ["户主", "Head"]), ("张小宝", ["孙子女", "Grandchild"])],
      "property": [("房产（套数、面积、地址）", "平房两间"), ("机动车数量（辆）", "0")],
      "photos": [("厨房", "2025-11-04T09:20:00+08:00", {"refused": True})]}),
    # the console's paper form: no member list, no photos
    ("paper",
     {"income": {"wages": ["1200.00", "0.00", "0.00", "0.00", "0.00", "0.00"]},
      "findings": {"summary": "纸质", "recommendation": None}},
     [],
     {"income_total": "1200.00", "summary": "纸质", "recommendation": None, "conditions": [], "living_notes": None,
      "applicant_signed": False, "members": [], "property": [], "photos": []}),
    # nothing about income: None, not 0
    ("device", {"findings": {"summary": "x"}}, [],
     {"income_total": None, "summary": "x", "recommendation": None, "conditions": [], "living_notes": None,
      "applicant_signed": False, "members": [], "property": [], "photos": []}),
])
def test_one_shape_for_every_channel(source, answers, attachments, expect):
    shape = derive_findings(SURVEY, answers, source=source, attachments=attachments, investigators=[5, 4, 5])
    assert shape["shape"] == 1 and shape["source"] == source and shape["investigators"] == [4, 5]
    assert shape["income_total"] == expect["income_total"]
    assert shape["summary"] == expect["summary"]
    assert (shape["recommendation"]["label"] if shape["recommendation"] else None) == expect["recommendation"]
    assert [c["label"][0] for c in shape["conditions"]] == expect["conditions"]
    assert shape["living_notes"] == expect["living_notes"]
    assert shape["applicant_signed"] is expect["applicant_signed"]
    assert [(m["name"], m["relation_label"]) for m in shape["members"]] == expect["members"]
    assert [(p["label"][0], p["text"]) for p in shape["property"]] == expect["property"]
    assert [(p["slot_label"][0], p["captured_at"], p["position"]) for p in shape["photos"]] == expect["photos"]
    json.dumps(shape)   # storable as JSON


def test_member_facts_are_labelled_and_hidden_fields_left_out():
    shape = derive_findings(SURVEY, {"members": [member(CHILD, "张小宝", "grandchild", student=True, school="一年级")]},
                            source="device")
    facts = {f["label"][0]: f["text"][0] for f in shape["members"][0]["facts"]}
    assert facts == {"健康状况": "健康", "是否残疾": "否", "是否在校学生": "是", "就读学校及年级": "一年级",
                     "就业状况": "失业", "是否有劳动能力": "否"}


def test_the_rereview_form_gives_the_same_shape():
    shape = derive_findings(REREVIEW, {"members": [{"name": "张建国", "id_number": HEAD, "co_residing": False}],
                                       "income": {"wages": ["10"] * 6},
                                       "findings": {"changes": "配偶外出", "recommendation": "continue"}},
                            source="device")
    assert shape["members"][0]["co_residing"] is False and shape["income_total"] == "60.00"
    assert shape["changes"] == "配偶外出" and shape["recommendation"]["value"] == "continue"


CURRENT = {f"member/{HEAD}/name": "张建国", f"member/{HEAD}/relation": "head", f"member/{HEAD}/co_residing": True,
           f"member/{SPOUSE}/name": "李秀英", f"member/{SPOUSE}/relation": "spouse", f"member/{SPOUSE}/co_residing": True,
           "income/wages": "1800.00"}
MERGE = {
    "proposals": {f"member/{HEAD}/disabled": True, f"member/{HEAD}/health": "chronic",
                  f"member/{CHILD}/name": "张小宝", f"member/{CHILD}/relation": "grandchild",
                  f"member/{CHILD}/co_residing": True, f"member/{CHILD}/student": True,
                  "living/conditions": ["no_heating"]},
    "conflicts": {"income/wages": {"base": "1800.00", "current": "2400.00", "proposed": "2700.00"}},
    "missing": [SPOUSE],
}


def test_rows_group_by_person_and_say_it_in_labels():
    groups = rows(SURVEY, MERGE, CURRENT)
    assert [g.title[0] for g in groups] == ["张建国（户主）", "李秀英（配偶）", "张小宝（孙子女）",
                                            "收入（近6个月合计）", "生活状况"]
    head, spouse, child, income, living = groups
    # in the order the form asks them
    assert [(r.label[0], r.proposed[0]) for r in head.rows] == [("健康状况", "慢性病"), ("是否残疾", "是")]
    assert [(r.kind, r.label[0], r.default) for r in spouse.rows] == [("absent_member", "调查时未见此成员（不再共同生活）",
                                                                       "current")]
    assert len(child.rows) == 1 and child.rows[0].kind == "new_member"
    assert child.rows[0].label[0] == f"新增成员：张小宝（孙子女），身份证号码 {CHILD}"
    assert child.rows[0].proposed[0] == "是否共同生活：是；是否在校学生：是" and len(child.rows[0].paths) == 4
    wages = income.rows[0]
    assert wages.conflict and wages.default == "" and (wages.base[0], wages.current[0], wages.proposed[0]) == (
        "1800.00 元", "2400.00 元", "2700.00 元")
    assert living.rows[0].proposed == ["无取暖设施", "No heating"]
    keys = [r.key for g in groups for r in g.rows]
    assert len(set(keys)) == len(keys) and all("/" not in k for k in keys)
    assert [r.key for g in rows(SURVEY, MERGE, CURRENT) for r in g.rows] == keys   # stable


@pytest.mark.parametrize("picks, choices, new, left, undecided", [
    # defaults: proposals taken, the absent member kept, the conflict must be decided
    ({}, None, None, None, ["收入（近6个月合计） · 工资性收入"]),
    ({"wages": "current"},
     {f"member/{HEAD}/disabled": True, f"member/{HEAD}/health": "chronic", f"member/{CHILD}/name": "张小宝",
      f"member/{CHILD}/relation": "grandchild", f"member/{CHILD}/co_residing": True, f"member/{CHILD}/student": True,
      "living/conditions": ["no_heating"], "income/wages": "1800.00"}, [CHILD], [], []),
    ({"wages": "visit", "child": "current", "spouse": "visit", "head0": "current", "head1": "current",
      "living": "current"},
     {"income/wages": "2700.00", f"member/{SPOUSE}/co_residing": False}, [], [SPOUSE], []),
])
def test_resolve_turns_picks_into_choices(picks, choices, new, left, undecided):
    groups = rows(SURVEY, MERGE, CURRENT)
    by_name = {"head0": groups[0].rows[0].key, "head1": groups[0].rows[1].key, "spouse": groups[1].rows[0].key,
               "child": groups[2].rows[0].key, "wages": groups[3].rows[0].key, "living": groups[4].rows[0].key}
    result = resolve(groups, MERGE, CURRENT, {by_name[k]: v for k, v in picks.items()})
    assert [u[0] for u in result.undecided] == undecided
    if choices is not None:
        assert result.choices == choices and result.new_members == new and result.left == left


def test_photo_facts_are_optional_signed_keys_of_an_attachment():
    base = {"protocol": 1, "visit_id": "0b5f8a52-7a43-4d0e-9d5e-2f1f3b6f7a10", "assignment_id": 1, "case_id": 1,
            "form_id": "household_survey", "form_version": 1, "base_version": 1, "supersedes": None, "answers": {},
            "investigators": [4], "gps": {"start": {"refused": True}, "finish": {"refused": True}},
            "started_at": "2025-11-04T09:00:00+08:00", "finished_at": "2025-11-04T09:50:00+08:00"}
    item = {"sha256": "a" * 64, "size": 10, "type": "image/jpeg", "role": "photo", "slot": "kitchen"}
    plain = parse_envelope({**base, "attachments": [item]})
    facts = parse_envelope({**base, "attachments": [{**item, "captured_at": "2025-11-04T09:20:00+08:00",
                                                     "position": {"lat": "34.75", "lon": "113.67", "accuracy": "8"}}]})
    assert plain.attachments[0].captured_at is None and facts.attachments[0].captured_at.hour == 9
    assert facts.attachments[0].position == {"lat": "34.75", "lon": "113.67", "accuracy": "8"}
    assert plain.hash != facts.hash   # signed: changing a photo's facts changes the content hash
