"""The attachment store on a temporary root, with every image made by Pillow here (no binary fixtures)."""

from __future__ import annotations

import hashlib
import io
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile, features
from PIL.PngImagePlugin import PngInfo
from PIL.TiffImagePlugin import IFDRational

from server import storage
from server.storage import DOCUMENT_TYPES, IMAGE_TYPES, AttachmentError, AttachmentStore
from tests.unit.test_purity import imported_modules, offending

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
ORIENTATION, DATETIME, DATETIME_ORIGINAL = 0x0112, 0x0132, 0x9003
OFFSET_TIME, OFFSET_TIME_ORIGINAL = 0x9010, 0x9011


# ---------------------------------------------------------------------- builders


def gradient(size=(60, 40)) -> Image.Image:
    """An RGB image with detail in it, so that a JPEG of it has a long scan to truncate."""
    base = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (base, base.rotate(90), base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def jpeg(image: Image.Image | None = None, **save) -> bytes:
    buffer = io.BytesIO()
    (image or gradient()).save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def png(image: Image.Image | None = None, **save) -> bytes:
    buffer = io.BytesIO()
    (image or gradient()).save(buffer, "PNG", **save)
    return buffer.getvalue()


def encode(image: Image.Image, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def r(value, denominator=1) -> IFDRational:
    return IFDRational(value, denominator)


def make_exif(*, orientation=None, datetime=None, original=None, offset=None, offset_original=None,
              gps=None) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if datetime is not None:
        exif[DATETIME] = datetime
    sub = exif.get_ifd(EXIF_IFD)
    if original is not None:
        sub[DATETIME_ORIGINAL] = original
    if offset is not None:
        sub[OFFSET_TIME] = offset
    if offset_original is not None:
        sub[OFFSET_TIME_ORIGINAL] = offset_original
    if gps is not None:
        exif.get_ifd(GPS_IFD).update(gps)
    return exif


# 30°15'36" N, 120°30'0" W (signed: west is negative), 62.5 m below sea level.
GPS_TAGS = {1: "N", 2: (r(30), r(15), r(36)), 3: "W", 4: (r(120), r(30), r(0)), 5: b"\x01", 6: r(125, 2)}


def with_new_ihdr_size(data: bytes, width: int, height: int) -> bytes:
    """The same PNG claiming other dimensions, with a valid IHDR checksum (the pixels do not follow)."""
    ihdr = bytearray(data[12:29])  # type + 13 bytes of data
    ihdr[4:8] = width.to_bytes(4, "big")
    ihdr[8:12] = height.to_bytes(4, "big")
    return data[:12] + bytes(ihdr) + zlib.crc32(bytes(ihdr)).to_bytes(4, "big") + data[33:]


def pdf(trailer: bytes = b"%%EOF\n") -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n" + trailer)


def apng() -> bytes:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:])


def webp() -> bytes:
    if features.check("webp"):
        return encode(gradient(), "WEBP")
    return b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "attachments")


# ---------------------------------------------------------------------- accepted files


def test_jpeg_with_exif_is_stored_with_metadata_as_data_and_a_clean_upright_display_copy(store):
    exif = make_exif(orientation=6, datetime="2024:03:16 10:00:00", original="2024:03:15 09:30:00",
                     gps=GPS_TAGS)
    data = jpeg(gradient((60, 40)), exif=exif)

    result = store.ingest(data, declared_type="image/jpeg", expected_sha256=sha(data))

    digest = sha(data)
    assert result.sha256 == digest
    assert (result.size, result.mime, result.created) == (len(data), "image/jpeg", True)
    assert result.captured_at == "2024-03-15T09:30:00"
    assert result.gps == {"latitude": 30.26, "longitude": -120.5, "altitude": -62.5}
    assert (result.width, result.height) == (40, 60)  # as displayed: orientation 6 turns it upright
    assert result.display_path == f"display/{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert result.thumb_path == f"thumbs/{digest[:2]}/{digest[2:4]}/{digest}.jpg"

    original = store.root / "originals" / digest[:2] / digest[2:4] / digest
    assert original.read_bytes() == data
    with store.open_original(digest.upper()) as handle:
        assert handle.read() == data
    assert store.exists(digest)
    assert store.original_path(digest) == original
    assert store.display_path(digest) == store.root / result.display_path
    assert store.thumb_path(digest) == store.root / result.thumb_path

    for relative in (result.display_path, result.thumb_path):
        raw = (store.root / relative).read_bytes()
        with Image.open(store.root / relative) as shown:
            assert shown.format == "JPEG"
            assert len(shown.getexif()) == 0
            assert "exif" not in shown.info
            assert shown.width < shown.height  # rotated: 60x40 stored sideways, 40x60 upright
        assert b"Exif" not in raw
    with Image.open(store.display_path(result.sha256)) as shown:
        assert shown.size == (40, 60)


