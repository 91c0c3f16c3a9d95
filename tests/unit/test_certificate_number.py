"""The certificate number is a code, not a text: it is published on the public check page (/v/<token>),
so the step refuses anything but letters, digits and hyphens, and any run of digits shaped like a mobile
or ID number.  Table-driven, literal data."""

from __future__ import annotations

import pytest

from server.domain.calendar import NATIONAL
from server.domain.workflow import (
    PreconditionFailed,
    apply,
    certificate_number,
    publishable_certificate_number,
)
from tests.unit.test_workflow import ACTORS, GOOD, PROFILES, TODAY, case_in

ACCEPTED = [
    ("GC-2025-0001", "GC-2025-0001"),
    ("gc-2025-0001", "GC-2025-0001"),                       # kept uppercase
    ("  DB410104005-2025-00001\n", "DB410104005-2025-00001"),   # the demo's: DB + the case number
    ("410104005-2025-00001", "410104005-2025-00001"),       # the console's default: the case number
    ("GC-1", "GC-1"),                                       # 4 characters, the shortest
    ("A" * 40, "A" * 40),                                   # 40, the longest
    ("1GC-", "1GC-"),                                       # a digit may start it
    ("GC-12345678901", "GC-12345678901"),                   # 11 digits, but no mobile starts 12
    ("GC-23912345678", "GC-23912345678"),                   # 11 digits not starting with 1
    ("GC-1391234567", "GC-1391234567"),                     # 10 digits
    ("GC-139123456789", "GC-139123456789"),                 # 12 digits
    ("GC-41010419520521", "GC-41010419520521"),             # 14 digits
    ("GC-4101041952052167", "GC-4101041952052167"),         # 16 digits
    ("GC-41010419520521677-A", "GC-41010419520521677-A"),   # 17 digits, not followed by X
    ("GC-139-1234-5678", "GC-139-1234-5678"),               # no whole run is 11 digits (see the public page)
]

REFUSED = [
    pytest.param("", id="empty"),
    pytest.param("GC1", id="three-characters"),
    pytest.param("A" * 41, id="forty-one-characters"),
    pytest.param("-GC-0001", id="starts-with-a-hyphen"),
    pytest.param("GC 2025 0001", id="space"),
    pytest.param("GC_2025_0001", id="underscore"),
    pytest.param("GC-2025\n0001", id="newline-inside"),
    pytest.param("GC/2025/0001", id="slash"),
    pytest.param("低保证 户主患尿毒症 住东街5号", id="typed-text"),
    pytest.param("低保证GC-0001", id="chinese-prefix"),
    pytest.param("ＧＣ-2025-0001", id="full-width-letters"),
    pytest.param("GC-２０２５-0001", id="full-width-digits"),
    pytest.param("GC-٢٠٢٥-0001", id="arabic-indic-digits"),
    pytest.param("straße-1", id="non-ascii-letter-uppercasing-to-ascii"),
    pytest.param("GC-2026-0190-13912345678", id="mobile-at-the-end"),
    pytest.param("13912345678", id="mobile-alone"),
    pytest.param("GC-19912345678-01", id="mobile-in-the-middle"),
    pytest.param("DB13812345678", id="mobile-after-letters"),
    pytest.param("GC-13912345678X", id="mobile-before-a-letter"),
    pytest.param("DB410104195205216770", id="id-18-digits"),
    pytest.param("DB41010419520521677X", id="id-17-digits-and-X"),
    pytest.param("db41010419520521677x", id="id-17-digits-and-lowercase-x"),
    pytest.param("GC-410104520521677", id="id-15-digits"),
    pytest.param("410104195205216770-GC", id="id-at-the-start"),
]


@pytest.mark.parametrize("typed, stored", ACCEPTED)
def test_a_certificate_number_of_the_right_shape_is_kept_uppercase(typed, stored):
    assert certificate_number(typed) == stored
    assert publishable_certificate_number(typed)


@pytest.mark.parametrize("typed", REFUSED)
def test_anything_else_is_refused_naming_the_field(typed):
    with pytest.raises(PreconditionFailed) as info:
        certificate_number(typed)
    error = info.value
    assert (error.code, error.status, error.details) == ("number_invalid", 422, {"field": "number"})
    assert "低保证编号" in error.message and "certificate number" in error.message_en
    assert not typed.strip() or typed.strip() not in error.message + error.message_en   # never repeated back
    assert not publishable_certificate_number(typed)


def test_a_stored_number_that_is_none_is_not_published():
    assert not publishable_certificate_number(None)


def test_the_step_refuses_a_bad_number_and_stores_a_good_one_uppercase():
    payload = {**GOOD["issue_certificate"], "number": "GC-2026-0190-13912345678"}
    with pytest.raises(PreconditionFailed) as info:
        apply(case_in("approved"), "issue_certificate", ACTORS["caseworker"], PROFILES["guancheng"], NATIONAL,
              TODAY, payload)
    assert info.value.code == "number_invalid"
    out = apply(case_in("approved"), "issue_certificate", ACTORS["caseworker"], PROFILES["guancheng"], NATIONAL,
                TODAY, {**payload, "number": " gc-2025-0001 "})
    assert out.event.data["number"] == "GC-2025-0001" and out.state.status == "certified"
