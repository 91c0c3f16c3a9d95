"""The bureau's supervision through HTTP: spot-check draws, visits and results, the assessment (entries,
confirmation, ranking, notices), the two rates (paper, phone, public QR survey) and the dashboard — each
action and its refusals (wrong role 403, other district 404, no CSRF token 400, bad input 4xx, nothing
changed)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import math
import secrets
import uuid
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    AuditEntry,
    Case,
    Device,
    Household,
    Member,
    RecordSnapshot,
    Unit,
    User,
    VisitAssignment,
)
from server.models.cases import CaseEvent
from server.models.oversight import (
    AssessmentItem,
    RectificationNotice,
    SpotCheckDraw,
    SpotCheckResult,
    TwoRatesResponse,
)
from sync.protocol import attestation_message
from tests.conftest import PASSWORD, csrf_token, id_number, sign_in

TODAY = dt.date(2026, 11, 20)     # a Friday, after the third quarter
YEAR = TODAY.year


# --- set-up ----------------------------------------------------------------------------------------

class Desk:
    """A signed-in console session."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        assert sign_in(self.client, username).status_code == 302

    def get(self, path: str):
        return self.client.get(path)

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, files: dict | None = None):
        body = dict(data or {})
        if csrf:
            body["csrf_token"] = csrf_token(self.client, "/")
        for key, (content, name, mime) in (files or {}).items():
            body[key] = (io.BytesIO(content), name, mime)
        return self.client.post(path, data=body, content_type="multipart/form-data")


def paying_case(office: Unit, community: Unit, n: int, *, decided_on: dt.date, status: str = "in_payment",
                income: str = "1200.00", people: int = 2) -> Case:
    """A household in payment, inserted directly (the workflow to get there is tested elsewhere)."""
    region = office.code[:6]
    members = [Member(position=i, name=f"测试{n}-{i}", id_number=id_number(region, dt.date(1960 + i, 1, 1 + n % 27), 100 + n * 3 + i),
                      relation="head" if i == 0 else "spouse", birth_date=dt.date(1960 + i, 1, 1 + n % 27),
                      sex="male" if i == 0 else "female") for i in range(people)]
    household = Household(unit_id=community.id, address=f"测试路{n}号", members=members)
    case = Case(number=f"T{office.code}-{n:04d}", household=household, office_unit_id=office.id,
                community_unit_id=community.id, profile_id=office.profile_id, status=status,
                applied_on=decided_on - dt.timedelta(days=25), accepted_on=decided_on - dt.timedelta(days=21),
                decided_on=decided_on, amount=Decimal("480.00"), assessed_income_6m=Decimal(income),
                declared_income_6m=Decimal(income), record={}, record_version=1)
    db.session.add(case)
    db.session.flush()
    db.session.add(RecordSnapshot(case_id=case.id, record_version=1, record={}))
    db.session.add(CaseEvent(case_id=case.id, seq=1, action="approve", from_status="publicity_closed",
                             to_status="approved", on_date=decided_on, data={"amount": "480.00"}))
    return case


@pytest.fixture
def world(app, org):
    return build_world(app, org)


def build_world(app, org):
    """org + a second bureau account per district + households in payment: 南关街 4 new and 6 registered,
    彭镇 3 registered; 二里岗 has none."""
    from server.operations.accounts import add_user

    app.config["RUHU_TODAY"] = TODAY
    with app.app_context():
        add_user("gc_bureau2", "bureau_supervisor", "410104", PASSWORD, "管城区抽查员")
        add_user("yj_bureau2", "bureau_supervisor", "610222", PASSWORD, "宜君县抽查员")
        office, c1 = db.session.get(Unit, org.office), db.session.get(Unit, org.c1)
        town, village = db.session.get(Unit, org.town), db.session.get(Unit, org.village)
        gc_cases = [paying_case(office, c1, n, decided_on=dt.date(YEAR, 3, 2) if n < 4 else dt.date(YEAR - 1, 6, 1))
                    for n in range(10)]
        gc_cases.append(paying_case(office, c1, 10, decided_on=dt.date(YEAR - 1, 6, 1), status="stopped"))
        yj_cases = [paying_case(town, village, 20 + n, decided_on=dt.date(YEAR - 1, 12, 1)) for n in range(3)]
        db.session.commit()
        org.gc_cases = [c.id for c in gc_cases[:10]]
        org.stopped_case = gc_cases[10].id
        org.yj_cases = [c.id for c in yj_cases]
        org.gc_bureau2 = db.session.scalar(select(User.id).where(User.username == "gc_bureau2"))
        org.yj_bureau2 = db.session.scalar(select(User.id).where(User.username == "yj_bureau2"))
    return org


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audits(app, action: str) -> int:
    return count(app, AuditEntry, AuditEntry.action == action)


def draw(app, world, seed: int = 7, unit: str = "office", username: str = "gc_bureau", **extra) -> int:
    desk = Desk(app, username)
    r = desk.post("/oversight/spotchecks/draw", {"unit": str(getattr(world, unit)), "year": str(YEAR),
                                                  "seed": str(seed), "stratify": "1", **extra})
    assert r.status_code == 302, r.get_data(as_text=True)[-3000:]
    return int(r.headers["Location"].rsplit("/", 1)[1])


# --- access ------------------------------------------------------------------------------------------

PAGES = ["/oversight", "/oversight/spotchecks", "/oversight/assessment", "/oversight/two-rates",
         "/oversight/export/stages.csv"]


@pytest.mark.parametrize("username", ["gc_case", "gc_lead", "gc_dir", "gc_inv1", "gc_admin"])
@pytest.mark.parametrize("path", PAGES)
def test_only_bureau_supervisors_see_the_oversight_pages(app, world, username, path):
    assert Desk(app, username).get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_oversight_pages_need_sign_in(app, world, path):
    r = app.test_client().get(path)
    assert r.status_code == 302 and "/?next=" in r.headers["Location"]


@pytest.mark.parametrize("username, path", [("gc_bureau", p) for p in PAGES] + [("yj_bureau", p) for p in PAGES])
def test_bureau_pages_render_in_both_languages(app, world, username, path):
    desk = Desk(app, username)
    for lang in ("zh", "en"):
        r = desk.get(path + f"?lang={lang}")
        assert r.status_code == 200, path


@pytest.mark.parametrize("query", ["?year=abc", "?year=1999", f"?year={YEAR + 1}"])
def test_a_bad_year_is_refused(app, world, query):
    assert Desk(app, "gc_bureau").get("/oversight" + query).status_code == 400


def test_a_bureau_sees_only_its_district_units(app, world):
    page = Desk(app, "gc_bureau").get("/oversight/spotchecks").get_data(as_text=True)
    assert "南关街街道办事处" in page and "二里岗街道办事处" in page and "彭镇" not in page


# --- spot checks: drawing -------------------------------------------------------------------------------

