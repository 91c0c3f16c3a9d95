"""The characters no typed record holds (server.domain.text), by table."""

from __future__ import annotations

import pytest

from server.domain.text import bad_characters_message, has_bad_characters


@pytest.mark.parametrize(("value", "in_text", "in_line"), [
    ("张建国 和平路1号", False, False),
    ("住房简陋\r\n漏雨\t见附页", False, True),      # line breaks and tabs: several lines only
    ("自有住房\u300045平方米", False, False),        # a full-width space is text
    ("a\x00b", True, True), ("a\x07b", True, True), ("a\x1bb", True, True), ("a\x7fb", True, True),
    ("a\x85b", True, True), ("a\x9fb", True, True),
    ("gpj\u202eexe", True, True), ("a\u202ab", True, True), ("a\u2066b\u2069", True, True),
    ("a\u200eb", True, True), ("a\u200fb", True, True), ("a\u061cb", True, True),
    ("a\u200db", False, False),                        # a zero-width joiner belongs to some scripts' text
])
def test_what_is_refused(value, in_text, in_line):
    assert has_bad_characters(value) is in_text
    assert has_bad_characters(value, line=True) is in_line


def test_the_refusal_names_the_field_in_both_languages():
    zh, en = bad_characters_message("姓名", "The name")
    assert zh.startswith("姓名含有控制字符") and en.startswith("The name contains a control character")
