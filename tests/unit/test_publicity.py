"""What a public notice board may show: columns and cells per profile, masking, scrubbing, batches."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from server.domain.publicity import (
    COLUMNS,
    ListSettings,
    LongTermCase,
    PublicityCase,
    SettingsError,
    build,
    days_left,
    headers,
    long_term_columns,
    long_term_rows,
    publicity_columns,
    publicity_rows,
)
from server.rules import load_profiles

TODAY = dt.date(2025, 11, 10)
PROFILES = load_profiles()


def settings(profile_id: str) -> ListSettings:
    return ListSettings.from_mapping(PROFILES[profile_id].public_list)


def pub_case(**kw) -> PublicityCase:
    base = dict(ref="7", head_name="张建国", household_size=3, opened_on=dt.date(2025, 11, 6),
                earliest_close=dt.date(2025, 11, 13), unit_name="和平社区", proposed_amount=Decimal("1000.00"),
                monthly_income=Fraction(2400, 6), categories=("seriously_ill", "elderly"),
                visit_on=dt.date(2025, 11, 4), visit_team=2, appraisal_on=dt.date(2025, 11, 5),
                appraisal_conclusion="agree", appraisal_residents=4, appraisal_panel=6, recommendation="approve",
                leader_signed=True, meeting_decision=None)
    base.update(kw)
    return PublicityCase(**base)


def lt_case(**kw) -> LongTermCase:
    base = dict(ref="3", head_name="欧阳娜娜", people=2, since=dt.date(2025, 3, 1), unit_name="和平社区",
                amount=Decimal("620.50"), monthly_income=Decimal("300"), categories=("minor",))
    base.update(kw)
    return LongTermCase(**base)


# --- columns per profile ------------------------------------------------------------------------

@pytest.mark.parametrize(("profile", "with_unit", "expected"), [
    ("guancheng", False, ("no", "head", "household_size", "amount")),
    ("guancheng", True, ("no", "unit", "head", "household_size", "amount")),
    ("yijun", False, ("no", "head", "household_size", "amount", "income", "category", "visit", "appraisal",
                      "opinions")),
    ("yijun", True, ("no", "unit", "head", "household_size", "amount", "income", "category", "visit",
                     "appraisal", "opinions")),
])
def test_publicity_columns_per_profile(profile, with_unit, expected):
    assert publicity_columns(settings(profile), with_unit=with_unit) == expected


@pytest.mark.parametrize(("profile", "with_unit", "expected"), [
    ("guancheng", False, ("no", "head", "people", "monthly_amount", "since")),
    ("guancheng", True, ("no", "unit", "head", "people", "monthly_amount", "since")),
    ("yijun", False, ("no", "head", "people", "monthly_amount", "income", "category", "since")),
])
def test_long_term_columns_per_profile(profile, with_unit, expected):
    assert long_term_columns(settings(profile), with_unit=with_unit) == expected


@pytest.mark.parametrize(("switch", "column"), [
    ("show_household_size", "household_size"), ("show_amount", "amount"), ("show_income", "income"),
    ("show_category", "category"), ("show_visit_result", "visit"), ("show_appraisal_result", "appraisal"),
    ("show_opinions", "opinions"),
])
def test_each_switch_controls_its_column(switch, column):
    on = ListSettings(**{switch: True})
    off = ListSettings(**{switch: False})
    assert column in publicity_columns(on) and column not in publicity_columns(off)


def test_privacy_preserving_defaults():
    s = ListSettings()
    assert s.name == "masked" and not s.show_income and not s.show_category and not s.show_opinions
    assert publicity_columns(s) == ("no", "head", "household_size", "amount")


# --- cells per profile ----------------------------------------------------------------------------

@pytest.mark.parametrize(("profile", "lang", "expected"), [
    ("guancheng", "zh", ("1", "张**", "3", "1000.00")),
    ("guancheng", "en", ("1", "张**", "3", "1000.00")),
    ("yijun", "zh", ("1", "张**", "3", "1000.00", "400.00", "老年人、重病患者",
                     "2025-11-04，2名调查人员入户核实",
                     "2025-11-05，评议结论：属实（评议6人，其中居（村）民代表4人）",
                     "拟批准（拟保障金额1000.00元/月，分类施保：老年人、重病患者）；分管领导已签署")),
    ("yijun", "en", ("1", "张**", "3", "1000.00", "400.00", "Elderly, Seriously ill",
                     "2025-11-04, 2 investigators",
                     "2025-11-05, Confirmed (4 of 6 members resident representatives)",
                     "Proposed for approval (proposed amount 1000.00 yuan/month; Supplement category: "
                     "Elderly, Seriously ill); signed by the leader in charge")),
])
def test_publicity_cells_per_profile(profile, lang, expected):
    (batch,) = publicity_rows(settings(profile), [pub_case()], TODAY, lang=lang)
    (row,) = batch.rows
    assert row.cells == expected
    assert row.ref == "7" and row.label == "1. 张**"


@pytest.mark.parametrize(("profile", "expected"), [
    ("guancheng", ("1", "欧阳**", "2", "620.50", "2025-03-01")),
    ("yijun", ("1", "欧阳**", "2", "620.50", "300.00", "未成年人", "2025-03-01")),
])
def test_long_term_cells_per_profile(profile, expected):
    (row,) = long_term_rows(settings(profile), [lt_case()])
    assert row.cells == expected


@pytest.mark.parametrize(("case", "column", "expected"), [
    (pub_case(proposed_amount=None), "amount", "—"),
    (pub_case(monthly_income=Fraction(1001, 6)), "income", "166.83"),   # 166.8333… to the fen
    (pub_case(monthly_income=Fraction(1003, 6)), "income", "167.17"),   # 167.1666… rounds half up
    (pub_case(categories=()), "category", "—"),
    (pub_case(visit_on=None), "visit", "—"),
    (pub_case(appraisal_conclusion=None), "appraisal", "—"),
    (pub_case(recommendation=None, leader_signed=False), "opinions", "—"),
    (pub_case(meeting_decision="approve", leader_signed=False, categories=()), "opinions",
     "拟批准（拟保障金额1000.00元/月）；会议研究：拟批准"),
    (pub_case(recommendation="refuse", meeting_decision="refuse"), "opinions",
     "拟不予批准；分管领导已签署；会议研究：拟不予批准"),   # no amount or category for a refusal
    (pub_case(head_name=""), "head", "—"),
])
def test_publicity_cell_edge_cases(case, column, expected):
    s = ListSettings(show_income=True, show_category=True, show_visit_result=True, show_appraisal_result=True,
                     show_opinions=True)
    (batch,) = publicity_rows(s, [case], TODAY)
    cols = publicity_columns(s)
    assert batch.rows[0].cells[cols.index(column)] == expected


@pytest.mark.parametrize(("mode", "name", "expected"), [
    ("masked", "张建国", "张**"),
    ("masked", "欧阳娜娜", "欧阳**"),
    ("masked", "阿依古丽·买买提", "阿***·***"),
    ("full", "张建国", "张建国"),
])
def test_names_follow_the_profile(mode, name, expected):
    s = ListSettings(name=mode)
    (batch,) = publicity_rows(s, [pub_case(head_name=name)], TODAY)
    (row,) = long_term_rows(s, [lt_case(head_name=name)])
    assert batch.rows[0].cells[1] == expected and row.cells[1] == expected


@pytest.mark.parametrize("mode", ["", "Masked", "partial", "none"])
def test_unknown_name_mode_is_refused(mode):
    with pytest.raises(SettingsError):
        ListSettings(name=mode)


def test_settings_need_every_key():
    table = dict(PROFILES["guancheng"].public_list)
    del table["show_income"]
    with pytest.raises(SettingsError, match="show_income"):
        ListSettings.from_mapping(table)


@pytest.mark.parametrize(("profile", "expected"), [("guancheng", ""), ("yijun", "0919-0000000")])
def test_tipoff_phone_only_when_the_profile_publishes_it(profile, expected):
    assert settings(profile).tipoff == expected
    assert ListSettings(show_tipoff_phone=False, tipoff_phone="12345").tipoff == ""


# --- opinions are published as their structured conclusion -----------------------------------------

def test_opinions_follow_the_profiles_amount_and_category_switches():
    (batch,) = publicity_rows(ListSettings(show_opinions=True, show_amount=False, show_category=False),
                              [pub_case()], TODAY)
    assert batch.rows[0].cells[-1] == "拟批准；分管领导已签署"


def test_publicity_case_has_no_place_for_typed_text():
    """The typed opinions cannot even be handed to the core: only structured facts have fields."""
    fields = set(PublicityCase.__dataclass_fields__)
    assert not {"review_opinion", "leader_opinion", "opinion", "text"} & fields
    with pytest.raises(TypeError):
        pub_case(review_opinion="户主患宫颈癌晚期，化疗中")


# --- batches and days left --------------------------------------------------------------------------

@pytest.mark.parametrize(("close", "today", "expected"), [
    (dt.date(2025, 11, 13), dt.date(2025, 11, 6), 7),
    (dt.date(2025, 11, 13), dt.date(2025, 11, 12), 1),
    (dt.date(2025, 11, 13), dt.date(2025, 11, 13), 0),
    (dt.date(2025, 11, 13), dt.date(2025, 12, 1), 0),
])
def test_days_left(close, today, expected):
    assert days_left(close, today) == expected


def test_batches_group_by_opening_newest_first_and_number_across():
    old = dt.date(2025, 11, 3), dt.date(2025, 11, 10)
    new = dt.date(2025, 11, 6), dt.date(2025, 11, 13)
    cases = [pub_case(ref="5", opened_on=old[0], earliest_close=old[1], head_name="王五"),
             pub_case(ref="12", opened_on=new[0], earliest_close=new[1], head_name="李四", unit_name="幸福社区"),
             pub_case(ref="9", opened_on=new[0], earliest_close=new[1], head_name="赵六", unit_name="和平社区"),
             pub_case(ref="2", opened_on=new[0], earliest_close=new[1], head_name="钱七", unit_name="和平社区")]
    batches = publicity_rows(ListSettings(), cases, TODAY, with_unit=True)
    assert [(b.opened_on, b.days_left) for b in batches] == [(new[0], 3), (old[0], 0)]
    assert [[r.ref for r in b.rows] for b in batches] == [["2", "9", "12"], ["5"]]
    assert [r.label for b in batches for r in b.rows] == ["1. 钱*（和平社区）", "2. 赵*（和平社区）", "3. 李*（幸福社区）",
                                                          "4. 王*（和平社区）"]


def test_a_case_under_objection_is_marked():
    (batch,) = publicity_rows(ListSettings(), [pub_case(in_objection=True)], TODAY)
    assert batch.rows[0].note == "公示期间收到异议，正在重新调查核实"
    (batch,) = publicity_rows(ListSettings(), [pub_case()], TODAY, lang="en")
    assert batch.rows[0].note == ""


def test_long_term_sorted_by_unit_then_since():
    cases = [lt_case(ref="1", unit_name="幸福社区", since=dt.date(2025, 1, 1)),
             lt_case(ref="2", unit_name="和平社区", since=dt.date(2025, 5, 1)),
             lt_case(ref="3", unit_name="和平社区", since=dt.date(2025, 2, 1))]
    assert [r.ref for r in long_term_rows(ListSettings(), cases)] == ["3", "2", "1"]
    assert [r.cells[0] for r in long_term_rows(ListSettings(), cases)] == ["1", "2", "3"]


# --- the whole page ------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["guancheng", "yijun"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_build_headers_match_cells(profile, lang):
    page = build(settings(profile), [pub_case()], [lt_case()], TODAY, lang=lang)
    assert len(page.publicity_columns) == len(page.batches[0].rows[0].cells) == len(page.publicity_keys)
    assert len(page.long_term_columns) == len(page.long_term[0].cells) == len(page.long_term_keys)
    assert page.publicity_columns == headers(page.publicity_keys, lang)
    assert page.publicity_columns[0] == ("No." if lang == "en" else "序号")


def test_build_empty_lists():
    page = build(ListSettings(), [], [], TODAY)
    assert page.batches == () and page.long_term == ()


def test_every_column_has_both_languages():
    assert all(len(pair) == 2 and all(pair) for pair in COLUMNS.values())


@pytest.mark.parametrize("lang", ["", "fr", None])
def test_unknown_language_is_refused(lang):
    with pytest.raises(ValueError):
        build(ListSettings(), [], [], TODAY, lang=lang)