def test_a_draw_takes_at_least_the_share_of_each_stratum_from_the_recorded_seed(app, world):
    draw_id = draw(app, world, seed=7)
    with app.app_context():
        row = db.session.get(SpotCheckDraw, draw_id)
        assert (row.seed, row.year, row.population_size, Decimal(row.share)) == (7, YEAR, 10, Decimal("0.30"))
        strata = {s["name"]: s for s in row.strata}
        assert len(strata["new"]["drawn"]) == math.ceil(4 * 0.3) == 2
        assert len(strata["registered"]["drawn"]) == math.ceil(6 * 0.3) == 2
        assert set(row.drawn_case_ids) <= set(world.gc_cases) and world.stopped_case not in row.drawn_case_ids
        households = {db.session.get(Case, c).household_id for c in row.drawn_case_ids}
        assert households == set(row.drawn_household_ids)
    page = Desk(app, "gc_bureau").get(f"/oversight/spotchecks/{draw_id}").get_data(as_text=True)
    assert 'data-seed>7<' in page and "结果一致" in page
    assert audits(app, "spotcheck.draw") == 1


def test_the_same_seed_gives_the_recorded_draw(app, world):
    first = draw(app, world, seed=99)
    again = draw(app, world, seed=99)
    assert first == again and count(app, SpotCheckDraw) == 1
    other = draw(app, world, seed=100)
    assert other != first and count(app, SpotCheckDraw) == 2


def test_an_unstratified_draw_pools_the_households(app, world):
    desk = Desk(app, "gc_bureau")
    r = desk.post("/oversight/spotchecks/draw", {"unit": str(world.office), "year": str(YEAR), "seed": "5"})
    assert r.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(SpotCheckDraw))
        assert row.stratified is False and len(row.drawn_case_ids) == 3


def test_a_raised_share_draws_more(app, world):
    draw_id = draw(app, world, seed=3, share="0.50")
    with app.app_context():
        assert len(db.session.get(SpotCheckDraw, draw_id).drawn_case_ids) == 2 + 3


@pytest.mark.parametrize("data, status, message", [
    ({"seed": "abc"}, 422, "随机种子应为整数"),
    ({"seed": "-1"}, 422, "随机种子应为0到"),
    ({"seed": str(2**31)}, 422, "随机种子应为0到"),
    ({"share": "0.10"}, 422, "抽查比例不能低于0.30"),
    ({"share": "1.5"}, 422, "抽查比例应为0到1之间的小数"),
    ({"share": "NaN"}, 422, "抽查比例应为0到1之间的小数"),
    ({"unit": ""}, 422, "请选择抽查的单位"),
    ({"unit": "other"}, 409, "没有可抽查的在保家庭"),
])
def test_draw_refusals_change_nothing(app, world, data, status, message):
    body = {"unit": str(world.office), "year": str(YEAR), "seed": "7", "stratify": "1", **data}
    if body["unit"] == "other":
        body["unit"] = str(world.other)
    r = Desk(app, "gc_bureau").post("/oversight/spotchecks/draw", body)
    assert r.status_code == status
    assert message in r.get_data(as_text=True)
    assert count(app, SpotCheckDraw) == 0 and audits(app, "spotcheck.draw") == 0


def test_draw_refusals_by_role_district_and_csrf(app, world):
    body = {"unit": str(world.office), "year": str(YEAR), "seed": "7"}
    assert Desk(app, "gc_case").post("/oversight/spotchecks/draw", body).status_code == 403
    assert Desk(app, "yj_bureau").post("/oversight/spotchecks/draw", body).status_code == 404
    assert Desk(app, "gc_bureau").post("/oversight/spotchecks/draw", {**body, "unit": str(world.c1)}).status_code == 404
    assert Desk(app, "gc_bureau").post("/oversight/spotchecks/draw", body, csrf=False).status_code == 400
    assert Desk(app, "gc_bureau").post("/oversight/spotchecks/draw", {**body, "year": str(YEAR + 1)}).status_code == 400
    assert count(app, SpotCheckDraw) == 0


def test_another_districts_draw_does_not_exist(app, world):
    draw_id = draw(app, world)
    yj = Desk(app, "yj_bureau")
    assert yj.get(f"/oversight/spotchecks/{draw_id}").status_code == 404
    assert yj.post(f"/oversight/spotchecks/{draw_id}/assign", {"team": [str(world.yj_bureau)]}).status_code == 404
    assert yj.post(f"/oversight/spotchecks/{draw_id}/collect").status_code == 404
    assert Desk(app, "gc_bureau").get("/oversight/spotchecks/999999").status_code == 404


def test_last_place_last_year_raises_the_share(app, world):
    """宜君: a unit ranked last in last year's confirmed assessment is drawn at the profile's raised share."""
    from server.operations import oversight as ops

    with app.app_context():
        yj = db.session.get(Unit, world.yj)
        bureau = db.session.get(User, world.yj_bureau)
        # A second township so that the ranking has a last place below the top three.
        from server import services
        from server.operations.accounts import add_unit
        extra = [add_unit(f"61022200{n}", f"测试镇{n}", "township", "yijun", yj, known_profiles=services().profiles)
                 for n in (3, 4, 5)]
        db.session.commit()
        town = db.session.get(Unit, world.town)
        for unit in (*extra, town):
            ops.enter_item(unit, YEAR - 1, bureau, kind="entered", period=0, key="organisation",
                           points="1" if unit.id == town.id else "4", evidence="年终检查", today=TODAY)
        ops.confirm_period(yj, YEAR - 1, 0, bureau, today=TODAY)
    page = Desk(app, "yj_bureau").get("/oversight/spotchecks").get_data(as_text=True)
    assert "末位加大" in page
    r = Desk(app, "yj_bureau").post("/oversight/spotchecks/draw", {"unit": str(world.town), "year": str(YEAR),
                                                                    "seed": "1", "stratify": "1"})
    assert r.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(SpotCheckDraw))
        assert Decimal(row.share) == Decimal("0.50") and len(row.drawn_case_ids) == 2   # ceil(3 x 0.5)
    r = Desk(app, "yj_bureau").post("/oversight/spotchecks/draw", {"unit": str(world.town), "year": str(YEAR),
                                                                    "seed": "2", "share": "0.40"})
    assert r.status_code == 422 and "抽查比例不能低于0.50" in r.get_data(as_text=True)


# --- spot checks: visits and results -----------------------------------------------------------------------