def test_the_same_bytes_twice_are_stored_once(store):
    data = jpeg()
    first = store.ingest(data, declared_type="image/jpeg")
    before = {name: (store.root / name).stat().st_ino for name in files_under(store.root)}

    second = store.ingest(data, declared_type=None, expected_sha256=sha(data))

    assert (first.created, second.created) == (True, False)
    assert second.sha256 == first.sha256 and second.display_path == first.display_path
    # The upload stores the original only; a JPEG's thumbnail and display copy are made on first view (the
    # request only walks the file's structure). The resend writes nothing: the same files, the same inodes
    # (only the original's time is renewed, for the sweep of unnamed files).
    assert sorted(n.split("/")[0] for n in before) == ["originals"]
    assert {name: (store.root / name).stat().st_ino for name in files_under(store.root)} == before


def test_a_resend_is_never_decoded_again(store, monkeypatch):
    data = jpeg(exif=make_exif(original="2024:03:15 09:30:00", gps=GPS_TAGS))
    first = store.ingest(data, declared_type="image/jpeg")

    def no_decoding(self):
        raise AssertionError("the stored bytes were decoded again")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    again = store.ingest(data, declared_type="image/jpeg", expected_sha256=sha(data))
    assert again.created is False
    assert (again.width, again.height, again.captured_at, again.gps) == \
        (first.width, first.height, first.captured_at, first.gps)


@pytest.mark.parametrize("make", [png, jpeg])
def test_lost_copies_are_rebuilt_from_the_original_on_the_next_view(store, make):
    data = make(gradient((1000, 500)))
    first = store.ingest(data, declared_type=None)
    for path in (store.display_path(first.sha256), store.thumb_path(first.sha256)):
        path.unlink()

    assert store.ingest(data, declared_type=None).created is False
    display, thumb = store.display_path(first.sha256), store.thumb_path(first.sha256)

    assert display == store.root / first.display_path and thumb == store.root / first.thumb_path
    with Image.open(display) as shown, Image.open(thumb) as small:
        assert (shown.size, small.size) == ((1000, 500), (320, 160))


def test_the_display_copy_is_at_most_display_size_by_reduced_decoding(store):
    data = jpeg(gradient((5000, 2500)))
    result = store.ingest(data, declared_type="image/jpeg")
    assert (result.width, result.height) == (5000, 2500)  # the original's size, as data
    with Image.open(store.display_path(result.sha256)) as shown:
        assert shown.size == (storage.DISPLAY_SIZE, storage.DISPLAY_SIZE // 2)
    with Image.open(store.thumb_path(result.sha256)) as thumb:
        assert thumb.size == (320, 160)


def test_a_pdf_or_a_missing_original_has_no_copies_to_rebuild(store):
    result = store.ingest(pdf(), declared_type=None, allowed=DOCUMENT_TYPES)
    assert store.display_path(result.sha256) is None and store.thumb_path(result.sha256) is None
    image = store.ingest(jpeg(), declared_type=None)
    store.original_path(image.sha256).unlink()
    assert not (store.root / image.thumb_path).exists()   # a JPEG's copies are made on first view
    assert store.display_path(image.sha256) is None and store.thumb_path(image.sha256) is None


@pytest.mark.parametrize("chunk", ["tEXt", "zTXt", "iTXt"])
def test_png_text_chunks_and_exif_are_not_in_the_display_copy(store, chunk):
    info = PngInfo()
    if chunk == "tEXt":
        info.add_text("Comment", "secret-note")
    elif chunk == "zTXt":
        info.add_text("Comment", "secret-note", zip=True)
    else:
        info.add_itxt("Comment", "secret-note 秘密")
    data = png(pnginfo=info, exif=make_exif(datetime="2023:01:02 03:04:05"))
    with Image.open(io.BytesIO(data)) as check:
        check.load()
        assert check.text["Comment"].startswith("secret-note")  # the chunk really is in the input

    result = store.ingest(data, declared_type="image/png")

    assert result.captured_at == "2023-01-02T03:04:05"  # PNG eXIf read before stripping
    for path in (store.display_path(result.sha256), store.thumb_path(result.sha256)):
        raw = path.read_bytes()
        for marker in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"secret", b"Comment"):
            assert marker not in raw
        with Image.open(path) as shown:
            shown.load()
            assert shown.text == {}
            assert len(shown.getexif()) == 0


def test_jpeg_comment_icc_and_xmp_are_not_in_the_display_copy(store):
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><secret-xmp/></x:xmpmeta>'
    data = jpeg(comment=b"secret-comment", icc_profile=b"secret-icc" * 20, xmp=xmp)
    assert b"secret-comment" in data and b"secret-icc" in data and b"secret-xmp" in data

    result = store.ingest(data, declared_type="image/jpeg")

    raw = store.display_path(result.sha256).read_bytes()
    assert b"secret" not in raw
    with Image.open(store.display_path(result.sha256)) as shown:
        assert not {"comment", "icc_profile", "xmp", "exif"} & set(shown.info)


def test_thumbnail_is_at_most_320_on_the_long_side(store):
    data = png(gradient((1000, 500)))
    result = store.ingest(data, declared_type="image/png")
    with Image.open(store.display_path(result.sha256)) as shown:
        assert shown.size == (1000, 500)
    with Image.open(store.root / result.thumb_path) as thumb:
        assert thumb.size == (320, 160)
        assert thumb.format == "PNG"


