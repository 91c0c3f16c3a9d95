"""Every console page renders in Chinese and in English, with no interface string left untranslated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from server.extensions import db
from server.models import Case
from tests.conftest import csrf_token

PO = Path(__file__).resolve().parents[2] / "server/translations/en/LC_MESSAGES/messages.po"
TAGS = re.compile(r"<[^>]+>")


def interface_strings() -> list[str]:
    """The Chinese source strings, without placeholders, long enough not to be mistaken for data."""
    with PO.open("rb") as f:
        catalog = read_po(f)
    out = []
    for m in catalog:
        if not m.id or "%(" in m.id:
            continue
        if len(m.id) >= 3:
            out.append(m.id)
    return out


@pytest.fixture
def demo(app):
    from server.demo import load_demo

    with app.app_context():
        load_demo("demo-password-1")
        return [c.id for c in db.session.scalars(select(Case).join(Case.office).where(Case.office.has(code="410104005")))]


def pages(client, case_ids):
    yield "/"
    yield "/cases"
    yield "/cases/new"
    for case_id in case_ids:
        yield f"/cases/{case_id}"
        for doc in ("approval_form", "missing_notice", "refusal_notice", "visit_form", "appraisal_record",
                    "certificate"):
            yield f"/cases/{case_id}/print/{doc}"


def visible_text(html: str) -> str:
    html = re.sub(r'<script.*?</script>|<style.*?</style>|<svg.*?</svg>|<span class="ud">.*?</span>'
                  r'|<textarea[^>]*>.*?</textarea>', "", html, flags=re.S)
    return TAGS.sub(" ", html)


@pytest.mark.parametrize("username", ["nanguanjie_caseworker", "nanguanjie_director", "nanguanjie_leader",
                                      "gc_bureau"])
def test_every_page_in_both_languages(app, demo, username):
    client = app.test_client()
    client.post("/login", data={"username": username, "password": "demo-password-1",
                                "csrf_token": csrf_token(client)})
    strings = interface_strings()
    seen = 0
    for path in pages(client, demo):
        zh = client.get(path + "?lang=zh")
        if zh.status_code in (403, 404):
            continue   # a print that does not apply to this case
        assert zh.status_code == 200, path
        assert 'lang="zh-CN"' in zh.get_data(as_text=True)
        en = client.get(path + "?lang=en")
        assert en.status_code == 200, path
        text = visible_text(en.get_data(as_text=True))
        left = [s for s in strings if s in text]
        assert left == [], f"{path}: untranslated in English: {left}"
        seen += 1
    assert seen > 20
