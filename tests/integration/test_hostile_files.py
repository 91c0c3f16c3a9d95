"""A corpus of hostile files, generated here (no binary fixtures), through every upload path: the phone's
attachment PUT, the anonymous report photo, the console's case uploads (images and documents), the drawn
signature's data URL and the console import of a phone export.

For each: never a 5xx; a refusal is a 4xx with the message in Chinese and English and leaves no row and
no file; what is accepted is served only to signed-in staff, with a safe type, ``nosniff`` and (for the
original) ``Content-Disposition: attachment``; an anonymous photo is stored re-encoded, without EXIF/GPS."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.models.attachments import Attachment
from server.models.boards import Report
from tests.integration.test_boards import Public, make_board
from tests.integration.test_console import START, Console, intake_form, on, register, signature
from tests.integration.test_sync_api import field  # noqa: F401 (the enrolled phones' fixture)
from tests.integration.test_uploads import gps_jpeg, stored_files

# --- the corpus -------------------------------------------------------------------------------------


def _jpeg(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _png(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).save(buffer, "PNG")
    return buffer.getvalue()


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((32, 32)).convert("RGB").save(buffer, fmt)
    return buffer.getvalue()


def jpeg_bomb() -> bytes:
    """A real small JPEG whose frame header declares 30000 x 30000 pixels."""
    data = bytearray(_jpeg())
    pos = 2
    while True:
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            data[pos + 5:pos + 9] = struct.pack(">HH", 30000, 30000)
            return bytes(data)
        pos += 2 + length


def png_bomb() -> bytes:
    """A PNG declaring 30000 x 30000 pixels (CRC correct), with a tiny deflate stream of zeros."""
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 30001 * 4))
            + chunk(b"IEND", b""))


SCRIPT = b"<html><body><script>alert(document.cookie)</script></body></html>"


def polyglot() -> bytes:
    return _jpeg((40, 30)) + SCRIPT


def pdf_with_javascript() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction 2 0 R >> endobj\n"
            b"2 0 obj << /S /JavaScript /JS (app.alert\\('x'\\)) >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def pdf_with_hidden_javascript() -> bytes:  # the name written with #xx escapes
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction 2 0 R >> endobj\n"
            b"2 0 obj << /S /J#61vaScript /J#53 (app.alert\\('x'\\)) >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def truncated_jpeg() -> bytes:
    data = _jpeg((200, 150))
    return data[: len(data) // 2]


SVG = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
TRAVERSAL = "../../" + "x" * 300 + ".jpg"

# name -> (bytes, filename, declared type); all refused on every image path
REFUSED = {
    "truncated_jpeg": (truncated_jpeg, "photo.jpg", "image/jpeg"),
    "jpeg_bomb": (jpeg_bomb, "photo.jpg", "image/jpeg"),
    "png_bomb": (png_bomb, "scan.png", "image/png"),
    "svg_script": (lambda: SVG, "photo.svg", "image/svg+xml"),
    "svg_as_png": (lambda: SVG, "photo.png", "image/png"),
    "html_as_jpg": (lambda: SCRIPT, "photo.jpg", "image/jpeg"),
    "pdf_javascript": (pdf_with_javascript, "report.pdf", "application/pdf"),
    "zero_bytes": (lambda: b"", "photo.jpg", "image/jpeg"),
    "png_declared_jpeg": (_png, "photo.jpg", "image/jpeg"),
    "gif": (lambda: _encoded("GIF"), "photo.gif", "image/gif"),
    "webp": (lambda: _encoded("WEBP"), "photo.webp", "image/webp"),
    "tiff": (lambda: _encoded("TIFF"), "photo.tif", "image/tiff"),
}
# refused on the document (PDF) paths too
REFUSED_DOCUMENTS = {**REFUSED, "pdf_hidden_javascript": (pdf_with_hidden_javascript, "r.pdf", "application/pdf")}
MESSAGES = ("文件", "图片", "签名")  # every refusal on an HTML page names what was wrong in Chinese
# what each refusal says (Chinese; the API also carries the English)
SAYS = {"truncated_jpeg": "文件已损坏", "jpeg_bomb": "图片像素过多", "png_bomb": "图片像素过多",
        "svg_script": "不支持的文件类型", "svg_as_png": "不支持的文件类型", "html_as_jpg": "不支持的文件类型",
        "pdf_javascript": "不支持的文件类型", "zero_bytes": "文件为空", "png_declared_jpeg": "与声明的类型",
        "gif": "不支持的文件类型", "webp": "不支持的文件类型", "tiff": "不支持的文件类型"}
SAYS_DOCUMENTS = {**SAYS, "pdf_javascript": "含有脚本", "pdf_hidden_javascript": "含有脚本"}


def originals(app) -> list[Path]:
    return [p for p in stored_files(app) if "originals" in p.parts]


def attachment_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Attachment))


def assert_nothing_stored(app, before_files, before_rows, what):
    assert stored_files(app) == before_files, what
    assert attachment_rows(app) == before_rows, what


def assert_served_safely(client, sha: str, forbidden: bytes = SCRIPT):
    original = client.get(f"/files/{sha}/original")
    assert original.status_code == 200
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert original.headers["Content-Disposition"].startswith("attachment")
    assert original.mimetype in ("image/jpeg", "image/png", "application/pdf")
    original.close()
    for variant in ("display", "thumb"):
        shown = client.get(f"/files/{sha}/{variant}")
        assert shown.status_code == 200 and shown.mimetype in ("image/jpeg", "image/png")
        assert shown.headers["X-Content-Type-Options"] == "nosniff"
        assert forbidden not in shown.get_data()
        shown.close()
    anonymous = client.application.test_client().get(f"/files/{sha}/original")
    assert anonymous.status_code in (302, 401, 403, 404) and forbidden not in anonymous.get_data()


# --- the phone's attachment PUT -----------------------------------------------------------------------


def test_api_attachment_put(app, field):  # noqa: F811
    phone = field["phones"][0]
    for name, (make, _, mime) in REFUSED.items():
        data = make()
        before, rows = stored_files(app), attachment_rows(app)
        r = phone.put(data, mime)
        assert 400 <= r.status_code < 500, (name, r.status_code)
        assert SAYS[name] in r.json["message"] and r.json["message_en"].isascii(), name
        assert_nothing_stored(app, before, rows, name)
    # over the size limit (the store's own limit, below the request limit)
    app.config["RUHU_MAX_UPLOAD"] = 10_000
    big = _jpeg((600, 400)) + b"\0" * 20_000
    r = phone.put(big)
    assert r.status_code == 413 and r.json["error"] == "too_large"
    app.config["RUHU_MAX_UPLOAD"] = 15 * 2**20
    # a path-traversal or NUL-bearing name is not a SHA-256: refused before any byte is stored
    before = stored_files(app)
    for bad in ("..%2F..%2Fx", "%00" + "a" * 63, "a" * 5000):
        r = phone.client.put(f"/api/v1/attachments/{bad}", data=_jpeg(), headers={**phone.auth,
                                                                                     "Content-Type": "image/jpeg"})
        assert 400 <= r.status_code < 500, (bad, r.status_code)
    assert stored_files(app) == before
    # a JPEG with HTML behind it is kept as the phone sent it, but only ever shown re-encoded
    data = polyglot()
    assert phone.put(data).status_code == 201
    sha = hashlib.sha256(data).hexdigest()
    with app.app_context():
        from server.operations.attachments import store

        assert db.session.get(Attachment, sha).mime == "image/jpeg"
        for path in (store().display_path(sha), store().thumb_path(sha)):
            assert path.suffix == ".jpg" and SCRIPT not in path.read_bytes()
    assert app.test_client().get(f"/files/{sha}/original").status_code in (302, 401, 403, 404)


# --- the anonymous report photo ---------------------------------------------------------------------


@pytest.fixture
def token(app, org):
    return make_board(app, "410104005001", "community", "南关和平社区社会救助公示栏")[2]


def report(app, token, n, data, filename, mime):
    return Public(app, f"198.51.100.{n}").post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，家里有车"},
                                               files={"photo": (data, filename, mime)})


def test_anonymous_report_photo(app, org, token):
    n = 0
    for name, (make, filename, mime) in REFUSED.items():
        data = make()
        n += 1
        before, rows = stored_files(app), attachment_rows(app)
        r = report(app, token, n, data, filename, mime)
        assert r.status_code < 500, (name, r.status_code)
        if not data:  # an empty file field is no photo: the report itself is taken, without one
            assert r.status_code == 303
            with app.app_context():
                assert db.session.scalar(select(Report).order_by(Report.id.desc())).photo_sha256 is None
        else:
            assert 400 <= r.status_code < 500, (name, r.status_code)
            assert SAYS[name] in r.get_data(as_text=True), name
            with app.app_context():
                assert db.session.scalar(select(func.count(Report.id)).where(Report.photo_sha256.is_not(None))) == 0
        assert_nothing_stored(app, before, rows, name)
    # over the public photo limit
    app.config["RUHU_PUBLIC_MAX_PHOTO"] = 10_000
    r = report(app, token, 90, _jpeg((600, 400)) + b"\0" * 20_000, "p.jpg", "image/jpeg")
    assert r.status_code == 413
    app.config["RUHU_PUBLIC_MAX_PHOTO"] = 5 * 2**20
    # a polyglot, a GPS photo and a traversal file name: stored re-encoded only, nothing of the original
    for n, (data, filename) in enumerate(((polyglot(), "p.jpg"), (gps_jpeg(), TRAVERSAL)), start=100):
        r = report(app, token, n, data, filename, "image/jpeg")
        assert r.status_code == 303, r.get_data(as_text=True)[:500]
        with app.app_context():
            sha = db.session.scalar(select(Report.photo_sha256).order_by(Report.id.desc()))
            row = db.session.get(Attachment, sha)
            assert sha != hashlib.sha256(data).hexdigest() and (row.gps, row.captured_at) == (None, None)
        kept = next(p for p in originals(app) if p.name == sha).read_bytes()
        for marker in (b"<script", b"Exif", b"PhoneModel", b"2025:11:03"):
            assert marker not in kept
        # the receipt page shows no file, and nobody signed out can fetch it
        receipt_page = Public(app, "192.0.2.1").get(r.headers["Location"]).get_data(as_text=True)
        assert sha not in receipt_page and "/files/" not in receipt_page
        assert app.test_client().get(f"/files/{sha}/original").status_code in (302, 401, 403, 404)
    root = Path(app.config["RUHU_ATTACHMENTS"]).resolve()
    assert all(p.resolve().is_relative_to(root) for p in stored_files(app))
    assert not any("x" * 50 in p.name for p in stored_files(app))


# --- the console: image uploads, signatures, documents ---------------------------------------------


@pytest.fixture
def gc(app, org):
    on(app, START)
    return Console(app, "gc_case")


def test_console_case_uploads_and_signatures(app, org, gc):
    case_id = register(app, gc, org)
    accept = {"materials": intake_form(org)["materials"]}
    for name, (make, filename, mime) in REFUSED.items():
        data = make()
        before, rows = stored_files(app), attachment_rows(app)
        # the fingerprint photo (an image upload)
        r = gc.act(case_id, "accept", accept, files={"fingerprint": (data, filename, mime)})
        assert r.status_code < 500, (name, r.status_code)
        if data:  # an empty file is the same as none: the step may then go on without it
            assert 400 <= r.status_code < 500, (name, r.status_code)
            assert SAYS[name] in r.get_data(as_text=True), name
            assert_nothing_stored(app, before, rows, name)
        if data and name != "png_declared_jpeg":  # a real PNG is a fine drawn signature
            # the drawn signature, as the signature pad's data URL
            url = "data:image/png;base64," + base64.b64encode(data).decode()
            r = gc.act(case_id, "accept", {**accept, "applicant_signature": url})
            assert r.status_code in (413, 415, 422), (name, r.status_code)
            assert any(m in r.get_data(as_text=True) for m in MESSAGES), name
            assert_nothing_stored(app, before, rows, name)
    for url in ("data:image/svg+xml;base64," + base64.b64encode(SVG).decode(),
                "data:text/html,<script>alert(1)</script>", "data:image/png;base64,%%%", "javascript:alert(1)"):
        before, rows = stored_files(app), attachment_rows(app)
        r = gc.act(case_id, "accept", {**accept, "applicant_signature": url})
        assert r.status_code == 422 and "签名图像无效" in r.get_data(as_text=True), url
        assert_nothing_stored(app, before, rows, url)
    # over the size limit
    app.config["RUHU_MAX_UPLOAD"] = 10_000
    before, rows = stored_files(app), attachment_rows(app)
    r = gc.act(case_id, "accept", accept, files={"fingerprint": (_jpeg((600, 400)) + b"\0" * 20_000, "f.jpg",
                                                                  "image/jpeg")})
    assert 400 <= r.status_code < 500 and "文件超过大小上限" in r.get_data(as_text=True)
    assert_nothing_stored(app, before, rows, "too large")
    app.config["RUHU_MAX_UPLOAD"] = 15 * 2**20
    # a NUL in the file name: refused by the input guard, nothing stored
    r = gc.act(case_id, "accept", accept, files={"fingerprint": (_jpeg(), "f\x00.jpg", "image/jpeg")})
    assert 400 <= r.status_code < 500
    assert_nothing_stored(app, before, rows, "NUL name")
    # a polyglot under a traversal name: kept under its hash inside the store, served as a download
    data = polyglot()
    r = gc.act(case_id, "accept", {**accept, "applicant_signature": signature()},
               files={"fingerprint": (data, TRAVERSAL, "image/jpeg")})
    assert r.status_code == 302, (r.status_code, r.get_data(as_text=True).split("role=\"alert\">")[1][:400])
    sha = hashlib.sha256(data).hexdigest()
    assert sha in [p.name for p in originals(app)]
    root = Path(app.config["RUHU_ATTACHMENTS"]).resolve()
    assert all(p.resolve().is_relative_to(root) for p in stored_files(app))
    assert_served_safely(gc.client, sha)


def test_console_document_uploads(app, org, gc):
    """The paper visit's scan takes PDFs: a PDF carrying JavaScript is refused like any hostile image."""
    case_id = register(app, gc, org)
    for name, (make, filename, mime) in REFUSED_DOCUMENTS.items():
        data = make()
        if not data:
            continue  # an empty scan is the same as none: "a file is required", tested below
        before, rows = stored_files(app), attachment_rows(app)
        r = gc.post(f"/cases/{case_id}/paper-visit", {"visit_on": "2025-11-03"},
                    files={"scan": (data, filename, mime)})
        assert 400 <= r.status_code < 500, (name, r.status_code)
        assert SAYS_DOCUMENTS[name] in r.get_data(as_text=True), name
        assert_nothing_stored(app, before, rows, name)
    r = gc.post(f"/cases/{case_id}/paper-visit", {"visit_on": "2025-11-03"}, files={"scan": (b"", "s.pdf",
                                                                                            "application/pdf")})
    assert r.status_code == 422


