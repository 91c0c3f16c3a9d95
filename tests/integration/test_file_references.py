"""Who may read a stored file is decided by the structured places a file is attached (a step's file keys,
the verification report, a visit's attachments and findings, a re-review's evidence, a board report's photo),
never by text: a hash typed into a reason, a note, an objection or a visit's findings of one's own case reads
nothing of another office's or county's, and the owners still read their files.  Through HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from decimal import Decimal

from sqlalchemy import select

from server.extensions import db
from server.models import Case, CaseEvent
from server.models.boards import Report
from tests.conftest import id_number
from tests.integration.test_boards import gc_board, public  # noqa: F401 (fixtures)
from tests.integration.test_console import START, Console, intake_form, on, pdf_bytes, png_bytes, register
from tests.integration.test_rosters import paid_case
from tests.integration.test_scope_privacy import _file_of, _report, _status, _verification_stage
from tests.integration.test_sync_api import TODAY, field  # noqa: F401 (the fixture)
from tests.integration.test_visit_office import phone_visit


def _other_office_case(app, org) -> int:
    """A case of 二里岗 (the same district, another street office), accepted and sent for verification."""
    other = Console(app, "other_case")
    case_id = register(app, other, org, unit="oc", m0_id=id_number("410104", dt.date(1950, 1, 1), 41),
                       m1_id=id_number("410104", dt.date(1951, 1, 1), 42), m0_name="孙大山", m1_name="周小梅")
    _verification_stage(app, org, other, case_id)
    return case_id


def _other_county_case(app, org) -> int:
    return register(app, Console(app, "yj_case"), org, unit="village", region="610222")


def _abandon_citing(app, console, case_id: int, sha: str) -> None:
    r = console.act(case_id, "abandon", {"reason": f"提供虚假信息，见附件 {sha}"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    with app.app_context():
        last = db.session.scalars(select(CaseEvent.data).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.seq.desc())).first()
        assert sha in last["reason"]


def test_a_hash_in_a_reason_reads_no_other_offices_or_countys_verification_report(app, org):
    """Case.verification's report file (and the record_verification_report event's) against an abandon reason."""
    on(app, START)
    gc = Console(app, "gc_case")
    ours = register(app, gc, org)
    _verification_stage(app, org, gc, ours)
    _report(gc, ours, pdf_bytes() + b"%nanguanjie report")
    sha = _file_of(app, ours)
    other, yj = Console(app, "other_case"), Console(app, "yj_case")
    _abandon_citing(app, other, _other_office_case(app, org), sha)
    _abandon_citing(app, yj, _other_county_case(app, org), sha)
    assert _status(other, f"/files/{sha}/original") == 404
    assert _status(yj, f"/files/{sha}/original") == 404
    assert _status(gc, f"/files/{sha}/original") == 200
    assert _status(Console(app, "gc_bureau"), f"/files/{sha}/original") == 200


def test_a_hash_in_a_note_reads_no_other_offices_signature(app, org):
    """A step's file key (the applicant's drawn signature at acceptance) against a verification report's note,
    which is kept both in the case's verification data and in the event."""
    on(app, START)
    gc = Console(app, "gc_case")
    ours = register(app, gc, org)
    drawn = png_bytes((5, 5, 120), (200, 80))             # this applicant's own signature
    accept = {"materials": intake_form(org)["materials"],
              "applicant_signature": "data:image/png;base64," + base64.b64encode(drawn).decode()}
    assert gc.act(ours, "accept", accept).status_code == 302
    sha = hashlib.sha256(drawn).hexdigest()
    with app.app_context():
        assert next(e for e in db.session.get(Case, ours).events if e.action == "accept").data[
            "applicant_signature_file"] == sha
    other = Console(app, "other_case")
    theirs = _other_office_case(app, org)
    r = other.act(theirs, "record_verification_report",
                  {"found_income_6m": "2400.00", "found_property": "无", "note": f"比对签名 {sha}"},
                  files={"report_file": (pdf_bytes() + b"%erligang", "report.pdf", "application/pdf")})
    assert r.status_code == 302
    with app.app_context():
        assert sha in db.session.get(Case, theirs).verification["report"]["note"]
    assert _status(other, f"/files/{sha}/display") == 404
    assert _status(gc, f"/files/{sha}/display") == 200


def _in_publicity(app, org, board_code: str) -> int:
    """A guancheng case taken by the operations to publicity on the board (its files are not the point here)."""
    from server import services
    from server.models import Unit, User
    from server.operations.cases import perform, register_application

    with app.app_context():
        user = {u.username: u for u in db.session.scalars(select(User))}
        community = db.session.get(Unit, org.c1)
        materials = [m.code for m in services().profiles[community.profile_id].materials if m.required]
        case = register_application(community=community, actor=user["gc_case"], today=START, materials=materials,
                                    members=[{"name": "张建国", "relation": "head",
                                              "id_number": id_number("410104", dt.date(1962, 5, 1), 11)}])
        team = [user["gc_inv1"].id, user["gc_inv2"].id]
        for action, who, payload in [
                ("accept", "gc_case", {"applicant_signed": True, "accepted_on": START}),
                ("request_verification", "gc_case", {"members": [m.id for m in case.household.members],
                                                     "requested_on": START}),
                ("record_home_visit", "gc_case", {"investigators": team, "signed": team, "applicant_signed": True,
                                                  "visit_on": START}),
                ("record_verification_report", "gc_case", {"report_on": START, "found_income_6m": "1800.00"}),
                ("record_appraisal", "gc_case", {"panel": [{"name": "街道", "category": "office_staff", "signed": True}]
                                                 + [{"name": f"居民{i}", "category": "resident", "signed": True}
                                                    for i in range(2)],
                                                 "minutes": "评议属实", "conclusion": "agree", "appraisal_on": START}),
                ("review_opinion", "gc_case", {"recommendation": "approve", "opinion": "拟批准",
                                               "assessed_income_6m": Decimal("1800.00"), "property_checked": True}),
                ("sign_review", "gc_lead", {"signature": "x", "opinion": "同意"}),
                ("open_publicity", "gc_case", {"boards": [board_code]})]:
            perform(db.session.get(Case, case.id), action, user[who], payload, today=START)
        assert db.session.get(Case, case.id).status == "publicity"
        return case.id


