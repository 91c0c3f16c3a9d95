"""Rules profiles: the two shipped ones, strict validation with exact keys, deployment directories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from server.domain.benefit import Standard, standard_in_force
from server.rules import BUILTIN_DIR, ProfileError, load_profile_file, load_profiles, parse_profile

D = dt.date.fromisoformat
GUANCHENG_TEXT = (BUILTIN_DIR / "guancheng.toml").read_text("utf-8")
YIJUN_TEXT = (BUILTIN_DIR / "yijun.toml").read_text("utf-8")
SOURCE = "部署/guancheng-edited.toml"


def edit(old: str, new: str, text: str = GUANCHENG_TEXT) -> str:
    """Replace the one occurrence of ``old`` (an edit that matches nothing or twice is a broken test)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def dig(profile, path: str):
    value = profile
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.fixture(scope="module")
def profiles():
    return load_profiles()


# --- the shipped profiles ---------------------------------------------------------------------------------

def test_both_shipped_profiles_load(profiles):
    assert set(profiles) == {"guancheng", "yijun"}
    for pid, profile in profiles.items():
        assert profile.id == pid
        assert Path(profile.source) == BUILTIN_DIR / f"{pid}.toml"
        assert profile.name


@pytest.mark.parametrize("profile_id, path, expected", [
    ("guancheng", "deadlines.overall", 25),
    ("yijun", "deadlines.overall", 30),
    ("guancheng", "deadlines.objection_redecision", 15),
    ("yijun", "deadlines.objection_redecision", 15),
    ("guancheng", "deadlines.home_visit", 5),
    ("yijun", "deadlines.verification_request", 5),
    ("guancheng", "deadlines.appraisal", 5),
    ("yijun", "deadlines.review", 5),
    ("guancheng", "deadlines.approval", 5),
    ("guancheng", "deadlines.meeting", 0),
    ("yijun", "deadlines.meeting", 5),
    ("guancheng", "home_visit.min_team", 2),
    ("yijun", "home_visit.min_team", 2),
    ("guancheng", "home_visit.investigator_signatures", True),
    ("yijun", "home_visit.applicant_signature", True),
    ("guancheng", "resident_share", Fraction(2, 3)),
    ("yijun", "resident_share", Fraction(2, 3)),
    ("guancheng", "appraisal.all_members_sign", True),
    ("yijun", "appraisal.disputed_returns_to_investigation", True),
    ("guancheng", "spot_check.share", Decimal("0.30")),
    ("yijun", "spot_check.share", Decimal("0.30")),
    ("guancheng", "publicity.minimum", 7),
    ("yijun", "publicity.minimum", 7),
    ("guancheng", "publicity.unit", "calendar_days"),
    ("yijun", "publicity.unit", "calendar_days"),
    ("yijun", "publicity.republish_after_objection", True),
    ("guancheng", "meeting.required", False),
    ("yijun", "meeting.required", True),
    ("guancheng", "has_meeting", False),
    ("yijun", "has_meeting", True),
    ("guancheng", "intake.fingerprint", False),
    ("yijun", "intake.fingerprint", True),
    ("yijun", "intake.applicant_signature", True),
    ("guancheng", "data.standards.placeholder", True),  # profile.standards is the tuple of Standard
    ("yijun", "data.standards.placeholder", False),
    ("guancheng", "public_list.name", "masked"),
    ("yijun", "public_list.name", "masked"),
    ("guancheng", "money.roster_due_day", 25),
    ("yijun", "money.roster_due_day", 10),
    ("yijun", "money.finance_day", 15),
    ("guancheng", "gradual_exit.months", 6),
    ("yijun", "gradual_exit.percentages", [100, 100, 80, 80, 60, 60]),
    ("yijun", "assessment.enabled", True),
    ("yijun", "assessment.bonus_cap", 5),
    ("guancheng", "profile.approving_unit_levels", ["street_office"]),
])
def test_key_numbers(profiles, profile_id, path, expected):
    value = dig(profiles[profile_id], path)
    assert value == expected
    assert type(value) is type(expected)


def test_guancheng_standards_are_a_marked_placeholder(profiles):
    profile = profiles["guancheng"]
    assert profile.data.standards.placeholder is True
    assert "PLACEHOLDER" in GUANCHENG_TEXT