def test_console_import_of_hostile_files(app, org, gc):
    worker = Console(app, "gc_case")
    for name, (make, filename, mime) in {**REFUSED_DOCUMENTS, "polyglot": (polyglot, "export.json", "application/json"),
                                         "gps": (gps_jpeg, "export.json", "application/json")}.items():
        before, rows = stored_files(app), attachment_rows(app)
        r = worker.post("/imports", {}, files={"file": (make(), filename, mime)})
        assert 400 <= r.status_code < 500, (name, r.status_code)
        assert_nothing_stored(app, before, rows, name)


def test_roster_signature(app, org):
    """The leader's drawn signature on a payment roster: hostile data URLs refused, nothing stored."""
    from tests.integration.test_rosters import TODAY, generate, paid_case, roster_row

    paid_case(app, org, people=2, income_6m="1800.00", seq=1)
    on(app, TODAY)
    rid = generate(Console(app, "gc_case"), "2026-12")
    lead = Console(app, "gc_dir")
    hostile = [make() for name, (make, _, _) in REFUSED.items() if name not in ("zero_bytes", "png_declared_jpeg")]
    urls = ["data:image/png;base64," + base64.b64encode(data).decode() for data in hostile]
    urls += ["data:image/svg+xml;base64," + base64.b64encode(SVG).decode(), "javascript:alert(1)"]
    for url in urls:
        before, rows = stored_files(app), attachment_rows(app)
        r = lead.post(f"/rosters/{rid}/submit", {"signature": url, "opinion": "属实"})
        assert r.status_code in (413, 415, 422), (url[:60], r.status_code)
        assert any(m in r.get_data(as_text=True) for m in MESSAGES), url[:60]
        assert roster_row(app, rid)["status"] == "draft"
        assert_nothing_stored(app, before, rows, url[:60])