def test_assigning_sends_the_drawn_households_to_a_bureau_team(app, world):
    draw_id = draw(app, world)
    r = Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/assign",
                                    {"team": [str(world.gc_bureau), str(world.gc_bureau2)], "note": "周三上午"})
    assert r.status_code == 302
    with app.app_context():
        drawn = db.session.get(SpotCheckDraw, draw_id).drawn_case_ids
        rows = db.session.scalars(select(VisitAssignment).where(VisitAssignment.kind == "spot_check")).all()
        assert sorted(a.case_id for a in rows) == sorted(drawn)
        assert all(a.status == "open" and {u.username for u in a.team} == {"gc_bureau", "gc_bureau2"} for a in rows)
    assert audits(app, "spotcheck.assign") == 1
    # re-assigning replaces the open ones
    Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/assign",
                                {"team": [str(world.gc_bureau), str(world.gc_bureau2)], "cases": [str(drawn[0])]})
    with app.app_context():
        statuses = [a.status for a in db.session.scalars(select(VisitAssignment).where(VisitAssignment.case_id == drawn[0]))]
        assert sorted(statuses) == ["cancelled", "open"]


@pytest.mark.parametrize("team, status, message", [
    (["gc_bureau"], 422, "入户调查每组不少于2人"),
    (["gc_bureau", "gc_case"], 422, "抽查人员须为本区（县）民政局的监管人员"),
    (["gc_bureau", "yj_bureau"], 422, "抽查人员须为本区（县）民政局的监管人员"),
    (["gc_bureau", "abc"], 422, "选择无效"),
])
def test_assignment_refusals(app, world, team, status, message):
    draw_id = draw(app, world)
    ids = [str(getattr(world, t)) if hasattr(world, t) else t for t in team]
    r = Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/assign", {"team": ids})
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert count(app, VisitAssignment) == 0


def test_assignment_refusals_by_role_and_csrf(app, world):
    draw_id = draw(app, world)
    body = {"team": [str(world.gc_bureau), str(world.gc_bureau2)]}
    assert Desk(app, "gc_case").post(f"/oversight/spotchecks/{draw_id}/assign", body).status_code == 403
    assert Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/assign", body, csrf=False).status_code == 400
    r = Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/assign", {**body, "cases": [str(world.stopped_case)]})
    assert r.status_code == 422 and "不在本次抽取名单中" in r.get_data(as_text=True)
    assert count(app, VisitAssignment) == 0


def result_form(case_id: int, **extra) -> dict:
    return {"case": str(case_id), "household_found": "1", "members_match": "1", "accuracy": "accurate",
            "income_found_6m": "1200", "notes": "入户核实一致", **extra}


def test_results_give_the_accuracy_per_unit(app, world):
    draw_id = draw(app, world)
    desk = Desk(app, "gc_bureau")
    desk.post(f"/oversight/spotchecks/{draw_id}/assign", {"team": [str(world.gc_bureau), str(world.gc_bureau2)]})
    with app.app_context():
        drawn = db.session.get(SpotCheckDraw, draw_id).drawn_case_ids
    outcomes = ["accurate", "minor_issue", "wrong", "accurate"]
    for case_id, outcome in zip(drawn, outcomes, strict=True):
        extra = {"accuracy": outcome}
        if outcome == "wrong":
            extra.update(members_match="0", income_found_6m="3000", notes="家中有未申报的经营收入")
        r = desk.post(f"/oversight/spotchecks/{draw_id}/results", result_form(case_id, **extra))
        assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    with app.app_context():
        rows = db.session.scalars(select(SpotCheckResult)).all()
        assert sorted(r.accuracy for r in rows) == sorted(outcomes)
        wrong = next(r for r in rows if r.accuracy == "wrong")
        assert (wrong.income_found_6m, wrong.income_recorded_6m, wrong.members_match) == (3000, 1200, False)
        assert all(r.source == "console" and r.members_recorded == 2 for r in rows)
        assert db.session.scalar(select(func.count()).select_from(VisitAssignment).where(
            VisitAssignment.status == "open")) == 0
    page = desk.get(f"/oversight/spotchecks/{draw_id}").get_data(as_text=True)
    assert "与登记不符" in page and "家中有未申报的经营收入" in page
    # (1 + 0.5 + 0 + 1) / 4 = 62.5%
    dashboard = desk.get(f"/oversight?year={YEAR}").get_data(as_text=True)
    assert "62.5%" in dashboard
    csv_text = desk.get(f"/oversight/export/accuracy.csv?year={YEAR}").get_data(as_text=True)
    assert "410104005,南关街街道办事处,4,2,1,1,62.5%" in csv_text
    assert audits(app, "spotcheck.result") == 4


@pytest.mark.parametrize("change, status, message", [
    ({"accuracy": ""}, 422, "请选择登记信息准确性"),
    ({"accuracy": "great"}, 422, "请选择登记信息准确性"),
    ({"household_found": ""}, 422, "请选择是否找到该户"),
    ({"members_match": ""}, 422, "请填写家庭成员是否与登记一致"),
    ({"household_found": "0", "accuracy": "accurate"}, 422, "未找到该户时不能认定为“准确”"),
    ({"income_found_6m": "12.345"}, 422, "抽查核实的6个月收入应为不小于0、最多两位小数的金额"),
    ({"notes": "很" * 2001}, 422, "情况说明最多2000字"),
    ({"case": "stopped"}, 422, "所选家庭不在本次抽取名单中"),
    ({"case": ""}, 422, "请选择抽查的家庭"),
])
def test_result_refusals_change_nothing(app, world, change, status, message):
    draw_id = draw(app, world)
    with app.app_context():
        case_id = db.session.get(SpotCheckDraw, draw_id).drawn_case_ids[0]
    data = result_form(case_id, **change)
    if data["case"] == "stopped":
        data["case"] = str(world.stopped_case)
    r = Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/results", data)
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert count(app, SpotCheckResult) == 0 and audits(app, "spotcheck.result") == 0


def test_a_household_not_found_is_recorded_without_members(app, world):
    draw_id = draw(app, world)
    with app.app_context():
        case_id = db.session.get(SpotCheckDraw, draw_id).drawn_case_ids[0]
    r = Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/results",
                                    result_form(case_id, household_found="0", accuracy="wrong", members_match="1"))
    assert r.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(SpotCheckResult))
        assert row.household_found is False and row.members_match is None


def test_a_result_is_recorded_once(app, world):
    draw_id = draw(app, world)
    with app.app_context():
        case_id = db.session.get(SpotCheckDraw, draw_id).drawn_case_ids[0]
    desk = Desk(app, "gc_bureau")
    assert desk.post(f"/oversight/spotchecks/{draw_id}/results", result_form(case_id)).status_code == 302
    r = desk.post(f"/oversight/spotchecks/{draw_id}/results", result_form(case_id, accuracy="wrong"))
    assert r.status_code == 409 and count(app, SpotCheckResult) == 1
    assert Desk(app, "gc_case").post(f"/oversight/spotchecks/{draw_id}/results", result_form(case_id)).status_code == 403
    assert desk.post(f"/oversight/spotchecks/{draw_id}/results", result_form(case_id), csrf=False).status_code == 400


# --- spot checks from the phones -------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 30), (20, 20, 20)).save(buf, "PNG")
    return buf.getvalue()


