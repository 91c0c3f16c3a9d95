"""Every translatable string of the server has an English translation (Chinese is the source language)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("server/**.py", "python"), ("server/templates/**.html", "jinja2")]


def extracted() -> set[str]:
    ids = set()
    for _fn, _line, message, _comments, _ctx in extract_from_dir(str(ROOT), METHODS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_strings_are_found():
    assert "工作人员登录" in extracted()


def test_every_string_has_an_english_translation():
    with (ROOT / "server/translations/en/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(extracted() - translated)
    assert missing == [], f"untranslated: {missing}"


def test_no_message_is_translated_twice():
    """Parallel work appends to the catalogue (merged by union): a msgid added twice is caught here,
    since the compiled catalogue would keep only one of the two English texts."""
    lines = (ROOT / "server/translations/en/LC_MESSAGES/messages.po").read_text(encoding="utf-8").splitlines()
    ids = [line for line in lines if line.startswith('msgid "') and line != 'msgid ""']
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