@pytest.mark.parametrize("image, mode", [
    (Image.new("P", (10, 10), 3), "RGB"),
    (Image.new("RGBA", (10, 10), (1, 2, 3, 100)), "RGBA"),
    (Image.new("LA", (10, 10), (9, 200)), "LA"),
    (Image.new("I;16", (10, 10), 40000), "L"),
    (Image.new("1", (10, 10), 1), "1"),
])
def test_png_modes_are_kept_or_made_displayable(store, image, mode):
    result = store.ingest(png(image), declared_type="image/png")
    with Image.open(store.display_path(result.sha256)) as shown:
        assert shown.mode == mode


def test_cmyk_jpeg_gets_an_rgb_display_copy(store):
    result = store.ingest(jpeg(gradient().convert("CMYK")), declared_type="image/jpeg")
    with Image.open(store.display_path(result.sha256)) as shown:
        assert shown.mode == "RGB"


def test_jpeg_with_junk_after_eoi_is_kept_as_sent_but_displayed_re_encoded(store):
    data = jpeg() + b"<script>alert(1)</script>"
    result = store.ingest(data, declared_type="image/jpeg")
    with store.open_original(result.sha256) as handle:
        assert handle.read() == data
    assert b"<script>" not in store.display_path(result.sha256).read_bytes()


@pytest.mark.parametrize("declared", [None, "", "image/jpeg", "IMAGE/JPEG", "image/jpeg; charset=binary",
                                      "image/jpg", "image/pjpeg"])
def test_declared_jpeg_spellings_are_accepted(store, declared):
    assert store.ingest(jpeg(), declared_type=declared).mime == "image/jpeg"


def test_pdf_is_accepted_as_a_document_with_no_display_copy(store):
    data = pdf()
    result = store.ingest(data, declared_type="application/pdf", allowed=DOCUMENT_TYPES)
    assert (result.mime, result.created, result.width, result.height) == ("application/pdf", True, None, None)
    assert (result.display_path, result.thumb_path, result.captured_at, result.gps) == (None,) * 4
    assert files_under(store.root) == [f"originals/{result.sha256[:2]}/{result.sha256[2:4]}/{result.sha256}"]
    assert store.display_path(result.sha256) is None and store.thumb_path(result.sha256) is None


# ---------------------------------------------------------------------- EXIF as data


@pytest.mark.parametrize("exif, captured_at, gps", [
    pytest.param(make_exif(), None, None, id="no-exif"),
    pytest.param(make_exif(datetime="2022:12:31 23:59:59"), "2022-12-31T23:59:59", None, id="datetime-only"),
    pytest.param(make_exif(datetime="2022:12:31 23:59:59", original="0000:00:00 00:00:00"),
                 "2022-12-31T23:59:59", None, id="blank-original-falls-back"),
    pytest.param(make_exif(original="2024:02:29 08:00:00", offset_original="+08:00"),
                 "2024-02-29T08:00:00+08:00", None, id="recorded-offset-kept"),
    pytest.param(make_exif(original="2024:02:29 08:00:00", offset_original="local"),
                 "2024-02-29T08:00:00", None, id="junk-offset-dropped"),
    pytest.param(make_exif(datetime="garbage"), None, None, id="unparsable-time"),
    pytest.param(make_exif(gps={1: "S", 2: (r(33), r(51), r(54)), 3: "E", 4: (r(151), r(12), r(36))}),
                 None, {"latitude": -33.865, "longitude": 151.21}, id="south-east-no-altitude"),
    pytest.param(make_exif(gps={1: "N", 2: (r(39), r(54), r(2718, 100)), 3: "E", 4: (r(116), r(23), r(0)),
                                5: 0, 6: r(44)}),
                 None, {"latitude": 39.90755, "longitude": 116.3833333, "altitude": 44.0}, id="beijing"),
    pytest.param(make_exif(gps={2: (r(30), r(0), r(0)), 4: (r(120), r(0), r(0))}), None, None,
                 id="no-hemisphere-no-guess"),
    pytest.param(make_exif(gps={1: "N", 2: (r(95), r(0), r(0)), 3: "E", 4: (r(120), r(0), r(0))}), None, None,
                 id="latitude-out-of-range"),
])
def test_capture_time_and_gps_are_read_from_exif(store, exif, captured_at, gps):
    result = store.ingest(jpeg(exif=exif), declared_type="image/jpeg")
    assert result.captured_at == captured_at
    assert result.gps == gps


# ---------------------------------------------------------------------- refusals