class Phone:
    """A bureau inspector's phone, registered directly (enrolling bureau phones is the sync area's)."""

    def __init__(self, app, client, user_id: int):
        self.client, self.key, self.token = client, ec.generate_private_key(ec.SECP256R1()), secrets.token_urlsafe(24)
        n = self.key.public_key().public_numbers()
        self.device_id = str(uuid.uuid4())
        with app.app_context():
            db.session.add(Device(id=self.device_id, user_id=user_id, name="测试手机",
                                  public_key={"kty": "EC", "crv": "P-256", "x": b64url(n.x.to_bytes(32, "big")),
                                              "y": b64url(n.y.to_bytes(32, "big"))},
                                  token_hash=hashlib.sha256(self.token.encode()).hexdigest()))
            db.session.commit()

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def pull(self) -> dict:
        r = self.client.get("/api/v1/sync/pull", headers=self.auth)
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.json

    def put(self, data: bytes, mime: str = "image/png"):
        return self.client.put(f"/api/v1/attachments/{hashlib.sha256(data).hexdigest()}", data=data,
                               headers={**self.auth, "Content-Type": mime})

    def post_visit(self, envelope: dict):
        return self.client.post("/api/v1/visits", json=envelope, headers={**self.auth, "Idempotency-Key": envelope["visit_id"]})

    def attest(self, visit_id: str, content_hash: str):
        der = self.key.sign(attestation_message(visit_id, content_hash), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return self.client.post("/api/v1/attestations", headers=self.auth, json={
            "visit_id": visit_id, "content_hash": content_hash, "device_id": self.device_id,
            "signature": b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))})


def envelope(assignment: dict, form_id: str, answers: dict, investigators: list[int], attachments=()) -> dict:
    return {"protocol": 1, "visit_id": str(uuid.uuid4()), "assignment_id": assignment["assignment_id"],
            "case_id": assignment["case_id"], "form_id": form_id, "form_version": 1,
            "base_version": assignment["base_version"], "supersedes": None, "answers": answers,
            "attachments": list(attachments), "investigators": investigators,
            "gps": {"start": {"refused": True}, "finish": {"refused": True}},
            "started_at": f"{TODAY.isoformat()}T09:00:00+08:00", "finished_at": f"{TODAY.isoformat()}T09:40:00+08:00"}


SPOT_ANSWERS = {"household": {"household_found": True, "members_match": False},
                "income": {"total": ["500.00", "500", "500", "500", "500", "500.50"]},
                "findings": {"accuracy": "wrong", "notes": "实际共同生活人数少一人"}}


@pytest.fixture
def phones(app, world):
    draw_id = draw(app, world)
    Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/assign",
                                {"team": [str(world.gc_bureau), str(world.gc_bureau2)]})
    client = app.test_client()
    return draw_id, Phone(app, client, world.gc_bureau), Phone(app, client, world.gc_bureau2)


def push_spot_check(phones, world, answers=SPOT_ANSWERS, attest_both=True):
    _draw_id, one, two = phones
    assignment = next(a for a in one.pull()["assignments"] if a["kind"] == "spot_check")
    assert assignment["form_id"] == "spot_check"
    sig = png()
    assert one.put(sig).status_code in (200, 201)
    env = envelope(assignment, "spot_check", answers, [world.gc_bureau, world.gc_bureau2],
                   [{"sha256": hashlib.sha256(sig).hexdigest(), "size": len(sig), "type": "image/png",
                     "role": "signature", "slot": "investigators"}])
    r = one.post_visit(env)
    assert r.status_code == 201, r.get_data(as_text=True)
    content_hash = r.json["content_hash"]
    assert one.attest(env["visit_id"], content_hash).status_code == 201
    if attest_both:
        assert two.attest(env["visit_id"], content_hash).status_code == 201
    return assignment, env


def test_a_synced_spot_check_becomes_a_result(app, world, phones):
    draw_id = phones[0]
    assignment, env = push_spot_check(phones, world)
    desk = Desk(app, "gc_bureau")
    assert "1户待接收" in desk.get(f"/oversight/spotchecks/{draw_id}").get_data(as_text=True)
    r = desk.post(f"/oversight/spotchecks/{draw_id}/collect")
    assert r.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(SpotCheckResult))
        assert (row.case_id, row.visit_id, row.source, row.accuracy) == (assignment["case_id"], env["visit_id"], "visit", "wrong")
        assert row.income_found_6m == Decimal("3000.50") and row.members_match is False
        assert row.notes == "实际共同生活人数少一人"
        assert db.session.get(VisitAssignment, assignment["assignment_id"]).status == "done"
    # collecting again adds nothing
    assert desk.post(f"/oversight/spotchecks/{draw_id}/collect").status_code == 302
    assert count(app, SpotCheckResult) == 1 and audits(app, "spotcheck.collect") == 1


def test_a_spot_check_signed_by_one_inspector_is_not_taken(app, world, phones):
    push_spot_check(phones, world, attest_both=False)
    assert Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{phones[0]}/collect").status_code == 302
    assert count(app, SpotCheckResult) == 0


def test_a_two_rates_survey_made_on_a_spot_check_visit_is_counted(app, world, phones):
    draw_id, one, two = phones
    assignment = next(a for a in one.pull()["assignments"] if a["kind"] == "spot_check")
    assert assignment["extra_forms"] == [{"form_id": "two_rates", "form_version": 1}]
    answers = {"respondent": {"kind": "neighbour"}, "awareness": {"knows_policy": "partly"},
               "satisfaction": {"rating": "unsatisfied", "comments": "希望公示更及时"}}
    env = envelope(assignment, "two_rates", answers, [world.gc_bureau, world.gc_bureau2])
    r = one.post_visit(env)
    assert r.status_code == 201, r.get_data(as_text=True)
    for phone in (one, two):
        assert phone.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    # the survey is an extra record of the trip: the spot check itself is still to be done
    assert assignment["assignment_id"] in [a["assignment_id"] for a in one.pull()["assignments"]]
    assert Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/collect").status_code == 302
    with app.app_context():
        row = db.session.scalar(select(TwoRatesResponse))
        assert (row.source, row.respondent, row.aware, row.satisfied, row.visit_id) == \
            ("visit", "neighbour", True, False, env["visit_id"])
        assert count(app, SpotCheckResult) == 0


# --- two rates ---------------------------------------------------------------------------------------------

def paper(unit_id: int, **extra) -> dict:
    return {"unit": str(unit_id), "respondent": "household", "surveyed_on": TODAY.isoformat(), "count": "20",
            "aware": "18", "satisfied": "15", **extra}


