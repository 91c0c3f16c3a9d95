"""Issue 12, second half, through the console and the CLI: the staff-relatives register, the profile
switches that drive intake, no dead button on the case page, and races closed in the database
(simultaneous intakes of one person, the same file uploaded by two requests at once)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, OpenApplicant
from server.models.attachments import Attachment
from tests.conftest import csrf_token, id_number, sign_in
from tests.integration.test_console import (
    START,
    Console,
    counts,
    intake_form,
    on,
    register,
    signature,
)
from tests.integration.test_rosters import paid_case

# --- the staff-relatives register -------------------------------------------------------------------


@pytest.fixture
def flagged(app, org):
    """Three guancheng cases (one a staff relative, one a stopped staff relative) and one at another office."""
    on(app, START)
    gc, other = Console(app, "gc_case"), Console(app, "other_case")
    plain = register(app, gc, org)
    rel = register(app, gc, org, m0_id=id_number("410104", dt.date(1970, 1, 2), 41),
                   m1_id=id_number("410104", dt.date(1971, 1, 2), 42), m0_name="王近亲", staff_relative="1",
                   staff_relative_note="户主之子为南关街民政干事")
    stopped = register(app, gc, org, m0_id=id_number("410104", dt.date(1972, 1, 2), 43),
                       m1_id=id_number("410104", dt.date(1973, 1, 2), 44), m0_name="赵近亲", staff_relative="1",
                       staff_relative_note="=HYPERLINK(\"x\")")
    elsewhere = register(app, other, org, unit="oc", m0_id=id_number("410104", dt.date(1974, 1, 2), 45),
                         m1_id=id_number("410104", dt.date(1975, 1, 2), 46), m0_name="孙近亲", staff_relative="1",
                         staff_relative_note="二里岗工作人员配偶")
    assert Console(app, "gc_case").act(stopped, "abandon", {"reason": "拒绝配合入户调查"}).status_code == 302
    return {"plain": plain, "rel": rel, "stopped": stopped, "elsewhere": elsewhere}


def numbers(app, ids):
    with app.app_context():
        return {db.session.get(Case, i).number for i in ids}


def listed(page: str) -> set[str]:
    import re

    return set(re.findall(r'<tr data-case="([^"]+)"', page))


def test_cases_filter_by_staff_relative(app, org, flagged):
    gc = Console(app, "gc_case")
    # issue 12: /cases?staff_relative=1 returned every case
    page = gc.get("/cases?staff_relative=1").get_data(as_text=True)
    assert listed(page) == numbers(app, [flagged["rel"], flagged["stopped"]])
    assert listed(gc.get("/cases").get_data(as_text=True)) == numbers(app, [flagged["plain"], flagged["rel"],
                                                                          flagged["stopped"]])


def test_register_for_the_office_and_the_bureau(app, org, flagged):
    gc, director, bureau = Console(app, "gc_case"), Console(app, "gc_dir"), Console(app, "gc_bureau")
    page = gc.get("/staff-relatives").get_data(as_text=True)
    assert listed(page) == numbers(app, [flagged["rel"], flagged["stopped"]])    # the office's own only
    assert "户主之子为南关街民政干事" in page and intake_form(org)["m0_id"] not in page
    assert listed(director.get("/staff-relatives?status=open").get_data(as_text=True)) == numbers(app, [flagged["rel"]])
    assert listed(gc.get("/staff-relatives?status=abandoned").get_data(as_text=True)) == \
        numbers(app, [flagged["stopped"]])
    assert gc.get("/staff-relatives?status=nonsense").status_code == 422
    # the bureau sees the district, and may narrow it to one office
    everything = numbers(app, [flagged["rel"], flagged["stopped"], flagged["elsewhere"]])
    assert listed(bureau.get("/staff-relatives").get_data(as_text=True)) == everything
    assert listed(bureau.get(f"/staff-relatives?office={org.other}").get_data(as_text=True)) == \
        numbers(app, [flagged["elsewhere"]])
    assert bureau.get("/staff-relatives?office=x").status_code == 400
    assert Console(app, "gc_inv1").get("/staff-relatives").status_code == 403
    assert Console(app, "gc_inv1").get("/staff-relatives.csv").status_code == 403
    assert Console(app, "yj_bureau").get("/staff-relatives").get_data(as_text=True).count("<tr data-case=") == 0


def test_register_exports_csv_and_audits_it(app, org, flagged):
    from server.models import Case

    with app.app_context():   # a name as typed at intake (nothing there forbids it): exported as text
        db.session.get(Case, flagged["rel"]).household.head.name = "=cmd|' /C calc'!A0"
        db.session.commit()
    bureau = Console(app, "gc_bureau")
    r = bureau.get("/staff-relatives.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    assert rows[0][0].startswith("案件编号") and len(rows) == 4
    assert {row[0] for row in rows[1:]} == numbers(app, [flagged["rel"], flagged["stopped"], flagged["elsewhere"]])
    notes = {row[-1] for row in rows[1:]}
    assert "'=HYPERLINK(\"x\")" in notes                         # typed text never runs as a formula
    assert "'=cmd|' /C calc'!A0" in {row[3] for row in rows[1:]}
    assert not any(intake_form(org)["m0_id"] in cell for row in rows for cell in row)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff_relatives.export"))
        assert entry is not None and entry.after["rows"] == 3


# --- profile switches that drive intake ------------------------------------------------------------

def _replace_profile(app, profile_id: str, old: str, new: str) -> None:
    from server.rules import BUILTIN_DIR, parse_profile

    text = (Path(BUILTIN_DIR) / f"{profile_id}.toml").read_text(encoding="utf-8")
    assert old in text
    with app.app_context():
        from server import services

        services().profiles[profile_id] = parse_profile(text.replace(old, new), f"{profile_id}.toml")


def test_committee_may_submit_drives_intake(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    assert 'name="committee"' in gc.get("/cases/new").get_data(as_text=True)
    case_id = register(app, gc, org, committee="1")
    with app.app_context():
        assert db.session.get(Case, case_id).submitted_by_committee is True
    _replace_profile(app, "guancheng", "committee_may_submit = true", "committee_may_submit = false")
    assert 'name="committee"' not in gc.get("/cases/new").get_data(as_text=True)
    before = counts(app)
    form = intake_form(org, committee="1", m0_id=id_number("410104", dt.date(1980, 2, 2), 51),
                       m1_id=id_number("410104", dt.date(1981, 2, 2), 52))
    r = gc.post("/cases/new", form)
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "不允许居（村）民委员会代为提交申请" in body and "和平路1号" in body
    assert counts(app) == before


def test_staff_fill_forms_drive_intake(app, org):
    """yijun: 经办人员填写申请表和授权书 — the window fills them in, so they exist on registration."""
    on(app, START)
    yj = Console(app, "yj_case")
    page = yj.get("/cases/new").get_data(as_text=True)
    assert 'data-staff-filled="application"' in page and 'data-staff-filled="verification_authorisation"' in page
    assert 'name="materials" value="application"' not in page
    case_id = register(app, yj, org, unit="village", region="610222",
                       materials=["hukou_id", "income_property_statement", "integrity_pledge", "illness_papers"])
    with app.app_context():
        assert {"application", "verification_authorisation"} <= set(db.session.get(Case, case_id).materials)
    # guancheng: the applicant brings the written application
    gc = Console(app, "gc_case")
    assert 'data-staff-filled' not in gc.get("/cases/new").get_data(as_text=True)
    gc_case = register(app, gc, org, materials=["hukou_id"])
    with app.app_context():
        assert db.session.get(Case, gc_case).materials == ["hukou_id"]


# --- no button that answers 404 -------------------------------------------------------------------

def test_the_directors_record_change_is_a_working_link(app, org):
    cid = paid_case(app, org, seq=21)
    on(app, dt.date(2026, 10, 1))
    director = Console(app, "gc_dir")
    page = director.get(f"/cases/{cid}").get_data(as_text=True)
    assert "/act/record_change" not in page                                # the form that answered 404
    assert f'href="/dynamic/cases/{cid}#decisions"' in page
    assert director.get(f"/dynamic/cases/{cid}").status_code == 200
    # every action a role may be offered on the case page has a reader or a page of its own
    from server.domain import workflow
    from server.web.forms import READERS

    assert set(workflow.RULES) - set(READERS) == {"record_home_visit", "record_change"}


# --- races, closed in the database ------------------------------------------------------------------

def _at_once(n: int, fire):
    """Run ``fire(i)`` in ``n`` threads released together; returns their results in order."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        prepared = fire(i, None)
        barrier.wait()
        results[i] = fire(i, prepared)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _client(app, username):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def test_simultaneous_intakes_of_one_person_make_one_case(app, org):
    on(app, START)
    clients = [_client(app, "gc_case") for _ in range(4)]
    form = intake_form(org)

    def fire(i, prepared):
        if prepared is None:
            return {**form, "csrf_token": csrf_token(clients[i], "/cases/new")}
        r = clients[i].post("/cases/new", data=prepared, content_type="multipart/form-data")
        return r.status_code, r.get_data(as_text=True)

    results = _at_once(4, fire)
    codes = sorted(code for code, _ in results)
    assert codes == [302, 409, 409, 409], codes
    for code, body in results:
        if code == 409:   # the same clear answer as a sequential duplicate, with what was typed
            assert "张建国的身份证号码已在本街道（乡镇）的在办或在保案件" in body and "和平路1号" in body
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 1
        case = db.session.scalar(select(Case))
        assert {o.id_number for o in db.session.scalars(select(OpenApplicant))} == \
            {m.id_number for m in case.household.members}
    # sequentially: the same answer
    r = Console(app, "gc_case").post("/cases/new", form)
    assert r.status_code == 409 and "张建国的身份证号码已在本街道（乡镇）的在办或在保案件" in r.get_data(as_text=True)


