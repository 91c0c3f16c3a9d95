"""Every console and public form, found by reading the pages as each role sees them, submitted with
hostile values in every field (NUL, lone surrogates as raw bytes, 25,000 characters, ids past int4
and 2^63, years 1 and 9999, negative and non-numeric numbers, markup): 0 server errors."""

from __future__ import annotations

import html
import re
from urllib.parse import quote_from_bytes

from server.extensions import db
from server.models import Unit
from tests.conftest import sign_in
from tests.integration.test_console import START, Console, on, register

HOSTILE = ["a\x00b", "\ud800", "\udfff\ud800x", "张" * 25000, "2147483648", "9223372036854775808",
           "99999999999999999999999", "-1", "0", "abc", "0001-01-01", "9999-12-31", "10000-01-01",
           "0001-01-01T00:00:00+08:00", "<script>alert(1)</script>", "", " ", "1e309", "NaN", "%00", "../../etc/passwd"]
FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ATTR_RE = re.compile(r'(\w[\w-]*)="([^"]*)"')
FIELD_RE = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.I)


def _forms(page: str, base: str):
    """(action, method, {name: default value}) of each form on a page."""
    out = []
    for attrs, body in FORM_RE.findall(page):
        a = dict(ATTR_RE.findall(attrs))
        action = html.unescape(a.get("action") or base)
        method = a.get("method", "get").lower()
        fields = {}
        for _, fattrs in FIELD_RE.findall(body):
            f = dict(ATTR_RE.findall(fattrs))
            if "name" in f:
                fields.setdefault(html.unescape(f["name"]), html.unescape(f.get("value", "")))
        out.append((action, method, fields))
    return out


FINAL = ("abandon", "rotate", "withdraw", "stop")   # forms that end what the others act on go last


def _encode(fields: dict[str, str]) -> bytes:
    return "&".join(f"{quote_from_bytes(k.encode())}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'))}"
                    for k, v in fields.items()).encode()


ACTIONS: set[str] = set()


def _fuzz(client, pages: list[str]) -> tuple[int, list]:
    sent, errors, seen = 0, [], set()
    for page_path in pages:
        response = client.get(page_path)
        page = response.get_data(as_text=True)
        response.close()
        forms = sorted(_forms(page, page_path), key=lambda f: any(w in f[0] for w in FINAL))
        for action, method, fields in forms:
            if action in ("/logout",) or (action, tuple(sorted(fields))) in seen:
                continue
            seen.add((action, tuple(sorted(fields))))
            ACTIONS.add(re.sub(r"/\d+", "/N", action.split("?")[0]))
            names = [n for n in fields if n != "csrf_token"] or ["q"]
            for value in HOSTILE:
                data = dict(fields)
                for name in names:
                    data[name] = value
                if method == "post":
                    r = client.post(action, data=_encode(data), content_type="application/x-www-form-urlencoded")
                else:
                    query = _encode({k: v for k, v in data.items() if k != "csrf_token"}).decode()
                    r = client.get(f"{action.split('?')[0]}?{query}")
                sent += 1
                if r.status_code >= 500:
                    errors.append((method, action, repr(value[:20]), r.status_code))
                r.close()
    return sent, errors


def test_every_console_and_public_form_survives_hostile_input(app, org):
    on(app, START)
    for limit in ("RUHU_LOGIN_RATE", "RUHU_REPORT_RATE", "RUHU_REPORT_CLIENT_RATE", "RUHU_SURVEY_RATE",
                  "RUHU_RECEIPT_RATE"):
        app.config[limit] = "10000 per minute"   # the fuzz must reach the handlers, not the limiter
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    with app.app_context():
        from server.operations.boards import create_board

        board = create_board(None, db.session.get(Unit, org.c1), "community", "和平社区公示栏", actor_label="test")
        token = board.token
        office_code = db.session.get(Unit, org.office).code
        db.session.commit()
    public = app.test_client()
    total, errors = _fuzz(public, ["/", f"/b/{token}", f"/b/{token}/report", f"/survey/{office_code}", "/r"])
    plans = {
        "gc_case": ["/", "/cases", "/cases/new", f"/cases/{case_id}", "/boards", "/boards/reports", "/devices",
                    "/dynamic", f"/dynamic/cases/{case_id}", "/rosters"],
        "gc_lead": [f"/cases/{case_id}", "/rosters"],
        "gc_dir": [f"/cases/{case_id}", f"/dynamic/cases/{case_id}"],
        "gc_bureau": ["/oversight", "/oversight/assessment", f"/oversight/assessment/units/{org.office}",
                      "/oversight/spotchecks", "/oversight/two-rates", "/rosters/bureau", "/cases"],
    }
    for who, pages in plans.items():
        client = app.test_client()
        assert sign_in(client, who).status_code == 302
        sent, wrong = _fuzz(client, pages)
        total += sent
        errors += wrong
    assert total >= 500
    token_path = re.sub(r"/\d+", "/N", f"/b/{token}/report")
    assert {"/login", "/cases/new", "/cases/N/act/accept", "/boards", "/oversight/spotchecks/draw",
            "/oversight/two-rates/paper", "/rosters/generate", "/survey/N", token_path} <= ACTIONS
    assert errors == []