def test_paper_questionnaires_give_the_two_rates_with_sample_sizes(app, world):
    desk = Desk(app, "gc_bureau")
    assert desk.post("/oversight/two-rates/paper", paper(world.office)).status_code == 302
    assert desk.post("/oversight/two-rates/paper", paper(world.office, respondent="neighbour", count="5",
                                                         aware="2", satisfied="5")).status_code == 302
    with app.app_context():
        assert count(app, TwoRatesResponse, TwoRatesResponse.unit_id == world.office) == 25
    page = desk.get("/oversight/two-rates").get_data(as_text=True)
    assert "80.0%" in page and "80.0%" in page   # 20/25 aware, 20/25 satisfied
    csv_text = desk.get("/oversight/export/two_rates.csv").get_data(as_text=True)
    assert "410104005,南关街街道办事处,25,20,80.0%,20,80.0%" in csv_text
    assert audits(app, "tworates.paper") == 2


@pytest.mark.parametrize("change, status, message", [
    ({"aware": "21"}, 422, "知晓、满意的份数应在0至问卷份数之间"),
    ({"satisfied": "-1"}, 422, "知晓、满意的份数应在0至问卷份数之间"),
    ({"count": "0"}, 422, "问卷份数应在1至500之间"),
    ({"count": "abc"}, 422, "问卷份数应为整数"),
    ({"respondent": "cat"}, 422, "请选择受访人类别"),
    ({"surveyed_on": "2026-13-01"}, 422, "调查日期应为 YYYY-MM-DD 格式的日期"),
    ({"surveyed_on": (TODAY + dt.timedelta(days=1)).isoformat()}, 422, "调查日期不能晚于今天"),
    ({"unit": ""}, 422, "请选择单位"),
])
def test_paper_refusals_change_nothing(app, world, change, status, message):
    r = Desk(app, "gc_bureau").post("/oversight/two-rates/paper", paper(world.office, **change))
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert count(app, TwoRatesResponse) == 0


def test_paper_refusals_by_role_district_and_csrf(app, world):
    assert Desk(app, "gc_case").post("/oversight/two-rates/paper", paper(world.office)).status_code == 403
    assert Desk(app, "yj_bureau").post("/oversight/two-rates/paper", paper(world.office)).status_code == 404
    assert Desk(app, "gc_bureau").post("/oversight/two-rates/paper", paper(world.office), csrf=False).status_code == 400
    assert count(app, TwoRatesResponse) == 0


def public_post(client, code: str, **answers):
    page = client.get(f"/survey/{code}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post(f"/survey/{code}", data={"csrf_token": token, "respondent": "resident", "knows": "aware",
                                                "rating": "basically", **answers})


def test_the_public_survey_takes_one_anonymous_answer_per_browser(app, world):
    client = app.test_client()
    page = client.get("/survey/410104005")
    assert page.status_code == 200 and "南关街街道办事处" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    r = public_post(client, "410104005")
    assert r.status_code == 200 and "您的意见已收到" in r.get_data(as_text=True), r.get_data(as_text=True)[-800:]
    with app.app_context():
        row = db.session.scalar(select(TwoRatesResponse))
        assert (row.source, row.aware, row.satisfied, row.unit_id, row.entered_by_id) == \
            ("public", True, True, world.office, None)
    again = client.post("/survey/410104005", data={"csrf_token": csrf_token(client, "/"), "respondent": "resident",
                                                   "knows": "unaware", "rating": "unsatisfied"})
    assert again.status_code == 200 and "已经参加过" in again.get_data(as_text=True), again.get_data(as_text=True)[-800:]
    assert count(app, TwoRatesResponse) == 1
    assert "已经参加过" in client.get("/survey/410104005").get_data(as_text=True)
    # another browser may answer
    assert public_post(app.test_client(), "410104005", knows="unaware").status_code == 200
    assert count(app, TwoRatesResponse) == 2


@pytest.mark.parametrize("answers, message", [
    ({"knows": ""}, "请回答全部问题"),
    ({"rating": "great"}, "请回答全部问题"),
    ({"respondent": "mayor"}, "请回答全部问题"),
])
def test_the_public_survey_refuses_incomplete_answers(app, world, answers, message):
    r = public_post(app.test_client(), "410104005", **answers)
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert count(app, TwoRatesResponse) == 0


@pytest.mark.parametrize("code", ["999999999", "410104005001", "410104", "x" * 40])
def test_the_public_survey_exists_only_for_offices(app, world, code):
    assert app.test_client().get(f"/survey/{code}").status_code == 404


def test_the_public_survey_needs_its_csrf_token(app, world):
    r = app.test_client().post("/survey/410104005", data={"respondent": "resident", "knows": "aware",
                                                           "rating": "satisfied"})
    assert r.status_code == 400 and count(app, TwoRatesResponse) == 0


def test_the_two_rates_page_prints_the_public_qr_code(app, world):
    page = Desk(app, "gc_bureau").get("/oversight/two-rates").get_data(as_text=True)
    assert "/survey/410104005" in page and "<svg" in page


# --- the assessment ---------------------------------------------------------------------------------

def item(kind: str, **extra) -> dict:
    return {"year": str(YEAR), "kind": kind, "evidence": "季度检查：台账齐全", **extra}


def test_the_assessment_is_off_in_the_guancheng_profile(app, world):
    desk = Desk(app, "gc_bureau")
    assert "未启用考核评分" in desk.get("/oversight/assessment").get_data(as_text=True)
    r = desk.post(f"/oversight/assessment/units/{world.office}/items", item("entered", item="1:standardisation",
                                                                             points="5"))
    assert r.status_code == 409 and count(app, AssessmentItem) == 0
    assert desk.post("/oversight/assessment/confirm", {"year": str(YEAR), "period": "1"}).status_code == 409


def test_entering_an_item_replaces_the_earlier_entry_and_is_audited(app, world):
    desk = Desk(app, "yj_bureau")
    url = f"/oversight/assessment/units/{world.town}/items"
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    assert desk.post(url, item("entered", item="1:standardisation", points="4.5"),
                     files={"evidence_file": (pdf, "check.pdf", "application/pdf")}).status_code == 302
    assert desk.post(url, item("entered", item="1:standardisation", points="5", evidence="复查后改判")).status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(AssessmentItem).where(AssessmentItem.kind == "entered")).all()
        assert [(r.quarter, r.item_key, r.points, r.evidence) for r in rows] == [(1, "standardisation", Decimal("5.0"), "复查后改判")]
        assert rows[0].attachment_sha256 is not None
        item_id = rows[0].id
        entries = db.session.scalars(select(AssessmentItem).where(AssessmentItem.id == item_id)).all()
        assert len(entries) == 1
    assert audits(app, "assessment.entered") == 2
    page = desk.get(f"/oversight/assessment/units/{world.town}").get_data(as_text=True)
    assert "复查后改判" in page
    evidence = desk.get(f"/oversight/assessment/items/{item_id}/evidence")
    assert evidence.status_code == 200 and evidence.data == pdf and "attachment" in evidence.headers["Content-Disposition"]
    evidence.close()
    assert Desk(app, "gc_bureau").get(f"/oversight/assessment/items/{item_id}/evidence").status_code == 404