def test_a_hash_in_an_objection_reads_no_other_offices_file_and_the_report_photo_stays_the_offices(
        app, org, public, gc_board):  # noqa: F811
    """A resident's objection text lands in the case's history: it names no file; the report's photo does."""
    on(app, START)
    theirs = _other_office_case(app, org)
    _report(Console(app, "other_case"), theirs, pdf_bytes() + b"%erligang report")
    sha = _file_of(app, theirs)
    _, code, token = gc_board
    ours = _in_publicity(app, org, code)
    on(app, START + dt.timedelta(days=1))
    photo = png_bytes((90, 10, 10))
    r = public().post(f"/b/{token}/report", {"case": str(ours), "text": f"该户有车未申报 {sha}", "name": "王大妈",
                                             "phone": "13011112222"}, files={"photo": (photo, "car.png", "image/png")})
    assert r.status_code == 303
    with app.app_context():
        event = db.session.get(Case, ours).events[-1]
        assert event.action == "record_objection" and sha in event.data["text"]
        photo_sha = db.session.scalar(select(Report.photo_sha256).where(Report.case_id == ours))
    gc = Console(app, "gc_case")
    assert _status(gc, f"/files/{sha}/original") == 404
    assert _status(Console(app, "other_case"), f"/files/{sha}/original") == 200
    assert _status(gc, f"/files/{photo_sha}/display") == 200
    assert _status(Console(app, "other_case"), f"/files/{photo_sha}/display") == 404


def test_a_hash_in_a_visit_finding_reads_no_other_offices_file(app, field, org):  # noqa: F811
    """A paper visit's summary (kept in the visit's findings and in its event) names no file; its scan does."""
    theirs = _other_office_case(app, org)
    other = Console(app, "other_case")
    _report(other, theirs, pdf_bytes() + b"%erligang report")
    sha = _file_of(app, theirs)
    gc = Console(app, "gc_case")
    scan = png_bytes((10, 90, 10))
    data = {"team": [str(org.gc_inv1), str(org.gc_inv2)], "signed": [str(org.gc_inv1), str(org.gc_inv2)],
            "applicant_signed": "1", "visit_on": TODAY.isoformat(),
            "property_housing": "自有平房两间", "summary": f"与二里岗核对报告一致 {sha}", "recommendation": "eligible"}
    r = gc.post(f"/cases/{field['case_id']}/paper-visit", data, files={"scan": (scan, "form.png", "image/png")})
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    assert _status(gc, f"/files/{sha}/original") == 404
    assert _status(other, f"/files/{sha}/original") == 200
    scan_sha = hashlib.sha256(scan).hexdigest()
    assert _status(gc, f"/files/{scan_sha}/original") == 200          # the visit's own scan
    assert _status(other, f"/files/{scan_sha}/original") == 404


def test_a_phones_visit_photo_and_signatures_are_read_by_the_case_only(app, field, org):  # noqa: F811
    """A phone visit's files (its envelope's items, kept by role and in the findings) against reasons typed
    elsewhere."""
    env = phone_visit(field)
    photo = next(a["sha256"] for a in env["attachments"] if a["role"] == "photo")
    signature_ = next(a["sha256"] for a in env["attachments"] if a["role"] == "signature")
    other, yj = Console(app, "other_case"), Console(app, "yj_case")
    _abandon_citing(app, other, _other_office_case(app, org), photo)
    _abandon_citing(app, yj, _other_county_case(app, org), signature_)
    for sha in (photo, signature_):
        assert _status(other, f"/files/{sha}/thumb") == 404
        assert _status(yj, f"/files/{sha}/thumb") == 404
        for username in ("gc_case", "gc_inv1", "gc_inv2"):
            assert _status(Console(app, username), f"/files/{sha}/thumb") == 200, username


def test_a_re_reviews_new_report_is_read_by_the_office_only(app, org):
    """The verification report given with a re-review's conclusion (the event's evidence)."""
    case_id = paid_case(app, org, seq=4, target="rereview")
    on(app, dt.date(2026, 10, 1))
    content = pdf_bytes() + b"%re-review report"
    r = Console(app, "gc_dir").post(f"/dynamic/cases/{case_id}/rereview-decision",
                                    {"outcome": "continue", "report_on": "2026-09-30"},
                                    files={"report_file": (content, "report.pdf", "application/pdf")})
    assert r.status_code == 302
    sha = hashlib.sha256(content).hexdigest()
    with app.app_context():
        assert db.session.get(Case, case_id).events[-1].data["evidence"][0]["file"] == sha
    other = Console(app, "other_case")
    _abandon_citing(app, other, _other_office_case(app, org), sha)
    assert _status(other, f"/files/{sha}/original") == 404
    assert _status(Console(app, "gc_dir"), f"/files/{sha}/original") == 200
    assert _status(Console(app, "gc_case"), f"/files/{sha}/original") == 200