def truncated_jpeg() -> bytes:
    data = jpeg(gradient((400, 300)))
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    data = png(gradient((200, 100)))
    return data[: len(data) // 2]


REFUSALS = [
    # id, data, ingest keyword arguments, store keyword arguments, code, status
    ("empty", lambda: b"", {}, {}, "empty", 422),
    ("too-large", lambda: jpeg(), {}, {"max_bytes": 100}, "too_large", 413),
    ("hash-mismatch", lambda: jpeg(), {"expected_sha256": "0" * 64}, {}, "hash_mismatch", 422),
    ("bad-name-short", lambda: jpeg(), {"expected_sha256": "abc"}, {}, "bad_name", 422),
    ("bad-name-not-hex", lambda: jpeg(), {"expected_sha256": "g" * 64}, {}, "bad_name", 422),
    ("bad-name-traversal", lambda: jpeg(), {"expected_sha256": "../.."}, {}, "bad_name", 422),
    ("bad-name-traversal-64", lambda: jpeg(), {"expected_sha256": "../../" + "a" * 58}, {}, "bad_name", 422),
    ("bad-name-newline", lambda: jpeg(), {"expected_sha256": "a" * 64 + "\n"}, {}, "bad_name", 422),
    ("bomb-by-pixels", lambda: png(Image.new("L", (2000, 2000))), {}, {"max_pixels": 1_000_000},
     "too_many_pixels", 413),
    ("bomb-by-header", lambda: with_new_ihdr_size(png(Image.new("L", (8, 8))), 100_000, 100_000), {}, {},
     "too_many_pixels", 413),
    ("truncated-jpeg", truncated_jpeg, {}, {}, "corrupt", 422),
    ("truncated-png", truncated_png, {}, {}, "corrupt", 422),
    ("png-bad-crc", lambda: png()[:-5] + b"X" + png()[-4:], {}, {}, "corrupt", 422),
    ("jpeg-magic-then-html", lambda: b"\xff\xd8\xff<html><script>alert(1)</script></html>", {}, {},
     "corrupt", 422),
    ("png-then-script", lambda: png() + b"<script>alert(1)</script>", {}, {}, "unsupported_type", 415),
    ("svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', {}, {},
     "unsupported_type", 415),
    ("html", lambda: b"<!DOCTYPE html><html><body>hi</body></html>", {}, {}, "unsupported_type", 415),
    ("text", lambda: "低保申请书".encode(), {}, {}, "unsupported_type", 415),
    ("gif", lambda: encode(Image.new("P", (8, 8)), "GIF"), {}, {}, "unsupported_type", 415),
    ("webp", webp, {}, {}, "unsupported_type", 415),
    ("apng", apng, {}, {}, "unsupported_type", 415),
    ("declared-png-is-jpeg", lambda: jpeg(), {"declared_type": "image/png"}, {}, "type_mismatch", 415),
    ("declared-jpeg-is-png", lambda: png(), {"declared_type": "image/jpeg"}, {}, "type_mismatch", 415),
    ("declared-pdf-is-jpeg", lambda: jpeg(), {"declared_type": "application/pdf", "allowed": DOCUMENT_TYPES},
     {}, "type_mismatch", 415),
    ("pdf-not-allowed-by-default", lambda: pdf(), {"declared_type": "application/pdf"}, {},
     "unsupported_type", 415),
    ("pdf-without-eof", lambda: pdf(trailer=b"trailer"), {"allowed": DOCUMENT_TYPES}, {}, "corrupt", 422),
    ("jpeg-not-allowed", lambda: jpeg(), {"allowed": frozenset({"image/png"})}, {}, "unsupported_type", 415),
    ("pdf-javascript", lambda: b"%PDF-1.4\n<< /S /JavaScript /JS (app.alert(1)) >>\n%%EOF\n",
     {"allowed": DOCUMENT_TYPES}, {}, "pdf_active", 415),
    ("pdf-javascript-escaped", lambda: b"%PDF-1.4\n<< /S /J#61vaScript /J#53 (x) >>\n%%EOF\n",
     {"allowed": DOCUMENT_TYPES}, {}, "pdf_active", 415),
    ("pdf-launch", lambda: b"%PDF-1.4\n<< /S /Launch /F (cmd.exe) >>\n%%EOF\n", {"allowed": DOCUMENT_TYPES},
     {}, "pdf_active", 415),
    ("pdf-embedded-file", lambda: b"%PDF-1.4\n<< /Type /EmbeddedFile >>\n%%EOF\n", {"allowed": DOCUMENT_TYPES},
     {}, "pdf_active", 415),
]


@pytest.mark.parametrize("make, kwargs, store_kwargs, code, status",
                         [pytest.param(*row[1:], id=row[0]) for row in REFUSALS])
def test_refusals(tmp_path, make, kwargs, store_kwargs, code, status):
    store = AttachmentStore(tmp_path / "attachments", **store_kwargs)
    with pytest.raises(AttachmentError) as caught:
        store.ingest(make(), **{"declared_type": None, **kwargs})
    error = caught.value
    assert (error.code, error.status) == (code, status)
    assert error.message and error.message_en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.message)  # Chinese first
    assert not (tmp_path / "attachments").exists() or files_under(tmp_path / "attachments") == []


