"""The number guard: ID-, phone- and account-number-like runs however they are typed; dates, amounts,
counts and the published tip-off line are not numbers to hide."""

from __future__ import annotations

import pytest

from server.domain.numberguard import MIN_DIGITS, digits_of, find, normalise, visible_text

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize(("text", "kind"), [
    ("13812345678", "mobile"),
    ("138.1234.5678", "mobile"),                          # dots
    ("138/1234/5678", "mobile"),                          # slashes
    ("138\u00a01234\u00a05678", "mobile"),                # non-breaking spaces
    ("138\u20091234\u20095678", "mobile"),                # thin spaces
    ("138\u200b1234\u200b5678", "mobile"),                # zero-width spaces
    ("138－1234－5678", "mobile"),                         # full-width hyphen-minus
    ("138—1234—5678", "mobile"),                          # em dashes
    ("138～1234～5678", "mobile"),                          # full-width tildes
    ("2025-11-13-2026-11-12", "long_number"),             # dates glued by their own separator are not dates
    ("138 · 1234 · 5678", "mobile"),                      # middle dots with spaces
    ("138。1234。5678", "mobile"),                         # ideographic full stops
    ("１３８１２３４５６７８", "mobile"),                   # full-width digits
    ("13812345678".translate(ARABIC_INDIC), "mobile"),    # Arabic-Indic digits
    ("138 1234 5678".translate(DEVANAGARI), "mobile"),    # Devanagari digits
    ("电话：+86 138 1234 5678", "long_number"),            # 13 digits with the country code
    ("410104　195205　216770", "id_number"),               # ideographic spaces, as input methods type
    ("410104195205216770", "id_number"),
    ("41010419520521677X", "id_number"),                  # 17 digits and the check letter
    ("41010419520521677Ｘ", "id_number"),
    ("410104-1952-05-21-6770", "id_number"),              # a date inside a number is not a date
    ("410104 - 1952-05-21 - 6770", "id_number"),          # nor with other separators around the date
    ("410104 / 1952-05-21 / 6770", "id_number"),
    ("410104 – 1952-05-21 – 6770", "id_number"),          # en dashes (read as a range mark)
    ("身份证 410104 · 1952.05.21 · 6770 号", "id_number"),
    ("410104 – 1952-05-21 – 103X", "id_number"),          # and its check letter
    ("410104195205216", "id_number"),                     # the old 15-digit numbers
    ("0371-66123456", "long_number"),                     # landline with area code
    ("66123456", "long_number"),
    ("6222 0202 0000 1234 567", "long_number"),           # bank account
    ("13812345678.00", "long_number"),                    # too many digits to be an amount
    ("①③⑧①②③④⑤⑥⑦⑧", "mobile"),                           # circled digits fold to ASCII
])
def test_numbers_are_found_however_typed(text, kind):
    (finding,) = find(text)
    assert finding.kind == kind
    assert len(finding.digits) >= MIN_DIGITS and finding.digits.isascii() and finding.digits.isdigit()


@pytest.mark.parametrize("text", [
    "公示开始 2026-11-20 · 最早结束 2026-11-30 · 还剩3天",
    "2026-11-20 · 2026-11-30",                            # two dates joined by a separator
    "2026/11/20 2026/11/30",
    "2026-11-03，2名调查人员入户核实",
    "2025-11-05，评议结论：属实（评议6人，其中居（村）民代表4人）",
    "682.00 1234.56",                                     # amounts side by side
    "家庭月收入12000.00元",
    "3 682.00",
    "123456",                                             # six digits
    "回执号 261122-ABCD2345",
    "2026-11-30 12:30:45",
    "有效期限 2025-11-13 — 2026-11-12",                     # a range of dates
    "2025-11-13—2026-11-12",
    "2025-11-13～2026-11-12",
    "410104 / 1952-05-21 / 6771",                          # the same shape with a wrong check character
    "编号 123456 / 2025-11-05 / 0001",
    "",
])
def test_page_text_is_not_a_number(text):
    assert find(text) == []


def test_the_published_tipoff_line_is_allowed_in_any_format():
    assert find("监督举报电话：0919-0000000", allowed=["0919-0000000"]) == []
    assert find("监督举报电话：0919 0000000", allowed=["0919-0000000"]) == []
    assert find("电话 0919-1234567", allowed=["0919-0000000"]) != []


def test_what_the_reader_typed_may_be_shown_back():
    echoed = digits_of(["138.1234.5678", "短"])
    assert echoed == ("13812345678",)
    assert find("您填写的电话：13812345678", echoed=echoed) == []
    assert find("您填写的电话：13812345679", echoed=echoed) != []
    assert digits_of(["a1b2c3d4e5f6g7h8", "电话 138 1234 5678，身份证410104195205216770"]) == (
        "13812345678", "410104195205216770")


def test_findings_never_print_the_number():
    (finding,) = find("13812345678")
    assert "13812345678" not in repr(finding) and "1381234" not in repr(finding)


def test_tags_break_runs_and_references_are_decoded():
    assert find(visible_text("<td>1234</td><td>5678</td><td>90</td>")) == []
    assert find(visible_text('<a href="/b/a1234567890b">公示栏</a>')) == []      # markup is not text
    assert find(visible_text("<p>138&#12288;1234&#x3000;5678</p>")) != []         # character references


def test_normalise():
    assert normalise("１３８\u30001234\u00a05٦٧٨") == "138 1234 5678"
    with pytest.raises(TypeError):
        normalise(None)