@pytest.mark.parametrize("area, amount, period", [("urban", "682.00", "month"), ("rural", "6277.00", "year")])
def test_yijun_standards_from_october_2025(profiles, area, amount, period):
    standards = profiles["yijun"].standards
    assert all(isinstance(s, Standard) for s in standards)
    expected = Standard(area=area, effective=D("2025-10-01"), amount=Decimal(amount), period=period)
    assert expected in standards
    found = standard_in_force(standards, area, D("2025-10-01"))
    assert str(found.amount) == amount and found.period == period
    assert profiles["yijun"].data.standards["items"] == [
        {"area": "urban", "effective": D("2025-10-01"), "amount": Decimal("682.00"), "period": "month"},
        {"area": "rural", "effective": D("2025-10-01"), "amount": Decimal("6277.00"), "period": "year"},
    ]


@pytest.mark.parametrize("profile_id", ["guancheng", "yijun"])
def test_required_materials(profiles, profile_id):
    required = [m.code for m in profiles[profile_id].materials if m.required]
    assert required == ["application", "hukou_id", "income_property_statement", "integrity_pledge",
                        "verification_authorisation"]


@pytest.mark.parametrize("profile_id, household_class, months", [
    ("yijun", "stable", 12),
    ("yijun", "irregular_income", 6),
    ("yijun", "no_such_class", 6),
    ("guancheng", "stable", 6),
])
def test_review_intervals(profiles, profile_id, household_class, months):
    assert profiles[profile_id].review_interval(household_class) == months


def test_sections_are_read_only_mappings(profiles):
    deadlines = profiles["guancheng"].deadlines
    assert deadlines["overall"] == 25
    assert "overall" in deadlines and len(deadlines) == 10
    with pytest.raises(AttributeError):
        _ = deadlines.no_such_key
    with pytest.raises(TypeError):
        deadlines["overall"] = 1  # type: ignore[index]


def test_the_shipped_texts_parse_under_any_source_name():
    assert parse_profile(GUANCHENG_TEXT, SOURCE).source == SOURCE
    assert parse_profile(YIJUN_TEXT, "x.toml").id == "yijun"


# --- validation: each broken edit names the exact key and the source ------------------------------------

WARN_LINE = "warn_workdays = 2            # due within this many working days -> amber\n"
URBAN_AMOUNT = 'effective = 2025-01-01\namount = "700.00"'