def test_a_person_may_apply_again_once_the_case_ended(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    first = register(app, gc, org)
    assert gc.post("/cases/new", intake_form(org)).status_code == 409
    assert gc.act(first, "abandon", {"reason": "拒绝配合入户调查"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OpenApplicant)) == 0
    second = register(app, gc, org)
    assert second != first


def test_the_same_file_uploaded_at_the_same_moment_gives_one_row(app, org):
    """The same drawn signature on two acceptances at once: both accepted, one attachment row."""
    on(app, START)
    gc = Console(app, "gc_case")
    ids = [register(app, gc, org, m0_id=id_number("410104", dt.date(1960 + i, 3, 3), 60 + i),
                    m1_id=id_number("410104", dt.date(1961 + i, 4, 4), 70 + i)) for i in range(3)]
    clients = [_client(app, "gc_case") for _ in ids]
    drawn = signature()

    def fire(i, prepared):
        if prepared is None:
            return {"materials": intake_form(org)["materials"], "applicant_signature": drawn,
                    "csrf_token": csrf_token(clients[i], f"/cases/{ids[i]}")}
        r = clients[i].post(f"/cases/{ids[i]}/act/accept", data=prepared, content_type="multipart/form-data")
        return r.status_code

    assert _at_once(len(ids), fire) == [302] * len(ids)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 1
        assert {db.session.get(Case, i).status for i in ids} == {"accepted"}


def test_the_same_report_file_at_the_same_moment(app, org):
    """Two uploads of one PDF (verification reports of two cases) at once: no 500, one row."""
    from tests.integration.test_console import pdf_bytes

    on(app, START)
    gc = Console(app, "gc_case")
    ids = []
    for i in range(2):
        cid = register(app, gc, org, m0_id=id_number("410104", dt.date(1950 + i, 3, 3), 80 + i),
                       m1_id=id_number("410104", dt.date(1951 + i, 4, 4), 90 + i))
        assert gc.act(cid, "accept", {"materials": intake_form(org)["materials"],
                                      "applicant_signature": signature()}).status_code == 302
        with app.app_context():
            members = [str(m.id) for m in db.session.get(Case, cid).household.members]
        assert gc.act(cid, "request_verification", {"members": members}).status_code == 302
        ids.append(cid)
    clients = [_client(app, "gc_case") for _ in ids]
    pdf = pdf_bytes()

    def fire(i, prepared):
        if prepared is None:
            return csrf_token(clients[i], f"/cases/{ids[i]}")
        data = {"csrf_token": prepared, "found_income_6m": "100", "found_property": "无",
                "report_file": (io.BytesIO(pdf), "r.pdf", "application/pdf")}
        return clients[i].post(f"/cases/{ids[i]}/act/record_verification_report", data=data,
                               content_type="multipart/form-data").status_code

    assert _at_once(2, fire) == [302, 302]
    with app.app_context():
        # the same drawn signature on both acceptances, and the one PDF: a row each
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 2