@pytest.mark.parametrize("data, status, message", [
    (item("entered", item="1:standardisation", points="7"), 422, "最高6分"),
    (item("entered", item="1:standardisation", points="-1"), 422, "分值应为不小于0、最多一位小数的数"),
    (item("entered", item="1:standardisation", points="4.25"), 422, "分值应为不小于0、最多一位小数的数"),
    (item("entered", item="1:standardisation", points="abc"), 422, "分值应为不小于0、最多一位小数的数"),
    (item("entered", item="1:standardisation", points="5", evidence=""), 422, "请填写评分依据"),
    (item("entered", item="1:on_time", points="5"), 422, "该考核项目不需录入"),
    (item("entered", item="0:standardisation", points="5"), 422, "该考核项目不需录入"),
    (item("entered", item="7:standardisation", points="5"), 422, "考核期次无效"),
    (item("entered", item="standardisation", points="5"), 422, "请选择考核项目"),
    (item("bonus", label="", points="2"), 422, "请填写加分事项"),
    (item("bonus", label="创新", points="6"), 422, "加分应大于0且不超过5分"),
    (item("bonus", label="创新", points="0"), 422, "加分应大于0且不超过5分"),
    (item("deduction", period="1", key="nope", points="1"), 422, "请选择扣分原因"),
    (item("deduction", period="1", key="media", points="21"), 422, "扣分应大于0且不超过20分"),
    (item("deduction", period="x", key="media", points="1"), 422, "请选择考核期次"),
    (item("target", key="coverage", value="0"), 422, "指标任务人数应为正整数"),
    (item("target", key="coverage", value="many"), 422, "指标任务人数应为正整数"),
    (item("wish", key="x"), 422, "录入类别无效"),
])
def test_item_refusals_change_nothing(app, world, data, status, message):
    r = Desk(app, "yj_bureau").post(f"/oversight/assessment/units/{world.town}/items", data)
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert count(app, AssessmentItem) == 0


def test_item_refusals_by_role_district_and_csrf(app, world):
    data = item("entered", item="1:standardisation", points="5")
    assert Desk(app, "yj_case").post(f"/oversight/assessment/units/{world.town}/items", data).status_code == 403
    assert Desk(app, "gc_bureau").post(f"/oversight/assessment/units/{world.town}/items", data).status_code == 404
    assert Desk(app, "yj_bureau").post(f"/oversight/assessment/units/{world.village}/items", data).status_code == 404
    assert Desk(app, "yj_bureau").post(f"/oversight/assessment/units/{world.town}/items", data, csrf=False).status_code == 400
    assert Desk(app, "gc_bureau").get(f"/oversight/assessment/units/{world.town}").status_code == 404
    assert count(app, AssessmentItem) == 0


def test_bonus_counts_one_matter_once_at_its_highest_and_at_most_the_cap(app, world):
    desk = Desk(app, "yj_bureau")
    url = f"/oversight/assessment/units/{world.town}/items"
    for label, points in (("市级表彰：救助创新", "2"), ("市级表彰：救助创新 ", "3"), ("省级先进集体", "4")):
        assert desk.post(url, item("bonus", label=label, points=points)).status_code == 302
    from server.operations.oversight import ranking

    with app.app_context():
        _ranked, scores = ranking(db.session.get(Unit, world.yj), YEAR, TODAY)
        assert scores[world.town].bonus == Decimal("5")          # 3 + 4 = 7, capped at 5
        assert sorted(scores[world.town].bonus_matters.values()) == [Decimal("3.0"), Decimal("4.0")]
    page = desk.get(f"/oversight/assessment/units/{world.town}").get_data(as_text=True)
    assert "同一事项就高，不累计" in page


def test_a_deduction_lowers_its_period_and_can_be_withdrawn(app, world):
    desk = Desk(app, "yj_bureau")
    from server.operations.oversight import ranking

    def q1():
        with app.app_context():
            return ranking(db.session.get(Unit, world.yj), YEAR, TODAY)[1][world.town].period(1).score

    before = q1()
    assert desk.post(f"/oversight/assessment/units/{world.town}/items",
                     item("deduction", period="1", key="buck_passing", points="2.5")).status_code == 302
    assert q1() == before - Decimal("2.5")
    with app.app_context():
        item_id = db.session.scalar(select(AssessmentItem.id).where(AssessmentItem.kind == "deduction"))
    assert Desk(app, "gc_bureau").post(f"/oversight/assessment/items/{item_id}/withdraw").status_code == 404
    assert desk.post(f"/oversight/assessment/items/{item_id}/withdraw", csrf=False).status_code == 400
    assert desk.post(f"/oversight/assessment/items/{item_id}/withdraw").status_code == 302
    assert q1() == before and count(app, AssessmentItem) == 0
    assert audits(app, "assessment.withdraw") == 1


def yijun_case(app, org, n: int, accepted: dt.date, decided: dt.date, refuse: bool = False) -> int:
    """A 宜君 case through the real workflow: accepted on one day, decided on another."""
    from server.domain.declaration import parse_declaration
    from server.operations.cases import perform, register_application

    with app.app_context():
        cw, lead, director = (db.session.get(User, i) for i in (org.yj_case, org.yj_lead, org.yj_dir))
        inv1, inv2 = db.session.get(User, org.yj_inv1), db.session.get(User, org.yj_inv2)
        village = db.session.get(Unit, org.village)
        declaration, _ = parse_declaration({"income_wages_1": "300", **{f"income_wages_{m}": "0" for m in range(2, 7)}})
        case = register_application(
            community=village, actor=cw, today=accepted, area="rural", declaration=declaration,
            members=[{"name": f"宜君{n}", "id_number": id_number("610222", dt.date(1970, 2, 1 + n), 300 + n),
                      "relation": "head"}],
            materials=["application", "hukou_id", "income_property_statement", "integrity_pledge",
                       "verification_authorisation"])
        day = accepted
        panel = [{"name": "镇干部", "category": "office_staff", "signed": True}] + \
            [{"name": f"村民代表{i}", "category": "resident", "signed": True} for i in range(4)]
        steps = [("accept", cw, {"applicant_signed": True, "fingerprint_file": "f" * 64, "accepted_on": accepted}),
                 ("request_verification", cw, {"members": [case.household.members[0].id], "requested_on": day}),
                 ("record_home_visit", inv1, {"investigators": [inv1.id, inv2.id], "signed": [inv1.id, inv2.id],
                                              "applicant_signed": True, "visit_on": day}),
                 ("record_verification_report", cw, {"report_on": day, "found_income_6m": "600"}),
                 ("record_appraisal", cw, {"panel": panel, "conclusion": "agree", "appraisal_on": day, "minutes": "评议"}),
                 ("review_opinion", cw, {"recommendation": "refuse" if refuse else "approve", "opinion": "复核",
                                         "assessed_income_6m": Decimal("600"), "property_checked": True}),
                 ("sign_review", lead, {"signature": "x", "opinion": "同意"})]
        for action, actor, payload in steps:
            perform(case, action, actor, payload, today=day)
        if refuse:
            perform(case, "refuse", director, {"reasons": "收入超标"}, today=decided)
        else:
            perform(case, "record_meeting", cw, {"record": "会议研究", "decision": "approve", "attendees": ["王镇长", "李干事"]}, today=day)
            perform(case, "open_publicity", cw, {"boards": [case.office.code, village.code]}, today=day)
            perform(case, "close_publicity", cw, {}, today=max(decided, day + dt.timedelta(days=7)))
            perform(case, "approve", director, {"signature": "x", "opinion": "同意"}, today=decided)
        return case.id