BROKEN = [
    # id, old, new, key
    ("unknown-top-level-key", "[profile]\n", 'colour = "red"\n\n[profile]\n', "colour"),
    ("unknown-section", "[spot_check]", "[spot_checks]", "spot_checks"),
    ("unknown-key-in-section", WARN_LINE, WARN_LINE + "warn_days = 2\n", "deadlines.warn_days"),
    ("unknown-key-in-home-visit", "min_team = 2", "min_team = 2\nmax_team = 4", "home_visit.max_team"),
    ("unknown-key-in-table-array", 'code = "application"', 'code = "application"\ncolour = "red"',
     "intake.materials[0].colour"),
    ("unknown-key-in-second-standard", 'area = "rural"', 'area = "rural"\nunit = "yuan"', "standards.items[1].unit"),
    ("missing-key", WARN_LINE, "", "deadlines.warn_workdays"),
    ("missing-key-meeting", "[meeting]\nrequired = false\n", "[meeting]\n", "meeting.required"),
    ("missing-section", '[spot_check]\nshare = "0.30"\n', "", "spot_check"),
    ("missing-key-in-table-array", 'name_en = "Written application"\n', "", "intake.materials[0].name_en"),
    ("missing-default-interval", "default = 6\n", "", "review_intervals.default"),
    ("string-for-int", "overall = 25 ", 'overall = "25" ', "deadlines.overall"),
    ("float-for-int", "overall = 25 ", "overall = 25.0 ", "deadlines.overall"),
    ("bool-for-int", "min_team = 2", "min_team = true", "home_visit.min_team"),
    ("int-for-bool", "fingerprint = false", "fingerprint = 0", "intake.fingerprint"),
    ("string-for-bool", "republish_after_objection = true", 'republish_after_objection = "yes"',
     "publicity.republish_after_objection"),
    ("float-for-money", 'amount = "700.00"', "amount = 700.00", "standards.items[0].amount"),
    ("int-for-money", 'amount = "6000.00"', "amount = 6000", "standards.items[1].amount"),
    ("float-for-share", 'share = "0.30"', "share = 0.30", "spot_check.share"),
    ("string-for-list", 'board_levels = ["community"] ', 'board_levels = "community" ', "publicity.board_levels"),
    ("bad-choice", 'unit = "calendar_days"', 'unit = "weeks"', "publicity.unit"),
    ("bad-choice-name", 'name = "masked"', 'name = "initials"', "public_list.name"),
    ("bad-choice-in-list", 'approving_unit_levels = ["street_office"]',
     'approving_unit_levels = ["street_office", "province"]', "profile.approving_unit_levels[1]"),
    ("bad-choice-in-table-array", 'period = "month"', 'period = "week"', "standards.items[0].period"),
    ("bad-choice-method", 'method = "gap"', 'method = "flat"', "benefit.method"),
    ("negative-posint", "overall = 25 ", "overall = -25 ", "deadlines.overall"),
    ("zero-posint", "overall = 25 ", "overall = 0 ", "deadlines.overall"),
    ("negative-nonneg", "warn_workdays = 2 ", "warn_workdays = -1 ", "deadlines.warn_workdays"),
    ("negative-interval", "stable = 6", "stable = -6", "review_intervals.stable"),
    ("percent-over-100", "percentages = [100, 100, 80, 80, 60, 60]", "percentages = [100, 100, 80, 80, 60, 120]",
     "gradual_exit.percentages[5]"),
    ("day-29", "roster_due_day = 25", "roster_due_day = 29", "money.roster_due_day"),
    ("zero-min-panel", "min_panel = 3", "min_panel = 0", "appraisal.min_panel"),
    ("missing-min-panel", "min_panel = 3", "", "appraisal.min_panel"),
    ("zero-min-attendees", "min_attendees = 2", "min_attendees = 0", "meeting.min_attendees"),
    ("missing-min-attendees", "min_attendees = 2", "", "meeting.min_attendees"),
    ("bad-roster-signer", 'roster_signer = "director"', 'roster_signer = "caseworker"', "money.roster_signer"),
    ("bool-staff-fill-forms", "staff_fill_forms = []", "staff_fill_forms = false", "intake.staff_fill_forms"),
    ("staff-fill-unknown-material", "staff_fill_forms = []", 'staff_fill_forms = ["pledge"]',
     "intake.staff_fill_forms[0]"),
    ("situational-unknown-flag", 'flag = "student"', 'flag = "pensioner"', "intake.situational[2].flag"),
    ("situational-unknown-material", 'material = "student_papers"', 'material = "school_card"',
     "intake.situational[2].material"),
    ("money-three-decimals", 'amount = "700.00"', 'amount = "682.123"', "standards.items[0].amount"),
    ("money-negative", 'amount = "700.00"', 'amount = "-5"', "standards.items[0].amount"),
    ("money-text", 'amount = "700.00"', 'amount = "seven hundred"', "standards.items[0].amount"),
    ("money-empty", 'amount = "700.00"', 'amount = ""', "standards.items[0].amount"),
    ("money-nan", 'amount = "700.00"', 'amount = "NaN"', "standards.items[0].amount"),
    ("money-negative-supplement", 'elderly = "0.00"', 'elderly = "-1.00"', "benefit.supplements.elderly"),
    ("share-over-one", 'share = "0.30"', 'share = "1.5"', "spot_check.share"),
    ("share-percent-sign", 'share = "0.30"', 'share = "30%"', "spot_check.share"),
    ("share-negative", 'share = "0.30"', 'share = "-0.1"', "spot_check.share"),
    ("bad-date", URBAN_AMOUNT, 'effective = "2025-13-01"\namount = "700.00"', "standards.items[0].effective"),
    ("bad-date-feb-30", URBAN_AMOUNT, 'effective = "2025-02-30"\namount = "700.00"', "standards.items[0].effective"),
    ("datetime-for-date", URBAN_AMOUNT, 'effective = 2025-01-01T08:00:00\namount = "700.00"',
     "standards.items[0].effective"),
    ("int-for-date", URBAN_AMOUNT, 'effective = 20250101\namount = "700.00"', "standards.items[0].effective"),
    ("toml-syntax-error", "overall = 25 ", "overall = = 25 ", "(TOML)"),
    ("toml-duplicate-key", WARN_LINE, WARN_LINE + "overall = 20\n", "(TOML)"),
    ("toml-unclosed-string", 'region = "河南省郑州市管城回族区"', 'region = "河南省郑州市管城回族区', "(TOML)"),
    ("gradual-exit-count-mismatch", "months = 6", "months = 5", "gradual_exit.percentages"),
    ("gradual-exit-count-mismatch-list", "percentages = [100, 100, 80, 80, 60, 60]",
     "percentages = [100, 100, 80]", "gradual_exit.percentages"),
    ("numerator-over-denominator", "resident_share_numerator = 2", "resident_share_numerator = 4",
     "appraisal.resident_share_numerator"),
    ("zero-denominator", "resident_share_denominator = 3", "resident_share_denominator = 0",
     "appraisal.resident_share_denominator"),
    ("bad-ident", 'id = "guancheng"', 'id = "Guan-cheng"', "profile.id"),
    ("blank-string", 'region = "河南省郑州市管城回族区"', 'region = "   "', "profile.region"),
    ("empty-approvers", 'approving_unit_levels = ["street_office"]', "approving_unit_levels = []",
     "profile.approving_unit_levels"),
    ("empty-boards", 'board_levels = ["community"] ', "board_levels = [] ", "publicity.board_levels"),
    ("duplicate-material-code", 'code = "hukou_id"', 'code = "application"', "intake.materials"),
    ("duplicate-standard", 'area = "rural"\neffective = 2025-01-01\namount = "6000.00"\nperiod = "year"',
     'area = "urban"\neffective = 2025-01-01\namount = "6000.00"\nperiod = "month"', "standards.items[1]"),
    ("meeting-without-limit", "[meeting]\nrequired = false", "[meeting]\nrequired = true", "deadlines.meeting"),
    ("tiers-without-tiers", 'method = "gap"', 'method = "tiers"', "benefit.tiers"),
    ("empty-supplements", 'elderly = "0.00"\nminor = "0.00"\nseverely_disabled = "0.00"\nseriously_ill = "0.00"\n',
     "", "benefit.supplements"),
]


