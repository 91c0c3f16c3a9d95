"""No ID numbers in any log: SQL parameters are hidden, the console's search never puts what was typed into
a URL, and access-log lines (Werkzeug's server, gunicorn) have number-like query values redacted."""

from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from werkzeug.serving import make_server

from server.extensions import db
from tests.integration.test_console import START, Console, intake_form, on, register

ID_NUMBER = "410104195205216770"


def test_a_failed_statement_does_not_carry_its_parameters(app):
    with app.app_context():
        with pytest.raises(DBAPIError) as err:
            db.session.execute(text("SELECT no_such_column FROM units WHERE code = :code"),
                               {"code": ID_NUMBER})
        db.session.rollback()
    assert ID_NUMBER not in str(err.value) and "parameters hidden" in str(err.value)


def test_console_search_keeps_the_query_out_of_the_url(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    number = intake_form(org)["m1_id"]
    r = gc.post("/cases", {"q": number, "status": ""})
    assert r.status_code == 303
    location = r.headers["Location"]
    assert number not in location and number[:7] not in location and "?s=" in location
    page = gc.get(location).get_data(as_text=True)
    assert f"/cases/{case_id}" in page and f'value="{number}"' in page       # the form still shows it
    expired = gc.get("/cases?s=unknown-key").get_data(as_text=True)
    assert "搜索条件已失效" in expired
    other = Console(app, "other_case")                     # a key is only good in the session that made it
    assert f"/cases/{case_id}" not in other.get(location).get_data(as_text=True)
    assert gc.post("/cases", {"q": number}, csrf=False).status_code == 400
    r = gc.post("/cases", {"q": number, "status": "nonsense", "sort": "applied_on"})
    assert r.status_code == 303 and number not in r.headers["Location"] and "sort=applied_on" in r.headers["Location"]
    assert gc.get(r.headers["Location"]).status_code == 400                 # the list refuses the stage
    page = gc.get(location.replace("?", "?sort=applied_on&")).get_data(as_text=True)
    links = re.findall(r'href="(/cases[^"]*)"', page)
    assert any("s=" in link for link in links) and not any(number in link for link in links)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _serve_one(app, path: str) -> None:
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    no_redirects = urllib.request.build_opener(_NoRedirect)
    try:
        no_redirects.open(f"http://127.0.0.1:{server.server_port}{path}", timeout=10).read()
    except urllib.error.HTTPError:
        pass
    thread.join(10)
    server.server_close()


@pytest.mark.parametrize("query", [
    f"/cases?q={ID_NUMBER}",
    "/cases?q=410104%E3%80%80195205%E3%80%80216770",          # ideographic spaces, percent-encoded
    "/r?n=138.1234.5678",
    "/cases?status=publicity&q=138%2F1234%2F5678",
])
def test_the_werkzeug_access_log_redacts_numbers(app, caplog, query):
    caplog.set_level(logging.INFO, logger="werkzeug")
    _serve_one(app, query)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert lines, "the request was not logged"
    line = lines[-1]
    assert "[redacted]" in line and "GET /" in line
    for leak in (ID_NUMBER, "13812345678", "138.1234.5678", "1234", "195205"):
        assert leak not in line, line


def test_other_query_values_stay_readable(app, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    _serve_one(app, "/cases?status=publicity&urgency=overdue")
    line = [r.getMessage() for r in caplog.records if r.name == "werkzeug"][-1]
    assert "/cases?status=publicity&urgency=overdue" in line and "[redacted]" not in line


def test_the_gunicorn_access_log_redacts_numbers(app, caplog):
    caplog.set_level(logging.INFO, logger="gunicorn.access")
    atoms = {"h": "10.0.0.1", "t": "[30/Nov/2026:19:05:00 +0000]",
             "r": "GET /cases?q=410104%E3%80%80195205%E3%80%80216770 HTTP/1.1", "s": "200",
             "f": "https://dibao.example.gov.cn/cases?q=138.1234.5678"}
    logging.getLogger("gunicorn.access").info('%(h)s %(t)s "%(r)s" %(s)s "%(f)s"', atoms)
    line = caplog.records[-1].getMessage()
    assert line.count("[redacted]") == 2 and "195205" not in line and "138.1234" not in line
    assert "[30/Nov/2026:19:05:00 +0000]" in line                            # the time stays
