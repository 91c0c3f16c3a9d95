"""Uploads through HTTP: files stored only when the action is allowed, anonymous photos kept without
metadata, a pixel limit for public photos."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from sqlalchemy import func, select

from server.extensions import db
from server.models.attachments import Attachment
from server.models.boards import Report
from tests.integration.test_boards import Public, make_board
from tests.integration.test_console import START, Console, intake_form, on, png_bytes, register, signature


@pytest.fixture
def gc(app, org):
    on(app, START)
    return Console(app, "gc_case")


@pytest.fixture
def token(app, org):
    return make_board(app, "410104005001", "community", "南关和平社区社会救助公示栏")[2]


def stored_files(app) -> list[Path]:
    root = Path(app.config["RUHU_ATTACHMENTS"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def gps_jpeg(size=(800, 600)) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "PhoneMaker", "PhoneModel-X"       # Make, Model
    exif.get_ifd(0x8769)[0x9003] = "2025:11:03 09:30:00"            # DateTimeOriginal
    exif.get_ifd(0x8825).update({1: "N", 2: (IFDRational(34), IFDRational(45), IFDRational(0)),
                                 3: "E", 4: (IFDRational(113), IFDRational(40), IFDRational(0))})
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_a_refused_console_action_leaves_no_uploaded_file(app, org, gc):
    case_id = register(app, gc, org)
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature()}
    fingerprint = {"fingerprint": (png_bytes(colour=(200, 0, 0)), "finger.png", "image/png")}

    r = Console(app, "gc_lead").act(case_id, "accept", accept, files=fingerprint)   # not the leader's step
    assert r.status_code == 403
    assert stored_files(app) == []
    r = gc.act(case_id, "accept", {**accept, "accepted_on": "2025-13-45"}, files=fingerprint)  # a form error
    assert r.status_code == 422
    assert stored_files(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0

    assert gc.act(case_id, "accept", accept, files=fingerprint).status_code == 302   # allowed: kept
    sha = hashlib.sha256(fingerprint["fingerprint"][0]).hexdigest()
    assert sha in [p.name for p in stored_files(app) if "originals" in p.parts]  # with the drawn signature
    with app.app_context():
        assert db.session.get(Attachment, sha) is not None


def test_a_refused_action_keeps_a_file_another_record_already_uses(app, org, gc):
    case_id = register(app, gc, org)
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature()}
    fingerprint = {"fingerprint": (png_bytes(colour=(0, 0, 200)), "finger.png", "image/png")}
    assert gc.act(case_id, "accept", accept, files=fingerprint).status_code == 302
    before = stored_files(app)
    r = Console(app, "gc_lead").act(case_id, "accept", accept, files=fingerprint)
    assert r.status_code in (403, 409)
    assert [p for p in stored_files(app) if "originals" in p.parts] == [p for p in before if "originals" in p.parts]


def test_an_anonymous_report_photo_is_kept_re_encoded_without_location_or_device(app, org, token):
    data = gps_jpeg()
    assert b"PhoneModel-X" in data
    r = Public(app).post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，家里有车"},
                      files={"photo": (data, "p.jpg", "image/jpeg")})
    assert r.status_code == 303
    with app.app_context():
        sha = db.session.scalar(select(Report.photo_sha256))
        row = db.session.get(Attachment, sha)
        assert sha != hashlib.sha256(data).hexdigest()
        assert (row.gps, row.captured_at) == (None, None)
    [original] = [p for p in stored_files(app) if "originals" in p.parts]
    kept = original.read_bytes()
    assert hashlib.sha256(kept).hexdigest() == sha
    for marker in (b"Exif", b"PhoneModel", b"PhoneMaker", b"2025:11:03"):
        assert marker not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (800, 600) and len(image.getexif()) == 0


def test_public_photos_have_a_lower_pixel_limit(app, org, token, monkeypatch):
    from server import storage

    monkeypatch.setattr(storage, "PUBLIC_MAX_PIXELS", 800 * 600 - 1)
    r = Public(app).post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，家里有车"},
                      files={"photo": (gps_jpeg(), "p.jpg", "image/jpeg")})
    assert r.status_code == 413 and "图片像素过多" in r.get_data(as_text=True)
    assert stored_files(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 0