@pytest.mark.parametrize("old, new, key", [pytest.param(*row[1:], id=row[0]) for row in BROKEN])
def test_a_broken_profile_names_the_key_and_the_source(old, new, key):
    text = edit(old, new)
    with pytest.raises(ProfileError) as info:
        parse_profile(text, SOURCE)
    exc = info.value
    assert exc.key == key
    assert exc.source == SOURCE
    for message in (exc.message, exc.message_en, str(exc)):
        assert SOURCE in message
        assert key in message


def test_broken_ids_are_unique():
    ids = [row[0] for row in BROKEN]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("old, new, path, expected", [
    pytest.param(URBAN_AMOUNT, 'effective = "2025-01-01"\namount = "700.00"', "effective", D("2025-01-01"),
                 id="date-as-string"),
    pytest.param('amount = "700.00"', 'amount = "682"', "amount", Decimal("682"), id="money-without-decimals"),
    pytest.param('amount = "700.00"', 'amount = "682.5"', "amount", Decimal("682.5"), id="money-one-decimal"),
])
def test_accepted_spellings(old, new, path, expected):
    profile = parse_profile(edit(old, new), SOURCE)
    assert profile.data.standards["items"][0][path] == expected


def test_a_value_where_a_section_belongs():
    text = edit('[certificate]\nvalidity_months = 12\ntitle = "城市居民最低生活保障金领取证"\n', "")
    text = edit("[profile]\n", "certificate = 12\n\n[profile]\n", text)
    with pytest.raises(ProfileError) as info:
        parse_profile(text, SOURCE)
    assert (info.value.key, info.value.source) == ("certificate", SOURCE)


def test_a_wrong_type_message_shows_the_value():
    with pytest.raises(ProfileError) as info:
        parse_profile(edit("overall = 25 ", 'overall = "25" '), SOURCE)
    assert "'25'" in info.value.message_en
    assert "positive integer" in info.value.message_en


# --- deployment directories ---------------------------------------------------------------------------------