def test_the_store_never_lets_pillow_decide_on_pixels_alone(tmp_path, monkeypatch):
    """Pillow's global threshold lower than the store's: refused by the store, the global untouched."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    store = AttachmentStore(tmp_path)
    with pytest.raises(AttachmentError) as caught:
        store.ingest(png(Image.new("L", (40, 40))), declared_type="image/png")
    assert caught.value.code == "too_many_pixels"
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_uppercase_expected_hash_is_normalised(store):
    data = png()
    assert store.ingest(data, declared_type="image/png", expected_sha256=sha(data).upper()).sha256 == sha(data)


def test_truncated_images_are_never_loaded(store, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        store.ingest(jpeg(), declared_type="image/jpeg")


# ---------------------------------------------------------------------- names and helpers


@pytest.mark.parametrize("name", ["../..", "../../etc/passwd", "", "a" * 63, "a" * 65, "z" * 64,
                                  "/" + "a" * 63, "aa/bb", None, 12])
@pytest.mark.parametrize("helper", ["exists", "open_original", "original_path", "display_path", "thumb_path"])
def test_helpers_refuse_bad_names(store, helper, name):
    with pytest.raises(AttachmentError) as caught:
        getattr(store, helper)(name)
    assert caught.value.code == "bad_name"


def test_helpers_on_an_unknown_name(store):
    unknown = "e" * 64
    assert store.exists(unknown) is False
    assert store.original_path(unknown) is None
    assert store.display_path(unknown) is None and store.thumb_path(unknown) is None
    with pytest.raises(AttachmentError) as caught:
        store.open_original(unknown)
    assert (caught.value.code, caught.value.status) == ("not_found", 404)


# ---------------------------------------------------------------------- atomic writes


def test_no_temporary_files_after_success(store):
    image = store.ingest(jpeg(), declared_type="image/jpeg")
    store.ingest(pdf(), declared_type=None, allowed=DOCUMENT_TYPES)
    store.display_path(image.sha256)  # made on first view
    store.thumb_path(image.sha256)
    names = files_under(store.root)
    assert len(names) == 4
    assert not [n for n in names if ".tmp" in n or n.endswith(".part")]


def test_a_failed_write_leaves_no_temporary_file_and_no_original(store, monkeypatch):
    data = jpeg()
    real_replace = storage.os.replace

    def failing_replace(src, dst):
        if "originals" in str(dst):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        store.ingest(data, declared_type="image/jpeg")
    monkeypatch.undo()

    assert not store.exists(sha(data))
    assert not [n for n in files_under(store.root) if "originals" in n or ".tmp" in n]
    assert store.ingest(data, declared_type="image/jpeg").created is True  # the retry completes the set
    assert len(files_under(store.root)) == 1  # the original; the thumbnail and display copy on first view
    assert store.display_path(sha(data)) is not None and store.thumb_path(sha(data)) is not None


# ---------------------------------------------------------------------- purity


def test_the_store_imports_no_flask_or_database():
    assert offending(imported_modules(Path(storage.__file__))) == []
    assert IMAGE_TYPES < DOCUMENT_TYPES


# ---------------------------------------------------------------------- bounded decoding, anonymous photos


def test_an_anonymised_photo_is_stored_re_encoded_without_any_metadata(store):
    exif = make_exif(orientation=6, original="2024:03:15 09:30:00", gps=GPS_TAGS)
    exif[0x0110] = "PhoneModel-X"  # Model
    exif[0x010F] = "Maker"
    data = jpeg(gradient((3000, 1500)), exif=exif, comment=b"secret-comment")

    result = store.ingest(data, declared_type="image/jpeg", anonymise=True)

    assert result.sha256 != sha(data)  # not the bytes as sent
    assert (result.captured_at, result.gps) == (None, None)
    stored = store.original_path(result.sha256).read_bytes()
    assert sha(stored) == result.sha256 and len(stored) == result.size
    for marker in (b"Exif", b"PhoneModel", b"Maker", b"secret-comment", b"GPS"):
        assert marker not in stored
    with Image.open(io.BytesIO(stored)) as kept:
        assert len(kept.getexif()) == 0
        assert max(kept.size) <= storage.PUBLIC_SIZE and kept.width < kept.height  # upright, reduced
        assert (result.width, result.height) == kept.size
    assert files_under(store.root) == sorted([f"originals/{result.sha256[:2]}/{result.sha256[2:4]}/{result.sha256}",
                                             result.thumb_path])


def test_a_lower_pixel_limit_for_one_upload(store):
    data = jpeg(gradient((1000, 1000)))
    with pytest.raises(AttachmentError) as caught:
        store.ingest(data, declared_type=None, anonymise=True, max_pixels=999_999)
    assert caught.value.code == "too_many_pixels"
    assert not store.root.exists() or files_under(store.root) == []
    assert store.ingest(data, declared_type=None, anonymise=True, max_pixels=1_000_000).created


def test_decoding_takes_one_of_a_few_slots(store, monkeypatch):
    """At most DECODE_CONCURRENCY decodes at once per process: the decode (a PNG's, or a JPEG's copy on first
    view) waits for a free slot."""
    slots = storage.threading.BoundedSemaphore(1)
    monkeypatch.setattr(storage, "_DECODE_SLOTS", slots)
    slots.acquire()
    import threading
    done = threading.Event()
    worker = threading.Thread(target=lambda: (store.ingest(png(), declared_type=None), done.set()))
    worker.start()
    assert not done.wait(0.5)  # blocked while the only slot is taken
    slots.release()
    worker.join(5)
    assert done.is_set()


_MEMORY_PROBE = r"""
import sys, pathlib
from server.storage import AttachmentStore

def high_water_mb():  # VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec)
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise SystemExit("no /proc/self/status")

data = pathlib.Path(sys.argv[1]).read_bytes()
base = high_water_mb()
store = AttachmentStore(pathlib.Path(sys.argv[2]))
staff = store.ingest(data, declared_type="image/jpeg")
store.display_path(staff.sha256)
store.thumb_path(staff.sha256)
public = store.ingest(data, declared_type="image/jpeg", anonymise=True)
print(base, high_water_mb(), staff.width, staff.height, public.width, public.height)
"""

_MAKE_40MP = r"""
import sys
from PIL import Image
base = Image.linear_gradient("L").resize((7300, 5470))
Image.merge("RGB", (base, base.rotate(90, expand=False), base.transpose(Image.Transpose.FLIP_LEFT_RIGHT))) \
    .save(sys.argv[1], "JPEG", quality=80)
