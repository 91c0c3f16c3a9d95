"""The working-day clock: national calendar, make-up weekends, overrides, provisional fallback.

Expected dates were checked against chinesecalendar 1.11.0 (2004-2026) by walking the days through
``chinese_calendar.is_workday``. The shared vectors in ``tests/fixtures/calendar_vectors.json`` are
also read by the PWA's tests.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import chinese_calendar
import pytest

from server.domain.calendar import (
    DUE_SOON,
    NATIONAL,
    OK,
    OVERDUE,
    PACKAGE_YEARS,
    CalendarOverrideError,
    Deadline,
    WorkCalendar,
    WorkdayCount,
    deadline_status,
)

D = dt.date.fromisoformat
VECTORS = json.loads((Path(__file__).parents[1] / "fixtures" / "calendar_vectors.json").read_text("utf-8"))


def calendar_for(override: str | None) -> WorkCalendar:
    if override is None:
        return NATIONAL
    spec = VECTORS["overrides"][override]
    return WorkCalendar(
        holidays=[D(x) for x in spec["holidays"]],
        workdays=[D(x) for x in spec["workdays"]],
        source=override,
    )


def vectors(section: str) -> list:
    return [pytest.param(v, id=v["id"]) for v in VECTORS[section]]


# --------------------------------------------------------------------------- shared vectors


@pytest.mark.parametrize("v", vectors("add_workdays"))
def test_add_workdays_vectors(v):
    result = calendar_for(v["override"]).add_workdays(D(v["start"]), v["n"])
    assert result == Deadline(D(v["expect"]), v["provisional"])


@pytest.mark.parametrize("v", vectors("workdays_between"))
def test_workdays_between_vectors(v):
    result = calendar_for(v["override"]).workdays_between(D(v["start"]), D(v["end"]))
    assert result == WorkdayCount(v["expect"], v["provisional"])


@pytest.mark.parametrize("v", vectors("deadline_status"))
def test_deadline_status_vectors(v):
    cal = calendar_for(v["override"])
    assert (
        deadline_status(D(v["today"]), D(v["deadline"]), cal, warn_workdays=v["warn_workdays"]) == v["expect"]
    )


@pytest.mark.parametrize("v", vectors("add_calendar_days"))
def test_add_calendar_days_vectors(v):
    assert NATIONAL.add_calendar_days(D(v["start"]), v["n"]) == Deadline(D(v["expect"]), v["provisional"])


def test_vector_overrides_parse_identically_from_toml():
    """The fixture's JSON overrides mean the same as the TOML a deployment would write."""
    for name, spec in VECTORS["overrides"].items():
        text = f"holidays = {json.dumps(spec['holidays'])}\nworkdays = {json.dumps(spec['workdays'])}\n"
        from_toml = WorkCalendar.from_toml_text(text, source=name)
        assert from_toml.override_holidays == calendar_for(name).override_holidays
        assert from_toml.override_workdays == calendar_for(name).override_workdays


# --------------------------------------------------------------------------- single days


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2025-09-26", (True, True)),  # Friday
        ("2025-09-27", (False, True)),  # Saturday
        ("2025-09-28", (True, True)),  # Sunday, make-up workday for National Day
        ("2025-10-01", (False, True)),  # National Day
        ("2025-10-06", (False, True)),  # Mid-Autumn, inside the National Day break
        ("2025-10-08", (False, True)),  # last day off
        ("2025-10-09", (True, True)),
        ("2025-10-11", (True, True)),  # Saturday, make-up workday
        ("2026-01-02", (False, True)),  # Friday off for New Year
        ("2026-01-04", (True, True)),  # Sunday, make-up workday
        ("2026-02-14", (True, True)),  # Saturday, make-up workday before Spring Festival
        ("2026-02-15", (False, True)),  # first day of Spring Festival
        ("2026-02-23", (False, True)),  # Monday, last day of Spring Festival
        ("2026-02-24", (True, True)),
        ("2026-02-28", (True, True)),  # Saturday, make-up workday after Spring Festival
        ("2026-12-31", (True, True)),  # last known day
        ("2027-01-01", (True, False)),  # unknown year: Monday-Friday guess, not known
        ("2027-01-02", (False, False)),
        ("2003-12-31", (True, False)),  # before the package's first year
        ("2004-01-01", (False, True)),
    ],
)
def test_classify_national(day, expected):
    assert NATIONAL.classify(D(day)) == expected
    assert NATIONAL.is_workday(D(day)) is expected[0]


