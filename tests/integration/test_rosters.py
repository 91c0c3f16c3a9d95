"""Monthly payment rosters through the console, the CLI and the exports: amounts from the benefit core,
changes against last month, due days and late filing, signing, the bureau's review, locking, adjustments."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, Unit, User
from server.models.money import Roster, RosterLocked
from tests.conftest import id_number
from tests.integration.test_console import Console, on, signature

D = Decimal
DAY = dt.date(2026, 9, 1)           # the cases' procedure runs from here
TODAY = dt.date(2026, 11, 20)       # guancheng prepares December's roster (due 2026-11-25)

OFFICE_ROLES = {"gc": ("gc_case", "gc_lead", "gc_dir", "gc_inv1", "gc_inv2", "c1"),
                "yj": ("yj_case", "yj_lead", "yj_dir", "yj_inv1", "yj_inv2", "village"),
                "other": ("other_case", "other_case", "other_case", "other_inv", "other_inv", "oc")}


def paid_case(app, org, *, office: str = "gc", people: int = 2, income_6m: str = "1800.00", seq: int = 1,
              target: str = "in_payment", day: dt.date = DAY, household_class: str = "stable") -> int:
    """A household taken through every step of the procedure to payment (and on to ``target``)."""
    from server.operations.cases import perform, register_application

    caseworker, leader, director, inv1, inv2, community_key = OFFICE_ROLES[office]
    region = "610222" if office == "yj" else "410104"
    with app.app_context():
        users = {k: db.session.scalar(select(User).where(User.username == k))
                 for k in (caseworker, leader, director, inv1, inv2)}
        if office == "other":   # a second office: its own users do all steps the test needs
            users[leader] = users[director] = users[caseworker]
        community = db.session.get(Unit, getattr(org, community_key))
        members = [{"name": f"{'张李王'[i % 3]}户{seq}成员{i}", "relation": "head" if i == 0 else "child",
                    "id_number": id_number(region, dt.date(1960 + i * 20, 1 + seq % 12, 1 + i), seq * 10 + i)}
                   for i in range(people)]
        from server import services

        materials = [m.code for m in services().profiles[community.profile_id].materials if m.required]
        case = register_application(community=community, members=members, actor=users[caseworker], today=day,
                                    household_class=household_class, materials=materials,
                                    area="urban" if office != "yj" else "urban")
        cid = case.id
        later = day + dt.timedelta(days=8)
        steps = [
            ("accept", caseworker, {"applicant_signed": True, "fingerprint_file": "f" * 64, "accepted_on": day}, day),
            ("request_verification", caseworker, {"members": [m.id for m in case.household.members],
                                                  "requested_on": day}, day),
            ("record_home_visit", caseworker, {"investigators": [users[inv1].id, users[inv2].id],
                                               "signed": [users[inv1].id, users[inv2].id], "applicant_signed": True,
                                               "visit_on": day}, day),
            ("record_verification_report", caseworker,
             {"report_on": day, **({"found_income_6m": income_6m} if D(income_6m) else
                                   {"no_income_found": True, "file": "report"})}, day),
            ("record_appraisal", caseworker, {"panel": [{"name": "街道", "category": "office_staff", "signed": True}]
                                              + [{"name": f"居民{i}", "category": "resident", "signed": True}
                                                 for i in range(2)],
                                              "minutes": "评议属实", "conclusion": "agree", "appraisal_on": day}, day),
            ("review_opinion", caseworker, {"recommendation": "approve", "opinion": "拟批准",
                                            "assessed_income_6m": D(income_6m), "property_checked": True}, day),
            ("sign_review", leader, {"signature": "x", "opinion": "同意"}, day),
        ]
        if office == "yj":
            steps.append(("record_meeting", caseworker, {"record": "会议研究", "decision": "approve", "attendees": ["王镇长", "李干事"]}, day))
        steps += [
            ("open_publicity", caseworker, {"boards": [community.parent.code, community.code]}, day),
            ("close_publicity", caseworker, {}, later),
            ("approve", director, {"signature": "x", "opinion": "同意"}, later),
            ("issue_certificate", caseworker, {"number": f"DB-{office}-{seq}", "valid_from": later,
                                               "valid_until": later + dt.timedelta(days=364)}, later),
            ("start_payment", caseworker, {}, later),
        ]
        extra = {"rereview": [("start_rereview", caseworker, {"reason": "定期复核"}, later)],
                 "gradual_exit": [("start_gradual_exit", director, {"reasons": "收入超标，渐退"}, later)],
                 "stopped": [("stop", director, {"reasons": "户籍迁出"}, later)]}
        steps += extra.get(target, [])
        for action, who, payload, when in steps:
            case = db.session.get(Case, cid)
            perform(case, action, users[who], payload, today=when)
        assert db.session.get(Case, cid).status == target
    return cid


def roster_row(app, roster_id: int) -> dict:
    with app.app_context():
        r = db.session.get(Roster, roster_id)
        return {"status": r.status, "month": r.month, "households": r.households, "people": r.people,
                "total": r.total, "payments": r.payments_total, "adjustments": r.adjustments_total,
                "due_on": r.due_on, "lines": [(ln.case_id, ln.kind, ln.change, ln.amount, ln.previous_amount,
                                               ln.reason_code, ln.reason, ln.exit_percentage) for ln in r.lines]}


def generate(console: Console, month: str) -> int:
    r = console.post("/rosters/generate", {"month": month})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    return int(r.headers["Location"].rsplit("/", 1)[1])


def audits(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


@pytest.fixture
def two_cases(app, org):
    a = paid_case(app, org, people=2, income_6m="1800.00", seq=1)   # (700 - 300/2) * 2 = 1100.00
    b = paid_case(app, org, people=3, income_6m="1000.00", seq=2)   # (700 - 1000/6/3) * 3 = 1933.33
    on(app, TODAY)
    return a, b


def approve_month(app, month: str) -> int:
    gc, lead, bureau = Console(app, "gc_case"), Console(app, "gc_dir"), Console(app, "gc_bureau")
    rid = generate(gc, month)
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature(), "opinion": "属实"}).status_code == 302
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "approve"}).status_code == 302
    return rid


# --- generation --------------------------------------------------------------------------------

def test_generate_takes_amounts_from_the_benefit_core(app, org, two_cases):
    a, b = two_cases
    gc = Console(app, "gc_case")
    page = gc.get("/rosters").get_data(as_text=True)
    assert "2026-12" in page and "2026-11-25" in page          # next month, filed by the 25th
    rid = generate(gc, "2026-12")
    row = roster_row(app, rid)
    assert row["due_on"] == dt.date(2026, 11, 25)
    assert row["households"] == 2 and row["people"] == 5
    assert row["total"] == D("3033.33") == row["payments"]
    assert [(ln[0], ln[2], ln[3]) for ln in row["lines"]] == [(a, "new", D("1100.00")), (b, "new", D("1933.33"))]
    page = gc.get(f"/rosters/{rid}").get_data(as_text=True)
    assert "1933.33" in page and "3033.33" in page and "张户1成员0" in page


def test_generating_again_is_idempotent(app, org, two_cases):
    gc = Console(app, "gc_case")
    rid = generate(gc, "2026-12")
    before = roster_row(app, rid)
    assert generate(gc, "2026-12") == rid
    assert roster_row(app, rid) == before
    assert audits(app, "roster.generate") == 1     # nothing changed: nothing written


def test_generate_refusals(app, org, two_cases):
    gc = Console(app, "gc_case")
    r = gc.post("/rosters/generate", {"month": "2026-13"})
    assert r.status_code == 422 and "YYYY-MM" in r.get_data(as_text=True)
    assert gc.post("/rosters/generate", {"month": "2026-12"}, csrf=False).status_code == 400
    assert Console(app, "gc_dir").post("/rosters/generate", {"month": "2026-12"}).status_code == 403
    assert Console(app, "gc_inv1").post("/rosters/generate", {"month": "2026-12"}).status_code == 403
    assert Console(app, "gc_bureau").post("/rosters/generate", {"month": "2026-12"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(Roster.id))) == 0


@pytest.mark.parametrize("today, username, month, due", [
    (dt.date(2026, 12, 26), "gc_case", "2027-01", dt.date(2026, 12, 25)),   # guancheng: next month, across the year
    (dt.date(2026, 11, 30), "gc_case", "2026-12", dt.date(2026, 11, 25)),
    (dt.date(2026, 12, 1), "yj_case", "2026-12", dt.date(2026, 12, 10)),    # yijun: the current month, by the 10th
    (dt.date(2026, 12, 31), "yj_case", "2026-12", dt.date(2026, 12, 10)),
])
def test_the_month_prepared_and_its_due_day_come_from_the_profile(app, org, today, username, month, due):
    on(app, today)
    page = Console(app, username).get("/rosters").get_data(as_text=True)
    assert f'value="{month}"' in page and due.isoformat() in page


# --- changes against last month ------------------------------------------------------------------

def test_changes_new_raised_stopped_and_gradual_exit(app, org, two_cases):
    from server.operations import dynamic
    from server.operations.cases import perform

    a, b = two_cases
    c = paid_case(app, org, people=1, income_6m="0.00", seq=3)
    on(app, dt.date(2026, 10, 20))
    approve_month(app, "2026-11")
    on(app, TODAY)
    d = paid_case(app, org, people=1, income_6m="600.00", seq=4, day=dt.date(2026, 11, 1))   # new this month
    with app.app_context():
        director = db.session.scalar(select(User).where(User.username == "gc_dir"))
        dynamic.decide_change(db.session.get(Case, a), director, reasons="配偶失业，收入减少",
                              assessed_income_6m=D("600.00"), today=TODAY)      # (700 - 50) * 2 = 1300.00
        perform(db.session.get(Case, b), "stop", director, {"reasons": "户籍迁出本区"}, today=TODAY)
        perform(db.session.get(Case, c), "start_gradual_exit", director, {"reasons": "实现就业"},
                today=dt.date(2026, 10, 15))
    rid = generate(Console(app, "gc_case"), "2026-12")
    lines = {ln[0]: ln for ln in roster_row(app, rid)["lines"]}
    assert lines[a][2:7] == ("raised", D("1300.00"), D("1100.00"), "decision", "配偶失业，收入减少")
    assert lines[b][2:7] == ("stopped", D("0.00"), D("1933.33"), "stopped", "户籍迁出本区")
    # decided in October: December is the exit's third month, 80%
    assert lines[c][2:6] == ("lowered", D("560.00"), D("700.00"), "gradual_exit") and lines[c][7] == 80
    assert lines[d][2:5] == ("new", D("600.00"), None)
    row = roster_row(app, rid)
    assert row["households"] == 3 and row["people"] == 4 and row["total"] == D("2460.00")
    # February is the gradual exit's fifth month (October = first): 60%; made in January (next month only)
    on(app, dt.date(2027, 1, 20))
    rid = generate(Console(app, "gc_case"), "2027-02")
    line = next(ln for ln in roster_row(app, rid)["lines"] if ln[0] == c)
    assert line[3] == D("420.00") and line[7] == 60


def test_gradual_exit_pays_its_percentages_then_stops(app, org):
    c = paid_case(app, org, people=1, income_6m="0.00", seq=5, target="gradual_exit", day=dt.date(2026, 3, 1))
    on(app, dt.date(2026, 7, 20))
    rid = approve_month(app, "2026-08")     # decided in March: August is the sixth and last month, 60%
    assert roster_row(app, rid)["lines"] == [(c, "payment", "new", D("420.00"), None, "new", "", 60)]
    on(app, dt.date(2026, 8, 20))
    rid = generate(Console(app, "gc_case"), "2026-09")
    assert roster_row(app, rid)["lines"] == [(c, "payment", "stopped", D("0.00"), D("420.00"), "gradual_exit_ended",
                                              "", None)]
    assert roster_row(app, rid)["households"] == 0 and roster_row(app, rid)["total"] == D("0.00")


# --- signing, review, lateness, locking ------------------------------------------------------------

def test_sign_submit_return_and_approve(app, org, two_cases):
    gc, lead, bureau = Console(app, "gc_case"), Console(app, "gc_dir"), Console(app, "gc_bureau")
    rid = generate(gc, "2026-12")
    # guancheng: the 主要领导 (the director) only — not the leader in charge — with a drawn signature and CSRF
    assert gc.post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 403
    r = Console(app, "gc_lead").post(f"/rosters/{rid}/submit", {"signature": signature()})
    assert r.status_code == 403 and roster_row(app, rid)["status"] == "draft"
    assert 'id="submit"' not in Console(app, "gc_lead").get(f"/rosters/{rid}").get_data(as_text=True)
    page = lead.get(f"/rosters/{rid}").get_data(as_text=True)
    assert 'id="submit"' in page and "主要领导（主任）" in page
    r = lead.post(f"/rosters/{rid}/submit", {"opinion": "属实"})
    assert r.status_code == 422 and "签名" in r.get_data(as_text=True)
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature()}, csrf=False).status_code == 400
    assert roster_row(app, rid)["status"] == "draft"
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "approve"}).status_code == 409   # not submitted
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature(), "opinion": "属实"}).status_code == 302
    with app.app_context():
        roster = db.session.get(Roster, rid)
        assert roster.status == "submitted" and len(roster.signature_sha256) == 64
        assert roster.submitted_on == TODAY
    # submitted: no more changes from the unit
    assert gc.post("/rosters/generate", {"month": "2026-12"}).status_code == 409
    # the bureau: comments are required to return
    assert lead.post(f"/rosters/{rid}/review", {"decision": "return", "comments": "x"}).status_code == 403
    r = bureau.post(f"/rosters/{rid}/review", {"decision": "return", "comments": " "})
    assert r.status_code == 422 and "意见" in r.get_data(as_text=True)
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "maybe"}).status_code == 422
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "return", "comments": "请核实第2户人数"}).status_code == 302
    page = gc.get(f"/rosters/{rid}").get_data(as_text=True)
    assert "请核实第2户人数" in page
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 302
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "approve", "comments": "同意"}).status_code == 302
    assert roster_row(app, rid)["status"] == "approved"
    assert [audits(app, a) for a in ("roster.submit", "roster.return", "roster.approve")] == [2, 1, 1]


def test_an_approved_roster_is_locked(app, org, two_cases):
    a, _b = two_cases
    rid = approve_month(app, "2026-12")
    before = roster_row(app, rid)
    gc, lead, bureau = Console(app, "gc_case"), Console(app, "gc_dir"), Console(app, "gc_bureau")
    r = gc.post("/rosters/generate", {"month": "2026-12"})
    assert r.status_code == 409 and "锁定" in r.get_data(as_text=True)
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 409
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "return", "comments": "x"}).status_code == 409
    assert gc.post(f"/rosters/{rid}/adjustments", {"case_number": "x", "amount": "1", "reason": "r",
                                                   "corrects_month": "2026-11"}).status_code == 409
    assert roster_row(app, rid) == before
    with app.app_context():   # and the database layer refuses too
        roster = db.session.get(Roster, rid)
        roster.total = D("1.00")
        with pytest.raises(RosterLocked):
            db.session.flush()
        db.session.rollback()
        line = db.session.get(Roster, rid).lines[0]
        line.amount = D("1.00")
        with pytest.raises(RosterLocked):
            db.session.flush()
        db.session.rollback()
        roster = db.session.get(Roster, rid)
        roster.lines.remove(roster.lines[0])      # taken out of the collection: a delete of the line
        with pytest.raises(RosterLocked):
            db.session.flush()
        db.session.rollback()
    assert roster_row(app, rid) == before


@pytest.mark.parametrize("submitted_on, filing", [
    (dt.date(2026, 11, 25), "on_time"), (dt.date(2026, 11, 26), "late"), (dt.date(2026, 11, 10), "on_time")])
def test_late_filing(app, org, two_cases, submitted_on, filing):
    on(app, dt.date(2026, 11, 10))
    rid = generate(Console(app, "gc_case"), "2026-12")
    on(app, submitted_on)
    assert Console(app, "gc_dir").post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 302
    page = Console(app, "gc_bureau").get("/rosters/bureau?month=2026-12").get_data(as_text=True)
    assert f'data-unit="410104005" data-filing="{filing}"' in page


def test_bureau_sees_which_units_are_late(app, org, two_cases):
    rid = generate(Console(app, "gc_case"), "2026-12")
    assert Console(app, "gc_dir").post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 302
    bureau = Console(app, "gc_bureau")
    on(app, dt.date(2026, 11, 26))
    r = bureau.get("/rosters")
    assert r.status_code == 302 and r.headers["Location"].endswith("/rosters/bureau")
    page = bureau.get("/rosters/bureau?month=2026-12").get_data(as_text=True)
    overdue = page.index('data-unit="410104008" data-filing="overdue"')   # 二里岗 filed nothing
    on_time = page.index('data-unit="410104005" data-filing="on_time"')
    assert overdue < on_time                                                # late units first
    assert "610222002" not in page                                         # not this bureau's units
    assert bureau.get("/rosters/bureau?month=2026-1").status_code == 422
    assert Console(app, "gc_case").get("/rosters/bureau").status_code == 403


def test_scope_other_units_answer_404(app, org, two_cases):
    rid = generate(Console(app, "gc_case"), "2026-12")
    for username in ("other_case", "yj_case", "yj_bureau", "yj_lead"):
        c = Console(app, username)
        assert c.get(f"/rosters/{rid}").status_code == 404
        assert c.get(f"/rosters/{rid}/export.csv").status_code == 404
        assert c.post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code in (403, 404)
    assert Console(app, "yj_bureau").post(f"/rosters/{rid}/review", {"decision": "approve"}).status_code == 404
    assert Console(app, "gc_inv1").get("/rosters").status_code == 403
    assert Console(app, "gc_inv1").get(f"/rosters/{rid}").status_code == 404


# --- adjustments -------------------------------------------------------------------------------

def test_adjustments_correct_an_approved_roster_in_the_next_one(app, org, two_cases):
    a, b = two_cases
    on(app, dt.date(2026, 10, 20))
    approve_month(app, "2026-11")
    on(app, TODAY)
    gc = Console(app, "gc_case")
    rid = generate(gc, "2026-12")
    with app.app_context():
        na, nb = db.session.get(Case, a).number, db.session.get(Case, b).number
    ok = {"case_number": na, "amount": "50.00", "reason": "11月少发补发", "corrects_month": "2026-11"}
    for change, code, status in [
        ({"reason": ""}, "理由", 422), ({"amount": "0"}, "不能为0", 422), ({"amount": "12.345"}, "两位小数", 422),
        ({"amount": "abc"}, "两位小数", 422), ({"corrects_month": "2026-12"}, "以前", 422),
        ({"corrects_month": "2026-10"}, "尚未审批", 422), ({"case_number": "NOPE"}, "案件编号", 422),
    ]:
        r = gc.post(f"/rosters/{rid}/adjustments", {**ok, **change})
        assert r.status_code == status and code in r.get_data(as_text=True), change
    assert Console(app, "gc_lead").post(f"/rosters/{rid}/adjustments", ok).status_code == 403
    assert gc.post(f"/rosters/{rid}/adjustments", ok, csrf=False).status_code == 400
    assert gc.post(f"/rosters/{rid}/adjustments", ok).status_code == 302
    assert gc.post(f"/rosters/{rid}/adjustments", {**ok, "case_number": nb, "amount": "-33.33",
                                                   "reason": "多发追回"}).status_code == 302
    row = roster_row(app, rid)
    assert row["payments"] == D("3033.33") and row["adjustments"] == D("16.67") and row["total"] == D("3050.00")
    assert [ln[1] for ln in row["lines"]] == ["payment", "payment", "adjustment", "adjustment"]
    # regenerating keeps the adjustments
    with app.app_context():
        from server.operations.cases import perform

        director = db.session.scalar(select(User).where(User.username == "gc_dir"))
        perform(db.session.get(Case, b), "stop", director, {"reasons": "死亡"}, today=TODAY)
    generate(gc, "2026-12")
    row = roster_row(app, rid)
    assert row["total"] == D("1100.00") + D("16.67") and len(row["lines"]) == 4
    # and an adjustment can be taken out again while the roster is a draft
    with app.app_context():
        line_id = next(ln.id for ln in db.session.get(Roster, rid).lines if ln.kind == "adjustment")
    assert gc.post(f"/rosters/{rid}/adjustments/{line_id}/delete").status_code == 302
    assert len(roster_row(app, rid)["lines"]) == 3


# --- exports -----------------------------------------------------------------------------------

def _sum_csv(body: bytes) -> tuple[list[str], Decimal, Decimal, int]:
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, lines, total = rows[0], rows[1:-1], rows[-1]
    assert total[0] == "合计"
    for row in lines:
        assert row[6].count(".") == 1 and len(row[6].split(".")[1]) == 2   # amounts to the fen
    return header, sum(D(r[6]) for r in lines), D(total[6]), len(lines)


def _sum_xlsx(body: bytes) -> tuple[list[str], Decimal, Decimal, int]:
    wb = load_workbook(io.BytesIO(body))
    ws = wb["发放名册"]
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == "序号")
    lines, total = rows[header_at + 1:-1], rows[-1]
    assert total[0] == "合计"
    fen = lambda v: D(str(v)).quantize(D("0.01"))  # noqa: E731
    assert ws.cell(row=header_at + 2, column=7).number_format == "0.00"
    summary = dict((r[0], r[1]) for r in wb["汇总"].iter_rows(min_row=2, values_only=True))
    assert fen(summary["合计（元）"]) == fen(total[6])
    return list(rows[header_at]), sum(fen(r[6]) for r in lines), fen(total[6]), len(lines)


def test_exports_add_up(app, org, two_cases):
    paid_case(app, org, people=3, income_6m="1000.01", seq=7)   # another odd amount
    on(app, dt.date(2026, 10, 20))
    approve_month(app, "2026-11")
    on(app, TODAY)
    gc = Console(app, "gc_case")
    rid = generate(gc, "2026-12")
    with app.app_context():
        number = db.session.scalar(select(Case.number).order_by(Case.id))
    gc.post(f"/rosters/{rid}/adjustments", {"case_number": number, "amount": "-0.01", "reason": "尾差",
                                            "corrects_month": "2026-11"})
    expected = roster_row(app, rid)["total"]
    for fmt, reader in (("csv", _sum_csv), ("xlsx", _sum_xlsx)):
        r = gc.get(f"/rosters/{rid}/export.{fmt}")
        assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
        assert f"roster-410104005-2026-12.{fmt}" in r.headers["Content-Disposition"]
        header, summed, total, n = reader(r.data)
        assert header[:7] == ["序号", "类型", "案件编号", "户主姓名", "保障人数", "上月金额（元）", "本月金额（元）"]
        assert summed == total == expected and n == 4
    assert Console(app, "gc_bureau").get(f"/rosters/{rid}/export.xlsx").status_code == 200
    assert gc.get(f"/rosters/{rid}/export.pdf").status_code == 404


def test_exports_never_run_typed_text_as_a_formula(app, org, two_cases):
    """A reason typed for an adjustment is exported as the text it is: a spreadsheet opening the bank's copy
    must not run it (CSV/XLSX formula injection); a negative amount stays a number."""
    on(app, dt.date(2026, 10, 20))
    approve_month(app, "2026-11")
    on(app, TODAY)
    gc = Console(app, "gc_case")
    rid = generate(gc, "2026-12")
    with app.app_context():
        number = db.session.scalar(select(Case.number).order_by(Case.id))
    typed = '=HYPERLINK("http://evil.example/x","点击查看")'
    assert gc.post(f"/rosters/{rid}/adjustments", {"case_number": number, "amount": "-0.01", "reason": typed,
                                                   "corrects_month": "2026-11"}).status_code == 302
    rows = list(csv.reader(io.StringIO(gc.get(f"/rosters/{rid}/export.csv").data.decode("utf-8-sig"))))
    [line] = [r for r in rows if r[8].endswith(typed)]
    assert line[8] == "'" + typed and line[6] == "-0.01"
    ws = load_workbook(io.BytesIO(gc.get(f"/rosters/{rid}/export.xlsx").data))["发放名册"]
    [row] = [r for r in ws.iter_rows() if isinstance(r[8].value, str) and r[8].value.endswith(typed)]
    assert row[8].data_type == "s" and row[8].value == "'" + typed
    assert row[6].data_type == "n" and D(str(row[6].value)) == D("-0.01")


def test_print_page(app, org, two_cases):
    rid = approve_month(app, "2026-12")
    page = Console(app, "gc_bureau").get(f"/rosters/{rid}/print").get_data(as_text=True)
    assert "最低生活保障金发放名册（备案表）" in page and "3033.33" in page and "gc_bureau" in page


# --- the command line ------------------------------------------------------------------------------

@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_cli_generate_and_export(app, org, two_cases, cli, tmp_path):
    r = cli("rosters", "generate", "--unit", "410104005", "--month", "2026-12")
    assert r.exit_code == 0, r.output
    rid = int(r.stdout.strip())
    assert cli("rosters", "generate", "--unit", "410104005", "--month", "2026-12").stdout.strip() == str(rid)
    with app.app_context():
        assert db.session.get(Roster, rid).generated_by_label == "cli"
    for fmt, reader in (("csv", _sum_csv), ("xlsx", _sum_xlsx)):
        out = tmp_path / f"r.{fmt}"
        r = cli("rosters", "export", str(rid), "--format", fmt, "--out", str(out))
        assert r.exit_code == 0, r.output
        _header, summed, total, n = reader(out.read_bytes())
        assert summed == total == D("3033.33") and n == 2
    r = cli("rosters", "late", "--district", "410104", "--month", "2026-12", "--json")
    data = json.loads(r.stdout)
    assert [d["unit"] for d in data] == ["410104005", "410104008"] and data[0]["status"] == "draft"


@pytest.mark.parametrize("args, message", [
    (["rosters", "generate", "--unit", "410104005", "--month", "2026-13"], "YYYY-MM"),
    (["rosters", "generate", "--unit", "999", "--month", "2026-12"], "no such unit"),
    (["rosters", "generate", "--unit", "410104", "--month", "2026-12"], "not a street office"),
    (["rosters", "export", "999", "--format", "csv", "--out", "x.csv"], "no such roster"),
])
def test_cli_refusals(app, org, cli, args, message):
    r = cli(*args)
    assert r.exit_code != 0 and message in r.output


def test_cli_generate_refuses_an_approved_roster(app, org, two_cases, cli):
    approve_month(app, "2026-12")
    r = cli("rosters", "generate", "--unit", "410104005", "--month", "2026-12")
    assert r.exit_code == 1 and "locked" in r.output


# --- yijun ---------------------------------------------------------------------------------------

def test_yijun_roster_for_the_current_month(app, org):
    a = paid_case(app, org, office="yj", people=2, income_6m="1200.00", seq=8)   # (682 - 100) * 2 = 1164.00
    on(app, dt.date(2026, 12, 3))
    rid = generate(Console(app, "yj_case"), "2026-12")
    row = roster_row(app, rid)
    assert row["due_on"] == dt.date(2026, 12, 10) and row["lines"][0][:4] == (a, "payment", "new", D("1164.00"))
    with app.app_context():
        assert db.session.get(Roster, rid).finance_due_on == dt.date(2026, 12, 15)
    assert Console(app, "yj_lead").post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 302
    assert Console(app, "gc_bureau").post(f"/rosters/{rid}/review", {"decision": "approve"}).status_code == 404
    assert Console(app, "yj_bureau").post(f"/rosters/{rid}/review", {"decision": "approve"}).status_code == 302


def test_demo_rosters(app, org):
    """create_demo_rosters on an organisation with cases in payment (the lead calls it from load_demo)."""
    from server.operations.rosters import create_demo_rosters

    on(app, TODAY)
    paid_case(app, org, seq=9)
    paid_case(app, org, seq=10)
    paid_case(app, org, office="yj", seq=11)
    with app.app_context():
        create_demo_rosters()
        rosters = {(r.unit.code, r.month): r.status for r in db.session.scalars(select(Roster))}
    assert rosters == {("410104005", "2026-11"): "approved", ("410104005", "2026-12"): "draft",
                       ("610222002", "2026-10"): "approved", ("610222002", "2026-11"): "submitted"}


# --- issue 12: months, approval, and the money steps after approval -----------------------------------

def test_rosters_only_for_the_current_or_next_month(app, org, two_cases, cli):
    gc = Console(app, "gc_case")
    before = audits(app, "roster.generate")
    for month in ("2026-06", "2026-10", "2027-01"):        # TODAY is 2026-11-20
        r = gc.post("/rosters/generate", {"month": month})
        assert r.status_code == 422 and "只能生成本月或下月（2026-11 或 2026-12）" in r.get_data(as_text=True), month
    r = cli("rosters", "generate", "--unit", "410104005", "--month", "2026-06")
    assert r.exit_code == 1 and "current or next month" in r.output
    assert audits(app, "roster.generate") == before
    with app.app_context():
        assert db.session.scalar(select(func.count(Roster.id))) == 0
    assert roster_row(app, generate(gc, "2026-11"))["status"] == "draft"


def test_a_family_is_never_paid_for_months_before_its_approval(app, org):
    on(app, dt.date(2026, 9, 20))
    early = paid_case(app, org, seq=12)                                  # approved 2026-09-09
    late = paid_case(app, org, seq=13, day=dt.date(2026, 10, 1))         # approved 2026-10-09
    on(app, dt.date(2026, 10, 9))
    lines = {ln[0] for ln in roster_row(app, generate(Console(app, "gc_case"), "2026-10"))["lines"]}
    assert lines == {early, late}
    # a roster for September made now would pay the October family for September: it is not on it
    with app.app_context():
        from server.operations.rosters import compute_for

        unit = db.session.get(Unit, org.office)
        assert {ln.case_id for ln in compute_for(unit, "2026-09").lines} == {early}


def test_bureau_records_finance_and_payment_with_late_flags(app, org):
    paid_case(app, org, office="yj", seq=14)
    on(app, dt.date(2026, 12, 3))
    yj, lead, bureau = Console(app, "yj_case"), Console(app, "yj_lead"), Console(app, "yj_bureau")
    rid = generate(yj, "2026-12")
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 302
    r = bureau.post(f"/rosters/{rid}/steps", {"step": "finance", "on": "2026-12-03"})
    assert r.status_code == 409 and "审批后" in r.get_data(as_text=True)               # not approved yet
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "approve"}).status_code == 302
    on(app, dt.date(2026, 12, 20))
    page = bureau.get(f"/rosters/{rid}").get_data(as_text=True)
    assert 'id="step-finance"' in page and 'id="step-payment"' in page
    assert yj.post(f"/rosters/{rid}/steps", {"step": "finance", "on": "2026-12-14"}).status_code == 403
    assert bureau.post(f"/rosters/{rid}/steps", {"step": "finance", "on": "2026-12-14"},
                       csrf=False).status_code == 400
    r = bureau.post(f"/rosters/{rid}/steps", {"step": "payment", "on": "2026-12-18"})
    assert r.status_code == 409 and "财政局" in r.get_data(as_text=True)                # finance comes first
    assert bureau.post(f"/rosters/{rid}/steps", {"step": "finance", "on": "2026-12-21"}).status_code == 422  # future
    assert bureau.post(f"/rosters/{rid}/steps", {"step": "finance", "on": "2026-12-16", "note": "县财政局签收"}
                       ).status_code == 302
    assert bureau.post(f"/rosters/{rid}/steps", {"step": "finance", "on": "2026-12-16"}).status_code == 409
    assert bureau.post(f"/rosters/{rid}/steps", {"step": "payment", "on": "2026-12-18"}).status_code == 302
    with app.app_context():
        from server.models.money import RosterStep

        steps = {s.step: (s.on_date, s.due_on, s.late) for s in db.session.scalars(
            select(RosterStep).where(RosterStep.roster_id == rid))}
    assert steps == {"finance": (dt.date(2026, 12, 16), dt.date(2026, 12, 15), True),     # by the 15th: late
                     "payment": (dt.date(2026, 12, 18), None, False)}                      # yijun sets no day
    page = yj.get(f"/rosters/{rid}").get_data(as_text=True)
    assert 'data-step="finance"' in page and 'data-late="1"' in page
    overview = bureau.get("/rosters/bureau?month=2026-12").get_data(as_text=True)
    assert '<span data-step="finance" class="overdue" data-late="1">' in overview and "2026-12-16" in overview
    assert [audits(app, a) for a in ("roster.finance", "roster.payment")] == [1, 1]


def test_guancheng_payment_by_the_tenth(app, org, two_cases):
    rid = approve_month(app, "2026-12")
    on(app, dt.date(2026, 12, 10))
    bureau = Console(app, "gc_bureau")
    r = bureau.post(f"/rosters/{rid}/steps", {"step": "finance", "on": "2026-12-09"})
    assert r.status_code == 422                                         # guancheng has no finance step
    assert bureau.post(f"/rosters/{rid}/steps", {"step": "payment", "on": "2026-12-10"}).status_code == 302
    with app.app_context():
        from server.models.money import RosterStep

        step = db.session.scalar(select(RosterStep).where(RosterStep.roster_id == rid))
        assert (step.due_on, step.late) == (dt.date(2026, 12, 10), False)