"""


def test_a_40_megapixel_upload_stays_under_200_mb(tmp_path):
    """Peak RSS of a fresh process storing a 40 MP JPEG (staff and anonymised), display copy and thumbnail
    included: reduced decoding keeps it far below the 1.1 GB a full decode and copies reached."""
    import subprocess
    import sys
    photo = tmp_path / "big.jpg"
    subprocess.run([sys.executable, "-c", _MAKE_40MP, str(photo)], check=True)
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(photo), str(tmp_path / "store")],
                         check=True, capture_output=True, text=True).stdout.split()
    base_mb, peak_mb, width, height, public_w, public_h = map(int, out)
    assert (width, height) == (7300, 5470)
    assert max(public_w, public_h) == storage.PUBLIC_SIZE
    assert peak_mb < 200, f"peak {peak_mb} MB (baseline {base_mb} MB)"


_PUBLIC_PNG_PROBE = r"""
import io, sys, pathlib
from PIL import Image

base = Image.linear_gradient("L").resize((5600, 4280))   # 24 MP, the public limit: a PNG is decoded in full
image = Image.merge("RGB", (base, base.rotate(90), base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
buffer = io.BytesIO()
image.save(buffer, "PNG", compress_level=1)
pathlib.Path(sys.argv[2]).write_bytes(buffer.getvalue())
"""

_PUBLIC_PNG_STORE = r"""
import sys, pathlib
from server.storage import PUBLIC_MAX_PIXELS, AttachmentStore

def high_water_mb():
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise SystemExit("no /proc/self/status")

data = pathlib.Path(sys.argv[1]).read_bytes()
public = AttachmentStore(pathlib.Path(sys.argv[2])).ingest(data, declared_type="image/png", anonymise=True,
                                                          max_pixels=PUBLIC_MAX_PIXELS)
print(high_water_mb(), public.width, public.height)
"""


def test_an_anonymous_png_at_the_public_pixel_limit_stays_under_200_mb(tmp_path):
    """A PNG cannot be decoded at reduced scale: the anonymised copy is reduced in place, never next to a
    full-size copy (that copy took a 330 KB, 24 MP PNG from the public form to 251 MB)."""
    import subprocess
    import sys
    photo = tmp_path / "big.png"
    subprocess.run([sys.executable, "-c", _PUBLIC_PNG_PROBE, "", str(photo)], check=True)
    out = subprocess.run([sys.executable, "-c", _PUBLIC_PNG_STORE, str(photo), str(tmp_path / "store")],
                         check=True, capture_output=True, text=True).stdout.split()
    peak_mb, width, height = map(int, out)
    assert max(width, height) == storage.PUBLIC_SIZE
    assert peak_mb < 200, f"peak {peak_mb} MB"


@pytest.mark.parametrize(("size", "refused"), [
    ((6000, 4100), True),     # 24.6 MP: over the PNG limit, whoever uploads it
    ((6000, 3900), False),    # 23.4 MP: within it
])
def test_png_has_the_lower_pixel_limit_for_everyone(store, size, refused):
    """A PNG's pixels cost their full size in memory (no reduced decoding, unlike JPEG), so every PNG gets
    the 24 MP limit: a staff upload is judged like an anonymous one.  Only the header is real here, so a PNG
    within the limit fails later, at the decode, with another code."""
    data = with_new_ihdr_size(png(), *size)
    with pytest.raises(AttachmentError) as exc:
        store.ingest(data, declared_type="image/png")
    assert (exc.value.code == "too_many_pixels") is refused


# ---------------------------------------------------------------------- a JPEG's structure, not its pixels


def test_a_jpeg_upload_is_not_decoded(store, monkeypatch):
    """The request walks the JPEG's segments; the pixels are decoded only for a copy, on first view."""
    data = jpeg(gradient((800, 600)))

    def no_decoding(self):
        raise AssertionError("the upload decoded the photo")

    with monkeypatch.context() as patched:
        patched.setattr(ImageFile.ImageFile, "load", no_decoding)
        stored = store.ingest(data, declared_type="image/jpeg")
    assert (stored.created, stored.width, stored.height) == (True, 800, 600)
    with Image.open(store.thumb_path(stored.sha256)) as small:
        assert small.size == (320, 240)


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body


def _swap_segment(data: bytes, marker: int, body: bytes) -> bytes:
    """``data`` with the first segment of ``marker`` replaced by one carrying ``body``."""
    start = data.index(bytes([0xFF, marker]))
    length = int.from_bytes(data[start + 2:start + 4], "big")
    return data[:start] + _segment(marker, body) + data[start + 2 + length:]


def _sof(data: bytes) -> tuple[int, bytes]:
    for marker in (0xC0, 0xC2):
        at = data.find(bytes([0xFF, marker]))
        if at > 0:
            length = int.from_bytes(data[at + 2:at + 4], "big")
            return marker, data[at + 4:at + 2 + length]
    raise AssertionError("no frame header")


def _frame(data: bytes, **change) -> bytes:
    marker, body = _sof(data)
    body = bytearray(body)
    if "precision" in change:
        body[0] = change["precision"]
    if "width" in change:
        body[3:5] = change["width"].to_bytes(2, "big")
    return _swap_segment(data, marker, bytes(body))


def _scan_start(data: bytes) -> int:
    return data.index(b"\xff\xda")


JPEG_STRUCTURES = [
    # id, data, accepted
    ("baseline", lambda: jpeg(gradient((300, 200))), True),
    ("progressive", lambda: jpeg(gradient((300, 200)), progressive=True), True),
    ("optimised", lambda: jpeg(gradient((300, 200)), optimize=True), True),
    ("restart-markers", lambda: jpeg(gradient((300, 200)), restart_marker_blocks=2), True),
    ("greyscale", lambda: jpeg(gradient((300, 200)).convert("L")), True),
    ("cmyk", lambda: jpeg(gradient((300, 200)).convert("CMYK")), True),
    ("exif-and-comment", lambda: jpeg(exif=make_exif(original="2024:03:15 09:30:00"), comment=b"hi"), True),
    ("junk-after-end", lambda: jpeg() + b"<script>alert(1)</script>", True),
    ("fill-bytes-before-a-marker", lambda: jpeg()[:2] + b"\xff\xff" + jpeg()[2:], True),
    ("cut-in-the-scan", lambda: jpeg(gradient((300, 200)))[:-300], False),
    ("cut-before-the-end-marker", lambda: jpeg()[:-2], False),
    ("cut-in-a-header", lambda: jpeg()[:_scan_start(jpeg()) - 3], False),
    ("cut-after-the-scan-header", lambda: jpeg()[:_scan_start(jpeg()) + 14], False),
    ("end-marker-before-any-scan", lambda: jpeg()[:_scan_start(jpeg())] + b"\xff\xd9", False),
    ("scan-before-the-frame", lambda: jpeg()[:2] + jpeg()[_scan_start(jpeg()):], False),
    ("two-frames", lambda: (lambda d: d[:_scan_start(d)] + _segment(_sof(d)[0], _sof(d)[1]) + d[_scan_start(d):])(
        jpeg()), False),
    ("twelve-bit", lambda: _frame(jpeg(), precision=12), False),
    ("zero-width", lambda: _frame(jpeg(), width=0), False),
    ("lossless-frame", lambda: (lambda d: d.replace(bytes([0xFF, _sof(d)[0]]), b"\xff\xc3", 1))(jpeg()), False),
    ("a-second-start-of-image", lambda: jpeg()[:2] + b"\xff\xd8" + jpeg()[2:], False),
    ("segment-longer-than-the-file", lambda: jpeg()[:4] + b"\xff\xff" + jpeg()[6:], False),
    ("bytes-between-segments", lambda: (lambda d: d[:_scan_start(d)] + b"\x00" + d[_scan_start(d):])(jpeg()), False),
    ("magic-then-html", lambda: b"\xff\xd8\xff<html><script>alert(1)</script></html>", False),
]


@pytest.mark.parametrize("make, accepted", [pytest.param(*row[1:], id=row[0]) for row in JPEG_STRUCTURES])
def test_the_jpeg_structure_walk(tmp_path, make, accepted):
    store = AttachmentStore(tmp_path / "attachments")
    data = make()
    if accepted:
        assert store.ingest(data, declared_type=None).created
        with Image.open(store.thumb_path(sha(data))) as small:  # and its copy is made from it
            assert small.size[0] <= 320
    else:
        with pytest.raises(AttachmentError) as caught:
            store.ingest(data, declared_type=None)
        assert (caught.value.code, caught.value.status) == ("corrupt", 422)
        assert not (tmp_path / "attachments").exists() or files_under(tmp_path / "attachments") == []


def test_a_jpeg_cut_anywhere_is_refused(store):
    data = jpeg(gradient((200, 150)), progressive=True)
    for cut in range(3, len(data), max(1, len(data) // 97)):
        with pytest.raises(AttachmentError):
            store.ingest(data[:cut], declared_type=None)
    assert not store.root.exists() or files_under(store.root) == []


def test_the_first_file_of_a_shard_syncs_every_directory_it_made(store, monkeypatch):
    """A new directory's entry is synced in its parent, so a crash cannot lose a stored original with it."""
    synced: list[Path] = []
    real = storage._fsync_directory
    monkeypatch.setattr(storage, "_fsync_directory", lambda d: (synced.append(Path(d)), real(d)))
    data = jpeg()
    stored = store.ingest(data, declared_type=None)
    leaf = store.original_path(stored.sha256).parent
    made = [leaf, leaf.parent, leaf.parent.parent, store.root]   # .../ab/cd, .../ab, originals, the root
    assert set(p.parent for p in made) | {leaf} <= set(synced), synced
    synced.clear()
    store.ingest(data + b"\x00", declared_type=None)   # another file: only the directories it made, if any
    assert store.root not in synced and store.root.parent not in synced


# --- the sweep of files no record names --------------------------------------------------------------

def _aged(path: Path, days: float = 10) -> None:
    import os
    import time

    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_the_sweep_removes_unnamed_old_files_with_their_copies_and_crash_leftovers(store):
    named, unnamed, recent = png(gradient((30, 20))), png(gradient((31, 20))), png(gradient((32, 20)))
    for data in (named, unnamed, recent):
        store.ingest(data, declared_type="image/png")
    for data in (named, unnamed):
        _aged(store._original(sha(data)))
    leftover = store._original(sha(named)).parent / ".tmp-crashed.part"
    leftover.write_bytes(b"half a file")
    _aged(leftover)
    assert store._derived("thumbs", sha(unnamed)) is not None          # a PNG's thumbnail is made at upload
    looked = []

    def referenced(shas):
        looked.append(list(shas))
        return {sha(named)} & set(shas)

    assert store.sweep(referenced, older_than=7 * 86400, dry_run=True) == [sha(unnamed)]
    assert store._original(sha(unnamed)).is_file() and leftover.is_file()
    assert store.sweep(referenced, older_than=7 * 86400) == [sha(unnamed)]
    assert not store._original(sha(unnamed)).exists() and store._derived("thumbs", sha(unnamed)) is None
    assert store._original(sha(named)).is_file() and store._original(sha(recent)).is_file()
    assert not leftover.exists()
    assert sha(recent) not in {s for batch in looked for s in batch}    # too new to be looked at


def test_a_file_sent_again_while_the_sweep_looks_again_is_kept(store):
    """The sweep puts a file aside, then looks again: the same bytes stored meanwhile (the resend found the
    file gone and wrote it anew) stay; a resend that renewed the file's time before it was put aside brings
    it back."""
    first, second = png(gradient((33, 20))), png(gradient((34, 20)))
    for data in (first, second):
        store.ingest(data, declared_type="image/png")
        _aged(store._original(sha(data)))
    calls = []

    def referenced(shas):
        calls.append(list(shas))
        if shas == [sha(first)]:     # the look again, with the first file aside: sent again at this moment
            assert store.ingest(first, declared_type="image/png").created
        if len(calls) == 1:          # after the listing, before anything is put aside: the second is resent
            import os

            os.utime(store._original(sha(second)))
        return set()

    removed = store.sweep(referenced, older_than=7 * 86400)
    assert len(calls) == 2             # one look at both, one again at the first (the second's time sufficed)
    assert store._original(sha(first)).read_bytes() == first            # written anew by the resend: kept
    assert store._original(sha(second)).read_bytes() == second          # its time renewed: put back
    assert sha(second) not in removed
    assert not list(store.root.rglob("*.sweeping"))


@pytest.mark.parametrize("aside", [".sweeping", ".0f3a9c21.sweeping"])   # the first form's name, and today's
def test_a_sweep_that_stopped_half_way_is_finished_by_the_next(store, aside):
    named, unnamed = png(gradient((35, 20))), png(gradient((36, 20)))
    for data in (named, unnamed):
        store.ingest(data, declared_type="image/png")
        path = store._original(sha(data))
        path.rename(path.with_name(path.name + aside))                 # as a sweep killed after its rename
        _aged(path.with_name(path.name + aside))
    store.sweep(lambda shas: {sha(named)} & set(shas), older_than=7 * 86400)
    assert store._original(sha(named)).read_bytes() == named           # named by a row: put back
    assert not store._original(sha(unnamed)).exists()
    assert not list(store.root.rglob("*.sweeping"))


def test_a_discard_looks_for_a_row_again_once_the_file_is_aside(store):
    """A refused request's file is removed unless a row names it by the second look, which comes after the file
    is set aside (a row committed between the first look and the removal keeps it)."""
    kept, gone = png(gradient((37, 20))), png(gradient((38, 20)))
    asides = []

    def named_after_aside(name):
        asides.extend(p.name for p in store.root.rglob("*.sweeping"))
        return name == sha(kept)

    for data in (kept, gone):
        store.ingest(data, declared_type="image/png")
    assert store.discard(sha(kept), named_after_aside) is False
    assert store.discard(sha(gone), named_after_aside) is True
    assert [a.split(".")[0] for a in asides] == [sha(kept), sha(gone)]       # each looked at while aside
    assert len(set(asides)) == 2 and all(len(a.split(".")) == 3 for a in asides)   # a name of its own each
    assert store._original(sha(kept)).read_bytes() == kept and store._derived("thumbs", sha(kept)) is not None
    assert not store._original(sha(gone)).exists() and store._derived("thumbs", sha(gone)) is None
    assert store.discard(sha(gone), named_after_aside) is False              # already gone: nothing to do
    assert not list(store.root.rglob("*.sweeping"))


def test_keep_writes_a_named_file_again_when_a_removal_took_it(store):
    data = png(gradient((39, 20)))
    store.ingest(data, declared_type="image/png")
    assert store.keep(sha(data), data) is False                              # there: only its time renewed
    store._original(sha(data)).unlink()                                      # as a discard that looked too early
    assert store.keep(sha(data).upper(), data) is True
    assert store._original(sha(data)).read_bytes() == data
    store._original(sha(data)).unlink()
    with pytest.raises(AttachmentError) as refused:                          # never other bytes under the name
        store.keep(sha(data), data + b"x")
    assert refused.value.code == "hash_mismatch" and not store._original(sha(data)).exists()