def test_classify_matches_package_on_every_known_day():
    day, one = dt.date(2004, 1, 1), dt.timedelta(days=1)
    mismatches = []
    while day <= dt.date(2026, 12, 31):
        if NATIONAL.classify(day) != (chinese_calendar.is_workday(day), True):
            mismatches.append(day)
        day += one
    assert mismatches == []


@pytest.mark.parametrize("year", [2003, 2027])
def test_package_boundary_years_still_unknown(year):
    """If a new chinesecalendar release knows these years, the vectors above need revisiting."""
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    assert year not in PACKAGE_YEARS


def test_known_years():
    assert PACKAGE_YEARS == frozenset(range(2004, 2027))
    assert NATIONAL.known_years() == PACKAGE_YEARS
    assert calendar_for("new_year_2027").known_years() == PACKAGE_YEARS | {2027}


@pytest.mark.parametrize(
    ("override", "day", "expected"),
    [
        ("local_2025_11", "2025-11-03", (False, True)),  # weekday made a holiday
        ("local_2025_11", "2025-11-08", (True, True)),  # Saturday made a workday
        ("local_2025_11", "2025-11-09", (False, True)),  # neighbouring Sunday unchanged
        ("local_2025_11", "2025-11-04", (True, True)),  # neighbouring Tuesday unchanged
        ("flip_national_day_2025", "2025-10-08", (True, True)),  # package holiday made a workday
        ("flip_national_day_2025", "2025-10-11", (False, True)),  # package make-up day made a holiday
        ("flip_national_day_2025", "2025-10-07", (False, True)),  # rest of the package's break kept
        ("new_year_2027", "2027-01-01", (False, True)),  # listed
        ("new_year_2027", "2027-01-04", (True, True)),  # unlisted Monday in an override year: known
        ("new_year_2027", "2027-01-09", (False, True)),  # unlisted Saturday in an override year: known
        ("new_year_2027", "2028-01-03", (True, False)),  # the following year stays unknown
        ("new_year_2027", "2026-02-14", (True, True)),  # package years untouched
    ],
)
def test_classify_with_override(override, day, expected):
    assert calendar_for(override).classify(D(day)) == expected


# --------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("override", [None, "new_year_2027", "local_2025_11"])
@pytest.mark.parametrize("n", [1, 2, 5, 15, 25, 30])
def test_add_and_count_are_inverse(override, n):
    """For every start from late 2025 to early 2028, counting back the result gives n again."""
    cal = calendar_for(override)
    start = dt.date(2025, 9, 1)
    while start <= dt.date(2028, 2, 1):
        deadline = cal.add_workdays(start, n)
        assert cal.is_workday(deadline.date), (start, n)
        assert deadline.date > start
        assert cal.workdays_between(start, deadline.date) == WorkdayCount(n, deadline.provisional), (start, n)
        assert cal.workdays_between(start, deadline.date - dt.timedelta(days=1)).days == n - 1, (start, n)
        start += dt.timedelta(days=1)


def test_workdays_between_matches_day_by_day_count():
    cal = calendar_for("local_2025_11")
    start = dt.date(2025, 10, 15)
    for length in range(0, 120):
        end = start + dt.timedelta(days=length)
        walked = sum(cal.is_workday(start + dt.timedelta(days=k)) for k in range(1, length + 1))
        assert cal.workdays_between(start, end).days == walked, end


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("start", "n", "error"),
    [
        (dt.date(2025, 9, 26), -1, ValueError),
        (dt.date(2025, 9, 26), -25, ValueError),
        (dt.date(2025, 9, 26), 2.0, TypeError),
        (dt.date(2025, 9, 26), True, TypeError),
        (dt.date(2025, 9, 26), "5", TypeError),
        (dt.datetime(2025, 9, 26, 9, 30), 5, TypeError),
        ("2025-09-26", 5, TypeError),
        (dt.date(9999, 12, 30), 5, ValueError),
    ],
)
def test_add_workdays_rejects(start, n, error):
    with pytest.raises(error):
        NATIONAL.add_workdays(start, n)