def test_on_time_is_computed_from_the_case_history(app, world):
    """Two cases accepted in Q2: one decided within 30 working days, one after; a third refused in time in Q3."""
    yijun_case(app, world, 1, dt.date(YEAR, 4, 1), dt.date(YEAR, 4, 30))
    yijun_case(app, world, 2, dt.date(YEAR, 4, 1), dt.date(YEAR, 6, 30))     # the limit passed in May
    yijun_case(app, world, 3, dt.date(YEAR, 7, 1), dt.date(YEAR, 7, 10), refuse=True)
    from server.operations.oversight import ranking

    with app.app_context():
        score = ranking(db.session.get(Unit, world.yj), YEAR, TODAY)[1][world.town]
        q2 = {ln.key: ln for ln in score.period(2).lines}
        assert (q2["on_time"].ratio.numerator, q2["on_time"].ratio.denominator, q2["on_time"].points) == (1, 2, Decimal("3.0"))
        q3 = {ln.key: ln for ln in score.period(3).lines}
        assert (q3["on_time"].ratio.denominator, q3["on_time"].points) == (1, Decimal("6"))
        annual = {ln.key: ln for ln in score.period(0).lines}
        assert (annual["on_time"].ratio.numerator, annual["on_time"].ratio.denominator) == (2, 3)
        assert annual["on_time"].points == Decimal("4.0")
    page = Desk(app, "yj_bureau").get(f"/oversight/assessment/units/{world.town}").get_data(as_text=True)
    assert "1 / 2（50.0%）" in page


def test_confirming_a_quarter_fixes_its_indicators(app, world):
    yijun_case(app, world, 1, dt.date(YEAR, 4, 1), dt.date(YEAR, 6, 30))
    desk = Desk(app, "yj_bureau")
    assert desk.post("/oversight/assessment/confirm", {"year": str(YEAR), "period": "2"}).status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(AssessmentItem).where(AssessmentItem.kind == "indicator",
                                                               AssessmentItem.unit_id == world.town)).all()
        assert {r.item_key for r in rows} == {"on_time", "rereview", "objections"} and all(r.quarter == 2 for r in rows)
        on_time = next(r for r in rows if r.item_key == "on_time")
        assert (on_time.points, on_time.measure) == (Decimal("0.0"), {"numerator": "0", "denominator": 1})
    # a later record does not move the confirmed quarter
    yijun_case(app, world, 2, dt.date(YEAR, 4, 1), dt.date(YEAR, 4, 20))
    from server.operations.oversight import ranking

    with app.app_context():
        q2 = ranking(db.session.get(Unit, world.yj), YEAR, TODAY)[1][world.town].period(2)
        assert next(ln for ln in q2.lines if ln.key == "on_time").points == Decimal("0.0")
    assert audits(app, "assessment.confirm") == 1


@pytest.mark.parametrize("data, status, message", [
    ({"period": "2"}, 409, "该期考核指标已经确认"),
    ({"period": "0"}, 409, "考核期尚未结束"),
    ({"period": "4"}, 422, "考核期次无效"),
    ({"period": "x"}, 422, "请选择考核期次"),
])
def test_confirmation_refusals(app, world, data, status, message):
    desk = Desk(app, "yj_bureau")
    assert desk.post("/oversight/assessment/confirm", {"year": str(YEAR), "period": "2"}).status_code == 302
    before = count(app, AssessmentItem)
    r = desk.post("/oversight/assessment/confirm", {"year": str(YEAR), **data})
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert count(app, AssessmentItem) == before


def test_confirmation_refusals_by_role_and_csrf(app, world):
    assert Desk(app, "yj_case").post("/oversight/assessment/confirm", {"year": str(YEAR), "period": "1"}).status_code == 403
    assert Desk(app, "yj_bureau").post("/oversight/assessment/confirm", {"year": str(YEAR), "period": "1"},
                                       csrf=False).status_code == 400
    assert count(app, AssessmentItem) == 0


def test_rectification_notices_list_what_each_unit_missed(app, world):
    yijun_case(app, world, 1, dt.date(YEAR, 4, 1), dt.date(YEAR, 6, 30))      # late in Q2
    desk = Desk(app, "yj_bureau")
    url = f"/oversight/assessment/units/{world.town}/items"
    desk.post(url, item("entered", item="2:standardisation", points="4", evidence="台账不全"))
    desk.post(url, item("deduction", period="2", key="buck_passing", points="1", evidence="群众反映未答复"))
    r = desk.post("/oversight/assessment/notices", {"year": str(YEAR), "quarter": "2"})
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    with app.app_context():
        notice = db.session.scalar(select(RectificationNotice))
        assert (notice.unit_id, notice.quarter, notice.number) == (world.town, 2, f"ZG{YEAR}Q2-610222002")
        assert [i["key"] for i in notice.items] == ["on_time", "standardisation", "deduction:buck_passing"]
        assert notice.score == Decimal("11")   # on time 0 + re-reviews 4 + objections 4 + standards 4 - 1
        notice_id = notice.id
    assert count(app, AssessmentItem, AssessmentItem.kind == "indicator") == 3   # the quarter was confirmed
    printed = desk.get(f"/oversight/notices/{notice_id}").get_data(as_text=True)
    assert "整改告知单" in printed and "群众反映未答复" in printed and "台账不全" in printed
    assert 'data-item="standardisation"' in printed
    again = desk.post("/oversight/assessment/notices", {"year": str(YEAR), "quarter": "2"})
    assert again.status_code == 409 and count(app, RectificationNotice) == 1
    assert Desk(app, "gc_bureau").get(f"/oversight/notices/{notice_id}").status_code == 404
    assert Desk(app, "yj_case").get(f"/oversight/notices/{notice_id}").status_code == 403


@pytest.mark.parametrize("quarter, status, message", [
    ("0", 422, "整改告知单按季度派发"), ("5", 422, "考核期次无效"), ("", 422, "请选择考核期次"),
])
def test_notice_refusals(app, world, quarter, status, message):
    r = Desk(app, "yj_bureau").post("/oversight/assessment/notices", {"year": str(YEAR), "quarter": quarter})
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert count(app, RectificationNotice) == 0 and count(app, AssessmentItem) == 0