def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_deployment_profile_with_a_new_id_is_added(tmp_path):
    path = write(tmp_path, "zhongyuan.toml", edit('id = "guancheng"', 'id = "zhongyuan"'))
    profiles = load_profiles(extra_dirs=[tmp_path])
    assert set(profiles) == {"guancheng", "yijun", "zhongyuan"}
    assert profiles["zhongyuan"].source == str(path)
    assert Path(profiles["guancheng"].source) == BUILTIN_DIR / "guancheng.toml"


def test_a_deployment_profile_replaces_the_builtin_of_the_same_id(tmp_path):
    text = edit('amount = "700.00"', 'amount = "720.00"', edit("placeholder = true", "placeholder = false"))
    path = write(tmp_path, "guancheng.toml", text)
    profiles = load_profiles(extra_dirs=[str(tmp_path)])
    assert set(profiles) == {"guancheng", "yijun"}
    assert profiles["guancheng"].source == str(path)
    assert profiles["guancheng"].standards[0].amount == Decimal("720.00")
    assert profiles["guancheng"].data.standards.placeholder is False
    assert Path(profiles["yijun"].source) == BUILTIN_DIR / "yijun.toml"


def test_the_later_directory_wins(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write(first, "guancheng.toml", edit("overall = 25 ", "overall = 20 "))
    write(second, "guancheng.toml", edit("overall = 25 ", "overall = 22 "))
    assert load_profiles(extra_dirs=[first, second])["guancheng"].deadlines.overall == 22
    assert load_profiles(extra_dirs=[second, first])["guancheng"].deadlines.overall == 20


def test_a_file_whose_id_differs_from_its_name_is_refused(tmp_path):
    path = write(tmp_path, "zhongyuan.toml", GUANCHENG_TEXT)
    with pytest.raises(ProfileError) as info:
        load_profiles(extra_dirs=[tmp_path])
    assert info.value.key == "profile.id"
    assert info.value.source == str(path)
    assert "zhongyuan" in info.value.message_en
    with pytest.raises(ProfileError):
        load_profile_file(path)


@pytest.mark.parametrize("make", ["missing", "a-file"])
def test_a_missing_directory_is_refused(tmp_path, make):
    target = tmp_path / "profiles"
    if make == "a-file":
        target.write_text("not a directory", encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profiles(extra_dirs=[target])
    assert info.value.source == str(target)
    assert str(target) in info.value.message_en


def test_a_broken_deployment_file_stops_loading(tmp_path):
    path = write(tmp_path, "guancheng.toml", edit("overall = 25 ", "overall = -1 "))
    with pytest.raises(ProfileError) as info:
        load_profiles(extra_dirs=[tmp_path])
    assert (info.value.source, info.value.key) == (str(path), "deadlines.overall")


def test_other_files_in_a_deployment_directory_are_ignored(tmp_path):
    write(tmp_path, "README.md", "# profiles\n")
    write(tmp_path, "guancheng.toml.bak", "this is = not toml [")
    assert set(load_profiles(extra_dirs=[tmp_path])) == {"guancheng", "yijun"}


def test_an_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "guancheng.toml"
    path.write_bytes(b"\xff\xfe\x00 not utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile_file(path)
    assert info.value.source == str(path)


# --- regressions found in review ------------------------------------------------------------

@pytest.mark.parametrize("old, new, key", [
    ('amount = "700.00"', 'amount = "0.00"', "standards.items[0].amount"),
    ('amount = "700.00"', 'amount = "1e3"', "standards.items[0].amount"),
    ('amount = "700.00"', 'amount = "+700"', "standards.items[0].amount"),
    ('effective = 2025-01-01', 'effective = "20250101"', "standards.items[0].effective"),
    ('effective = 2025-01-01', 'effective = "2025-W01-3"', "standards.items[0].effective"),
    ('share = "0.30"', 'share = "3e-1"', "spot_check.share"),
])
def test_lenient_forms_are_refused(old, new, key):
    text = (BUILTIN_DIR / "guancheng.toml").read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(ProfileError) as err:
        parse_profile(text.replace(old, new, 1), "g.toml")
    assert err.value.key == key


def test_placeholder_flag_is_reachable():
    profiles = load_profiles()
    assert profiles["guancheng"].standards_placeholder is True
    assert profiles["yijun"].standards_placeholder is False