@pytest.mark.parametrize(
    ("start", "n", "error"),
    [
        (dt.date(2025, 9, 26), -7, ValueError),
        (dt.date(2025, 9, 26), 7.0, TypeError),
        (dt.date(9999, 12, 30), 7, ValueError),
    ],
)
def test_add_calendar_days_rejects(start, n, error):
    with pytest.raises(error):
        NATIONAL.add_calendar_days(start, n)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"warn_workdays": -1}, ValueError),
        ({"warn_workdays": 1.5}, TypeError),
        ({"today": dt.datetime(2025, 11, 6, 8, 0)}, TypeError),
    ],
)
def test_deadline_status_rejects(kwargs, error):
    args = {"today": dt.date(2025, 11, 6), "deadline": dt.date(2025, 11, 6), "cal": NATIONAL, **kwargs}
    with pytest.raises(error):
        deadline_status(**args)


@pytest.mark.parametrize(
    ("today", "expected"),
    [("2025-11-07", OVERDUE), ("2025-11-05", DUE_SOON), ("2025-10-30", OK)],
)
def test_deadline_status_accepts_a_deadline_object(today, expected):
    deadline = NATIONAL.add_workdays(D("2025-09-26"), 25)
    assert deadline_status(D(today), deadline, NATIONAL) == expected


@pytest.mark.parametrize(
    ("deadline", "iso", "text"),
    [
        (Deadline(dt.date(2025, 10, 31), False), "2025-10-31", "2025-10-31"),
        (Deadline(dt.date(2027, 1, 5), True), "2027-01-05", "2027-01-05 (provisional)"),
    ],
)
def test_deadline_formatting(deadline, iso, text):
    assert deadline.isoformat() == iso
    assert str(deadline) == text


# --------------------------------------------------------------------------- override parsing


@pytest.mark.parametrize(
    ("text", "holidays", "workdays"),
    [
        ("", set(), set()),
        ("# nothing yet\n", set(), set()),
        ("holidays = []\nworkdays = []\n", set(), set()),
        ("holidays = [2027-01-01]\n", {"2027-01-01"}, set()),
        ('holidays = ["2027-01-01"]\n', {"2027-01-01"}, set()),
        ('workdays = [2027-02-20, "2027-02-27"]\n', set(), {"2027-02-20", "2027-02-27"}),
        (
            'holidays = [\n  2027-02-15, # 春节\n  "2027-02-16",\n]\nworkdays = [2027-02-20]\n',
            {"2027-02-15", "2027-02-16"},
            {"2027-02-20"},
        ),
        ("holidays = [2027-01-01, 2027-01-01]\n", {"2027-01-01"}, set()),  # repeats are harmless
    ],
)
def test_from_toml_text_accepts(text, holidays, workdays):
    cal = WorkCalendar.from_toml_text(text, source="calendar.toml")
    assert cal.override_holidays == {D(x) for x in holidays}
    assert cal.override_workdays == {D(x) for x in workdays}
    assert cal.source == "calendar.toml"


SOURCE = "/etc/ruhu/calendar-2027.toml"


@pytest.mark.parametrize(
    ("text", "key", "fragments"),
    [
        pytest.param("holiday = [2027-01-01]\n", "holiday", ['"holiday"'], id="unknown-key"),
        pytest.param("[extra]\nx = 1\n", "extra", ['"extra"'], id="unknown-table"),
        pytest.param('holidays = "2027-01-01"\n', "holidays", ["string"], id="key-not-an-array"),
        pytest.param("[holidays]\nnew_year = 2027-01-01\n", "holidays", ["table"], id="key-is-a-table"),
        pytest.param("holidays = [20270101]\n", "holidays", ["20270101", "integer"], id="item-integer"),
        pytest.param(
            "workdays = [2027-02-20T09:00:00]\n",
            "workdays",
            ["2027-02-20T09:00:00", "datetime"],
            id="item-datetime",
        ),
        pytest.param("holidays = [[2027-01-01]]\n", "holidays", ["array"], id="item-nested-array"),
        pytest.param('holidays = ["2027-13-01"]\n', "holidays", ['"2027-13-01"'], id="month-13"),
        pytest.param('holidays = ["2027-02-30"]\n', "holidays", ['"2027-02-30"'], id="february-30"),
        pytest.param('holidays = ["20270101"]\n', "holidays", ['"20270101"'], id="basic-iso-format"),
        pytest.param('holidays = ["2027-W01-5"]\n', "holidays", ['"2027-W01-5"'], id="iso-week-date"),
        pytest.param('holidays = [" 2027-01-01"]\n', "holidays", ['" 2027-01-01"'], id="padded"),
        pytest.param('workdays = ["next monday"]\n', "workdays", ['"next monday"'], id="prose"),
        pytest.param(
            'holidays = [2027-01-01]\nworkdays = ["2027-01-01"]\n',
            "holidays/workdays",
            ["2027-01-01", "holidays", "workdays"],
            id="date-in-both-lists",
        ),
        pytest.param("holidays = [2027-01-01\n", None, ["TOML"], id="invalid-toml"),
        pytest.param("holidays = [2027-01-01]\nholidays = []\n", None, ["TOML"], id="duplicate-key"),
    ],
)
def test_from_toml_text_rejects(text, key, fragments):
    with pytest.raises(CalendarOverrideError) as caught:
        WorkCalendar.from_toml_text(text, source=SOURCE)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.source == SOURCE
    assert error.key == key
    for message in (error.message, error.message_en, str(error)):
        assert SOURCE in message
        if key is not None:
            assert key.split("/")[0] in message
    for fragment in fragments:
        assert fragment.strip('"') in error.message_en
        assert fragment.strip('"') in error.message
    assert "节假日覆盖文件" in error.message
    assert "calendar override" in error.message_en


