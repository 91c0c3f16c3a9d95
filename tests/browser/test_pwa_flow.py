"""The field app on two phones, end to end: enrol, pull, a whole home visit done offline (two members,
three photos, drawn signatures), reload and browser restart without losing a keystroke, finalise, the
partner's attestation by scanning the QR, sync, and the server holding exactly one accepted visit with
byte-identical photos and two valid attestations.

The helpers here (``PhoneApp``, ``field_case``, ``pwa_server``) are shared by the other PWA browser tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from tests.browser.conftest import screenshot
from tests.conftest import id_number

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 360, "height": 780}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
         "locale": "zh-CN", "timezone_id": "Asia/Shanghai", "bypass_csp": True, "permissions": ["geolocation"],
         "geolocation": {"latitude": 34.7466, "longitude": 113.6253, "accuracy": 12}}
# The phone reads its own clock in China time (PHONE's timezone); the server is pinned to the same day. (The
# machine's date would be a day behind from 16:00 to 24:00 UTC, and the phone's visit a day in the future.)
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
TAKEN = dt.datetime.combine(TODAY - dt.timedelta(days=1), dt.time(9, 15))   # a camera's EXIF capture time


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture
def pwa_app(app):
    """The test app with the PWA blueprint (registered here while server/app.py does not yet)."""
    from server.pwa import bp

    if "pwa" not in app.blueprints:
        app.register_blueprint(bp)
    app.config["RUHU_TODAY"] = TODAY
    return app


@pytest.fixture
def pwa_server(pwa_app, live_server):
    return live_server


def enrol_code(app, user_id: int) -> str:
    from server.models import User
    from server.operations.sync import create_enrolment

    with app.app_context():
        return create_enrolment(db.session.get(User, user_id), None, actor_label="test").code


def make_case(app, org, members: list[tuple[str, str, dt.date, int]]) -> dict:
    """An accepted guancheng case with a home visit assigned to gc_inv1 and gc_inv2."""
    from server.domain.declaration import parse_declaration
    from server.models import Unit, User
    from server.operations.cases import perform, register_application
    from server.operations.visits import assign_visit

    with app.app_context():
        caseworker = db.session.get(User, org.gc_case)
        declaration, _ = parse_declaration({"income_wages_1": "300", **{f"income_wages_{m}": "0" for m in range(2, 7)}, "property_housing": "自有住房45平方米"})
        case = register_application(
            community=db.session.get(Unit, org.c1), actor=caseworker, today=TODAY, declaration=declaration,
            members=[{"name": name, "relation": rel, "id_number": id_number("410104", born, seq)}
                     for name, rel, born, seq in members],
            materials=["application", "hukou_id", "income_property_statement", "integrity_pledge",
                       "verification_authorisation"])
        perform(case, "accept", caseworker, {"applicant_signed": True}, today=TODAY)
        assign_visit(case, caseworker, [org.gc_inv1, org.gc_inv2], today=TODAY)
        return {"case_id": case.id, "number": case.number, "inv1": org.gc_inv1, "inv2": org.gc_inv2}


@pytest.fixture
def field_case(pwa_app, org):
    return make_case(pwa_app, org, [("张建国", "head", dt.date(1962, 5, 1), 11),
                                    ("李秀英", "spouse", dt.date(1965, 3, 8), 22)])


# --- test data -------------------------------------------------------------------------------------

def camera_jpeg(size=(3000, 2000), colour=(150, 90, 40), orientation: int | None = None, seed: int = 0,
                taken: str | None = None, gps: tuple[tuple, tuple, float] | None = None) -> bytes:
    """A camera-like JPEG: large, with detail (so it compresses like a photo), optionally EXIF-rotated and
    with the camera's capture time ("YYYY:MM:DD HH:MM:SS", China time) and GPS ((d, m, s) N, (d, m, s) E, error m)."""
    img = Image.new("RGB", size, colour)
    px = img.load()
    w, h = size
    for i in range(0, w, 40):
        for j in range(0, h, 40):
            px[i, j] = ((i * 7 + seed) % 256, (j * 3) % 256, (i + j + seed) % 256)
    img = img.resize((w // 2, h // 2)).resize(size)
    buf = io.BytesIO()
    if orientation or taken or gps:
        exif = Image.Exif()
        if orientation:
            exif[0x0112] = orientation
        if taken:
            sub = exif.get_ifd(0x8769)
            sub[0x9003] = taken
            sub[0x9011] = "+08:00"
        if gps:
            sub = exif.get_ifd(0x8825)
            sub[1], sub[2], sub[3], sub[4], sub[0x1F] = "N", gps[0], "E", gps[1], gps[2]
        img.save(buf, "JPEG", quality=90, exif=exif)
    else:
        img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def file_payload(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


# --- a phone -------------------------------------------------------------------------------------

class PhoneApp:
    """One investigator's phone: a browser context (persistent or not) with the field app open."""

    def __init__(self, context, base: str):
        self.context = context
        self.base = base
        self.page = context.pages[0] if context.pages else context.new_page()
        self.page.on("dialog", lambda d: d.accept())
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, fragment: str = "#/"):
        self.page.goto(f"{self.base}/app/{fragment}")
        self.page.wait_for_selector("body[data-ready='1']")

    def enrol(self, code: str, name: str = "测试手机"):
        self.open(f"#enrol={code}")
        self.page.fill("#device-name", name)
        self.page.click("#enrol-submit")
        self.page.wait_for_selector("#assignments .card")

    def wait_service_worker(self):
        self.page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")

    def offline(self, value: bool = True):
        self.context.set_offline(value)

    def wait_saved(self):
        self.page.wait_for_function("!document.body.dataset.pendingSaves || document.body.dataset.pendingSaves === '0'")

    def choose(self, path: str, label: str):
        self.page.locator(f"[data-path='{path}'] label.seg-opt", has_text=label).first.click()

    def fill(self, path: str, value: str):
        self.page.locator(f"[data-path='{path}'] :is(input, textarea)").first.fill(value)

    def draw(self, key: str, wiggle: int = 0):
        canvas = self.page.locator(f"[data-signature='{key}'] canvas")
        canvas.evaluate("e => e.scrollIntoView({block: 'center'})")
        box = canvas.bounding_box()
        m = self.page.mouse
        m.move(box["x"] + 20, box["y"] + 90)
        m.down()
        for i in range(1, 14):
            m.move(box["x"] + 20 + i * 22, box["y"] + 90 + ((25 + wiggle) if i % 2 else -25), steps=2)
        m.up()
        self.page.wait_for_selector(f"[data-signature='{key}'][data-signed='1']")

    def visit_status(self) -> str:
        return self.page.locator("[data-visit]").first.get_attribute("data-status")

    def sync(self):
        self.page.click("#sync-now")
        self.page.wait_for_function("!document.body.dataset.syncing")

    def idb(self, script: str):
        """Run `script` (an async function body with `db` bound to the app's db.js) in the page."""
        return self.page.evaluate(f"async () => {{ const db = await import('./db.js'); {script} }}")

    def photo_hashes(self, visit_id: str) -> dict[str, str]:
        """sha256 -> sha256 recomputed from the bytes the phone keeps for each photo of the visit."""
        return self.idb(f"""
            const out = {{}};
            for (const row of await db.blobsOfVisit({json.dumps(visit_id)})) {{
              if (row.thumb || row.type !== 'image/jpeg') continue;
              const digest = await crypto.subtle.digest('SHA-256', await row.blob.arrayBuffer());
              out[row.sha256] = [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
            }}
            return out;""")


def new_phone(browser, base: str, **extra) -> PhoneApp:
    return PhoneApp(browser.new_context(**PHONE, **extra), base)


def fill_survey(phone: PhoneApp, photos: dict[str, list[bytes]], team: list[int]):
    """Everything the household survey asks, as an investigator would tap it in."""
    p = phone
    assert p.page.locator("[data-path='members/0/name'] input").input_value() == "张建国"   # from the pull
    for i, (health, disabled, work, able) in enumerate([("慢性病", "是", "无法就业", "否"), ("健康", "否", "在业", "是")]):
        p.choose(f"members/{i}/health", health)
        p.choose(f"members/{i}/disabled", disabled)
        p.choose(f"members/{i}/student", "否")
        p.choose(f"members/{i}/work", work)
        p.choose(f"members/{i}/able_to_work", able)
    p.choose("members/0/disability_grade", "二级")
    for month, amount in enumerate(["300", "300", "0", "450.50", "300", "0"]):
        p.page.locator("[data-path='income/wages'] input").nth(month).fill(amount)
    for month in range(6):
        p.page.locator("[data-path='income/pensions'] input").nth(month).fill("0")
    p.fill("property/housing", "自有住房一套，约45平方米")
    p.fill("property/vehicles_count", "0")
    p.page.locator("[data-path='living/conditions'] label", has_text="无取暖设施").click()
    p.fill("living/notes", "房屋老旧，冬季无取暖")
    p.fill("findings/summary", "户主因病丧失劳动能力，配偶打零工，收入不稳定。")
    p.choose("findings/recommendation", "符合条件")
    for slot, files in photos.items():
        before = p.page.locator(f".photos[data-slot='{slot}'][data-role='photo'] figure").count()
        p.page.set_input_files(f"#file-{slot}-photo", [file_payload(f"{slot}{i}.jpg", f) for i, f in enumerate(files)])
        p.page.wait_for_function(
            f"document.querySelectorAll(\".photos[data-slot='{slot}'][data-role='photo'] figure\").length === {before + len(files)}")
    p.draw("applicant")
    for n, uid in enumerate(team):
        p.draw(f"investigators:{uid}", wiggle=n * 5)
    p.wait_saved()


def finalise(phone: PhoneApp) -> dict:
    phone.page.click("#finalise")
    phone.page.wait_for_selector("#attest-qr")
    return {"visit_id": phone.page.locator("[data-visit]").first.get_attribute("data-visit"),
            "hash": phone.page.locator("#content-hash").inner_text().strip()}


def server_state(app, case_id: int) -> dict:
    from server.models import Attestation, Case, Device, Visit
    from server.models.attachments import Attachment
    from server.operations.attachments import store
    from server.operations.sync import _verify
    from sync.protocol import attestation_message

    with app.app_context():
        visits = db.session.scalars(select(Visit).where(Visit.case_id == case_id)).all()
        out = {"visits": [{"id": v.id, "status": v.status, "hash": v.content_hash, "envelope": v.envelope} for v in visits],
               "case_status": db.session.get(Case, case_id).status,
               "attachments": db.session.scalar(select(func.count(Attachment.sha256)))}
        atts = []
        for a in db.session.scalars(select(Attestation)):
            device = db.session.get(Device, a.device_id)
            visit = db.session.get(Visit, a.visit_id)
            atts.append({"user": a.user_id, "visit": a.visit_id,
                         "valid": _verify(device.public_key, attestation_message(visit.id, visit.content_hash), a.signature)})
        out["attestations"] = atts
        stored = {}
        for v in visits:
            for item in v.envelope["attachments"]:
                path = store().original_path(item["sha256"])
                stored[item["sha256"]] = (item, hashlib.sha256(path.read_bytes()).hexdigest() if path else None)
        out["sizes"] = {a.sha256: (a.width, a.height) for a in db.session.scalars(select(Attachment))}
        out["stored"] = stored
        return out


# --- the test ------------------------------------------------------------------------------------

def test_two_investigators_complete_attest_and_sync_a_visit_done_offline(browser, pwa_app, pwa_server, field_case,
                                                                         tmp_path):
    profile = tmp_path / "phone-a-profile"
    launch = dict(user_data_dir=str(profile), executable_path=browser_path(browser), args=BROWSER_ARGS, **PHONE)
    pw_chromium = browser.browser_type

    a = PhoneApp(pw_chromium.launch_persistent_context(**launch), pwa_server)
    b = new_phone(browser, pwa_server)
    try:
        a.enrol(enrol_code(pwa_app, field_case["inv1"]), "调查员一的手机")
        b.enrol(enrol_code(pwa_app, field_case["inv2"]), "调查员二的手机")
        a.wait_service_worker()
        b.wait_service_worker()
        card = a.page.locator("#assignments .card").first
        assert field_case["number"] in card.inner_text() and "未开始" in card.inner_text()
        assert a.page.locator("#who").inner_text() == "gc_inv1"
        screenshot(a.page, "pwa-home")

        # --- the visit, entirely offline
        a.offline()
        b.offline()
        a.page.wait_for_selector("#net.off")
        card.click()
        a.page.click("#start-visit")
        a.page.wait_for_selector("[data-path='members/0/name']")
        photos = {"house_outside": [camera_jpeg(seed=1), camera_jpeg((3000, 2000), seed=2, orientation=6,
                                                                    taken=TAKEN.strftime("%Y:%m:%d %H:%M:%S"),
                                                                    gps=((34.0, 44.0, 48.0), (113.0, 37.0, 30.0), 8.5))],
                  "kitchen": [camera_jpeg((4000, 3000), (90, 120, 60), seed=3)]}
        fill_survey(a, photos, [field_case["inv1"], field_case["inv2"]])
        visit_url = a.page.url
        screenshot(a.page, "pwa-visit-filled")

        # reload while offline: the service worker serves the shell and the draft is all there
        a.page.reload()
        a.page.wait_for_selector("[data-path='findings/summary']")
        assert_draft_intact(a)

        # close the browser, open it again (same profile), still offline
        a.context.close()
        a = PhoneApp(pw_chromium.launch_persistent_context(**launch), pwa_server)
        a.offline()
        a.page.goto(visit_url)
        a.page.wait_for_selector("[data-path='findings/summary']")
        assert_draft_intact(a)
        assert a.page.locator("#net").inner_text() == "离线"

        visit = finalise(a)
        assert a.visit_status() == "ready"
        assert a.page.locator("#finalise").count() == 0              # locked
        assert a.page.locator("[data-path='findings/summary'] textarea").is_disabled()
        screenshot(a.page, "pwa-visit-qr")

        # --- the partner scans the QR on A's screen with their own phone, offline, and signs
        qr_png = a.page.locator("#attest-qr").screenshot()
        b.open("#/scan")
        b.page.set_input_files("#scan-file", {"name": "qr.png", "mimeType": "image/png", "buffer": qr_png})
        b.page.wait_for_selector("#confirm-sign")
        assert "张建国" in b.page.locator("#confirm-household").inner_text()
        # what the partner signs, read from the record itself (the QR), and how it got here, said truthfully
        assert b.page.locator("#confirm-via").get_attribute("data-via") == "qr"
        assert "扫码" in b.page.locator("#confirm-via").inner_text()
        assert b.page.locator("#confirm-members").inner_text() == "张建国、李秀英"
        assert b.page.locator("#confirm-income").inner_text() == "1350.50 元"
        assert b.page.locator("#confirm-recommendation").inner_text() == "符合条件"
        assert "离线" in b.page.locator("#server-check").inner_text()
        assert b.page.locator("#confirm-hash").inner_text().replace(" ", "").lower() == visit["hash"][:8]
        screenshot(b.page, "pwa-partner-confirm")
        b.page.click("#confirm-sign")
        b.page.wait_for_selector(f"#partner-list [data-visit='{visit['visit_id']}'][data-status='pending']")

        with pwa_app.app_context():
            from server.models import Visit
            assert db.session.scalar(select(func.count(Visit.id))) == 0   # nothing left the phones yet

        # --- back online: A pushes photos, visit and its attestation; B its attestation
        a.offline(False)
        b.offline(False)
        a.sync()
        a.page.wait_for_selector("[data-status='synced']")
        b.sync()
        b.page.wait_for_selector(f"#partner-list [data-visit='{visit['visit_id']}'][data-status='synced']")
        assert not a.errors and not b.errors, a.errors + b.errors

        state = server_state(pwa_app, field_case["case_id"])
        assert len(state["visits"]) == 1
        stored = state["visits"][0]
        assert stored["id"] == visit["visit_id"] and stored["hash"] == visit["hash"]
        assert stored["status"] == "accepted" and state["case_status"] == "visited"
        assert sorted(x["user"] for x in state["attestations"]) == sorted([field_case["inv1"], field_case["inv2"]])
        assert all(x["valid"] for x in state["attestations"])
        # the photos the server keeps are exactly the bytes the phone made (after its downscale)
        on_phone = a.photo_hashes(visit["visit_id"])
        listed = {s: item for s, (item, _) in state["stored"].items() if item["role"] == "photo"}
        assert set(listed) == set(on_phone) and len(listed) == 3
        assert all(on_phone[s] == s for s in on_phone)
        assert all(state["stored"][s][1] == s for s in listed)
        # at most 2048 px on the long side, and the camera's EXIF orientation applied (the turned one is upright)
        assert sorted(state["sizes"][s] for s in listed) == [(1365, 2048), (2048, 1365), (2048, 1536)]
        # each photo carries, signed, when and where it was taken: the camera's EXIF where it wrote them
        # (read before the downscale strips them), else the phone's clock and position at that moment
        taken = [i for i in listed.values() if i["captured_at"] == TAKEN.strftime("%Y-%m-%dT%H:%M:%S+08:00")]
        assert len(taken) == 1 and taken[0]["position"] == {"lat": "34.746667", "lon": "113.625000", "accuracy": "8.5"}
        others = [i for i in listed.values() if i is not taken[0]]
        now = dt.datetime.now(dt.UTC)
        assert all(i["captured_at"].endswith("+08:00") and
                   abs(dt.datetime.fromisoformat(i["captured_at"]) - now) < dt.timedelta(minutes=10) for i in others)
        assert all(i["position"]["lat"].startswith("34.7466") for i in others)
        sigs = [item for item, _ in state["stored"].values() if item["role"] == "signature"]
        assert sorted(i["slot"] for i in sigs) == ["applicant", "investigators", "investigators"]
        answers = stored["envelope"]["answers"]
        assert answers["members"][0]["disability_grade"] == "2" and "school" not in answers["members"][0]
        assert answers["income"]["wages"] == ["300", "300", "0", "450.50", "300", "0"]
        assert stored["envelope"]["gps"]["start"]["lat"].startswith("34.7466")

        a.page.reload()   # app start syncs and learns what became of the visit
        a.page.wait_for_selector("[data-visit][data-server='accepted'] #server-status")
        assert "记入案件" in a.page.locator("#server-status").inner_text()
        screenshot(a.page, "pwa-visit-synced")
    finally:
        for ctx in (a.context, b.context):
            try:
                ctx.close()
            except Exception:  # noqa: BLE001 - already closed
                pass


def browser_path(browser) -> str:
    from tests.browser.conftest import chromium_path

    return chromium_path()


def assert_draft_intact(p: PhoneApp):
    assert p.page.locator("[data-path='findings/summary'] textarea").input_value().startswith("户主因病")
    assert p.page.locator("[data-path='members/0/disability_grade'] input:checked").get_attribute("value") == "2"
    assert p.page.locator("[data-path='income/wages'] input").nth(3).input_value() == "450.50"
    assert p.page.locator("[data-path='living/conditions'] input:checked").get_attribute("value") == "no_heating"
    assert p.page.locator(".photos[data-role='photo'] figure").count() == 3
    assert p.page.locator("[data-signature][data-signed='1']").count() == 3
    p.page.wait_for_function("[...document.querySelectorAll('.thumb img')].every(i => i.complete && i.naturalWidth > 0)")