def test_nothing_missed_means_no_notice_and_nothing_changed(app, world):
    desk = Desk(app, "yj_bureau")
    desk.post(f"/oversight/assessment/units/{world.town}/items", item("entered", item="1:standardisation", points="6"))
    r = desk.post("/oversight/assessment/notices", {"year": str(YEAR), "quarter": "1"})
    assert r.status_code == 409 and "没有需要派发的整改告知单" in r.get_data(as_text=True)
    assert count(app, RectificationNotice) == 0 and count(app, AssessmentItem, AssessmentItem.kind == "indicator") == 0


def test_ranking_marks_the_top_three_and_last_place_with_ties(app, world):
    from server import services
    from server.operations.accounts import add_unit

    with app.app_context():
        yj = db.session.get(Unit, world.yj)
        for n in (3, 4, 5):
            add_unit(f"61022200{n}", f"测试镇{n}", "township", "yijun", yj, known_profiles=services().profiles)
        db.session.commit()
        ids = {u.code: u.id for u in db.session.scalars(select(Unit).where(Unit.parent_id == yj.id))}
    desk = Desk(app, "yj_bureau")
    for code, points in (("610222002", "6"), ("610222003", "5"), ("610222004", "5"), ("610222005", "2")):
        desk.post(f"/oversight/assessment/units/{ids[code]}/items", item("entered", item="1:standardisation", points=points))
    page = desk.get("/oversight/assessment").get_data(as_text=True)
    rows = {code: page.split(f'data-unit="{code}"', 1)[1].split("</tr>", 1)[0] for code in ids}
    assert 'class="top"' in rows["610222002"] and "前三名" in rows["610222003"] and "前三名" in rows["610222004"]
    assert 'class="last"' in rows["610222005"] and "末位" in rows["610222005"]
    assert '<td class="num">2</td>' in rows["610222003"] and '<td class="num">2</td>' in rows["610222004"]


# --- the dashboard ---------------------------------------------------------------------------------------

def test_the_dashboard_draws_each_chart_with_its_table(app, world):
    page = Desk(app, "gc_bureau").get("/oversight").get_data(as_text=True)
    for section in ("stages", "on_time", "payments", "objections", "accuracy", "two_rates"):
        assert f'id="{section}"' in page
    assert page.count("<svg") >= 6
    assert 'data-status="in_payment"' in page
    assert "本年度还没有已审批的发放备案表" in page          # no rosters yet: skipped gracefully
    stages = Desk(app, "gc_bureau").get("/oversight/export/stages.csv")
    assert stages.headers["Content-Type"].startswith("text/csv")
    text = stages.get_data(as_text=True)
    assert text.startswith("\ufeff环节,件数") and "保障中,10" in text and "已停保,1" in text
    payments = Desk(app, "gc_bureau").get("/oversight/export/payments.csv?lang=en").get_data(as_text=True)
    assert payments.startswith("\ufeffUnit code,Unit,Households,People,Monthly amount (yuan)")
    assert "410104005,南关街街道办事处,10,20,4800.00" in payments


def test_unknown_charts_are_not_found(app, world):
    assert Desk(app, "gc_bureau").get("/oversight/export/secrets.csv").status_code == 404


def test_the_dashboard_shows_approved_rosters_by_month(app, world):
    try:
        from server.models.money import Roster
    except ImportError:
        pytest.skip("the money area is not installed")
    with app.app_context():
        for month, total in (("2026-09", "4800.00"), ("2026-10", "5280.50")):
            db.session.add(Roster(unit_id=world.office, month=month, profile_id="guancheng", status="approved",
                                  due_on=dt.date(2026, 8, 25), households=10, people=20, total=Decimal(total),
                                  payments_total=Decimal(total)))
        db.session.add(Roster(unit_id=world.other, month="2026-10", profile_id="guancheng", status="draft",
                              due_on=dt.date(2026, 9, 25), households=3, people=5, total=Decimal("900.00"),
                              payments_total=Decimal("900.00")))
        db.session.commit()
    desk = Desk(app, "gc_bureau")
    page = desk.get("/oversight").get_data(as_text=True)
    assert 'data-month="2026-10"' in page and "5280.50" in page and "900.00" not in page
    text = desk.get("/oversight/export/months.csv").get_data(as_text=True)
    assert "2026-09,10,20,4800.00" in text and "2026-10,10,20,5280.50" in text


def test_events_are_untouched_by_supervision(app, world):
    """Supervision reads the case history; it never writes to it."""
    before = count(app, CaseEvent)
    draw_id = draw(app, world)
    Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/assign",
                                {"team": [str(world.gc_bureau), str(world.gc_bureau2)]})
    assert count(app, CaseEvent) == before


def test_the_draw_json_is_what_the_cli_prints(app, world):
    """The console and the command line give the same draw for the same seed."""
    draw_id = draw(app, world, seed=4242)
    runner = app.test_cli_runner()
    r = runner.invoke(args=["spotchecks", "draw", "--unit", "410104005", "--year", str(YEAR), "--seed", "4242", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    with app.app_context():
        row = db.session.get(SpotCheckDraw, draw_id)
        assert data["draw_id"] == draw_id and data["households"] == row.drawn_household_ids


# --- the demo ------------------------------------------------------------------------------------------

def test_the_demo_supervision(app):
    """load_demo + create_demo_oversight: draws with results in both districts, 宜君's confirmed last year
    with 太安镇 last (so it is drawn at the raised share this year), this year's entries and notices."""
    from server.demo import load_demo
    from server.operations.oversight import create_demo_oversight, ranking

    app.config["RUHU_TODAY"] = TODAY
    with app.app_context():
        load_demo("demo-password-1")
        create_demo_oversight()
        yj = db.session.scalar(select(Unit).where(Unit.code == "610222"))
        ranked, _scores = ranking(yj, YEAR - 1, TODAY)
        assert [r.unit.code for r in ranked if r.last] == ["610222004"]
        assert db.session.scalar(select(func.count(SpotCheckResult.id))) > 0
        assert {d.unit.parent.code for d in db.session.scalars(select(SpotCheckDraw))} == {"410104", "610222"}
        assert db.session.scalar(select(func.count(RectificationNotice.id))) > 0
        assert db.session.scalar(select(func.count(TwoRatesResponse.id))) > 0
    client = app.test_client()
    client.post("/login", data={"username": "yj_bureau", "password": "demo-password-1",
                                "csrf_token": csrf_token(client)})
    spot = client.get("/oversight/spotchecks").get_data(as_text=True)
    assert "末位加大" in spot.split('data-unit="610222004"', 1)[1].split("</tr>", 1)[0]
    for path in ("/oversight", "/oversight/assessment", f"/oversight/assessment?year={YEAR - 1}", "/oversight/two-rates"):
        assert client.get(path).status_code == 200