def test_item_errors_name_the_position():
    with pytest.raises(CalendarOverrideError) as caught:
        WorkCalendar.from_toml_text('holidays = [2027-01-01, "2027-01-02", "2027-01-32"]\n', source=SOURCE)
    assert "holidays item 3" in caught.value.message_en
    assert "holidays 第 3 项" in caught.value.message
    assert caught.value.item == "2027-01-32"


@pytest.mark.parametrize(
    ("holidays", "workdays", "error"),
    [
        ([dt.date(2027, 1, 1)], [dt.date(2027, 1, 1)], CalendarOverrideError),
        (["2027-01-01"], [], TypeError),
        ([dt.datetime(2027, 1, 1)], [], TypeError),
    ],
)
def test_constructor_rejects(holidays, workdays, error):
    with pytest.raises(error):
        WorkCalendar(holidays=holidays, workdays=workdays)


# --------------------------------------------------------------------------- override files


def test_from_file_none_is_national():
    cal = WorkCalendar.from_file(None)
    assert cal.source is None
    assert cal.known_years() == PACKAGE_YEARS
    assert cal.add_workdays(D("2025-09-26"), 25) == Deadline(D("2025-11-06"), False)


def test_from_file_missing_path_is_national(tmp_path):
    cal = WorkCalendar.from_file(tmp_path / "no-such-calendar.toml")
    assert cal.source is None
    assert cal.add_workdays(D("2026-12-25"), 5) == Deadline(D("2027-01-01"), True)


@pytest.mark.parametrize(
    "content",
    [
        b"holidays = [2027-01-01]\n",
        b'holidays = ["2027-01-01"]\r\n',
        b"\xef\xbb\xbfholidays = [2027-01-01] # \xe5\x85\x83\xe6\x97\xa6\n",  # BOM and a Chinese comment
    ],
)
def test_from_file_reads_override(tmp_path, content):
    path = tmp_path / "calendar.toml"
    path.write_bytes(content)
    cal = WorkCalendar.from_file(path)
    assert cal.source == str(path)
    assert cal.add_workdays(D("2026-12-25"), 5) == Deadline(D("2027-01-04"), False)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"holidays = [2027-01-01\n", "TOML"),
        (b"holidays = [2027-01-01]\nextra = 1\n", "extra"),
        (b'holidays = ["2027-1-1"]\n', "2027-1-1"),
        (b"# \xd4\xaa\xb5\xa9 in GBK\nholidays = []\n", "UTF-8"),
    ],
)
def test_from_file_invalid_names_the_path(tmp_path, content, fragment):
    path = tmp_path / "calendar.toml"
    path.write_bytes(content)
    with pytest.raises(CalendarOverrideError) as caught:
        WorkCalendar.from_file(path)
    assert str(path) in caught.value.message
    assert str(path) in caught.value.message_en
    assert fragment in caught.value.message_en


def test_from_file_unreadable_names_the_path(tmp_path):
    with pytest.raises(CalendarOverrideError) as caught:
        WorkCalendar.from_file(tmp_path)  # a directory
    assert str(tmp_path) in caught.value.message
    assert str(tmp_path) in caught.value.message_en
