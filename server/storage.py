"""The content-addressed attachment store (signatures, fingerprint photos, scanned forms, reports).

Every file is named by the SHA-256 of its bytes and lives under one root directory::

    root/originals/ab/cd/<sha256>          the bytes as received (never altered)
    root/display/ab/cd/<sha256>.jpg|.png   images only: re-encoded by Pillow, metadata stripped, upright
    root/thumbs/ab/cd/<sha256>.jpg|.png    images only: the display copy, at most 320 px on the long side

The real type is detected from the bytes (never from what the client declares): JPEG and PNG are
decoded in full by Pillow, PDF is checked for its header and trailer, anything else is refused.
Capture time and GPS are read from EXIF before it is stripped and returned as data.

Plain Python + Pillow: no Flask, no database. The caller passes the root and the limits, records
the result (``server.models.attachments.Attachment``) and maps :class:`AttachmentError` to a response.
Writes are atomic (temporary file in the same directory, fsync, ``os.replace``) and the original is
written last, so an original on disk means its display copy and thumbnail are there as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import ExifTags, Image, ImageFile, ImageOps

IMAGE_TYPES: frozenset[str] = frozenset({"image/jpeg", "image/png"})
DOCUMENT_TYPES: frozenset[str] = IMAGE_TYPES | {"application/pdf"}

DEFAULT_MAX_BYTES = 15 * 2**20
DEFAULT_MAX_PIXELS = 40_000_000
THUMB_SIZE = 320
JPEG_QUALITY = 85
PDF_EOF_WINDOW = 1024  # "%%EOF" must appear within the last this many bytes

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"
_PDF_HEADER = b"%PDF-"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PILLOW_FORMATS = {"image/jpeg": ["JPEG"], "image/png": ["PNG"]}
# Pillow reports a JPEG carrying a multi-picture index (some phone cameras) as "MPO".
_FORMAT_MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png"}
_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png"}
_MIME_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
# JPEG start-of-frame markers (they carry the dimensions): C0-CF except DHT, JPG and DAC.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})

_EXIF_DATETIME = ExifTags.Base.DateTime  # 0x0132, in IFD0
_EXIF_DATETIME_ORIGINAL = ExifTags.Base.DateTimeOriginal  # 0x9003, in the Exif IFD
_EXIF_OFFSET_TIME = ExifTags.Base.OffsetTime  # 0x9010
_EXIF_OFFSET_TIME_ORIGINAL = ExifTags.Base.OffsetTimeOriginal  # 0x9011
_UTC_OFFSET = re.compile(r"[+-](?:[01]\d|2[0-3]):[0-5]\d")

_ERRORS: dict[str, tuple[int, str, str]] = {
    "empty": (422, "文件为空。", "The file is empty."),
    "too_large": (413, "文件超过大小上限（{limit}）。", "The file is larger than the limit ({limit})."),
    "too_many_pixels": (413, "图片像素过多（上限 {limit} 像素）。",
                        "The image has too many pixels (limit {limit})."),
    "bad_name": (422, "附件名称不是有效的 SHA-256 值（64 位十六进制）。",
                 "The attachment name is not a valid SHA-256 value (64 hexadecimal digits)."),
    "hash_mismatch": (422, "文件内容与其 SHA-256 校验值不符，请重新上传。",
                      "The file does not match its SHA-256 value; please upload it again."),
    "unsupported_type": (415, "不支持的文件类型（接受：{allowed}）。",
                         "Unsupported file type (accepted: {allowed})."),
    "type_mismatch": (415, "文件的实际类型（{detected}）与声明的类型（{declared}）不符。",
                      "The file is {detected}, not {declared} as declared."),
    "corrupt": (422, "文件已损坏或不完整。", "The file is damaged or incomplete."),
    "not_found": (404, "附件不存在。", "No such attachment."),
}
_TYPE_LABELS = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}


class AttachmentError(Exception):
    """A refused upload or lookup: ``code`` (stable, for clients), HTTP ``status``, messages in zh/en."""

    def __init__(self, code: str, **params: Any) -> None:
        status, message, message_en = _ERRORS[code]
        self.code = code
        self.status = status
        self.message = message.format(**params) if params else message
        self.message_en = message_en.format(**params) if params else message_en
        super().__init__(f"{code}: {self.message_en}")


@dataclass(frozen=True, slots=True)
class Ingested:
    sha256: str
    size: int
    mime: str
    created: bool  # False when the same bytes were already stored
    width: int | None  # as displayed, i.e. after the EXIF orientation is applied; None for PDF
    height: int | None
    captured_at: str | None  # ISO 8601 from EXIF; an offset only when the file records one
    gps: dict[str, float] | None  # latitude, longitude (signed decimal degrees), altitude (m) if present
    display_path: str | None  # relative to the store root, POSIX separators; None for PDF
    thumb_path: str | None


@dataclass(slots=True)
class _Decoded:
    mime: str
    image: Image.Image | None = None  # upright, metadata-free, in a mode its format can save
    captured_at: str | None = None
    gps: dict[str, float] | None = None


def normalise_sha256(name: object) -> str:
    """The lowercase hex name, or ``AttachmentError("bad_name")`` (paths are only built from this)."""
    if not isinstance(name, str):
        raise AttachmentError("bad_name")
    lowered = name.lower()
    if not _SHA256.fullmatch(lowered):
        raise AttachmentError("bad_name")
    return lowered


class AttachmentStore:
    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    # ------------------------------------------------------------------ lookups

    def _relative(self, kind: str, sha: str, suffix: str = "") -> str:
        return f"{kind}/{sha[:2]}/{sha[2:4]}/{sha}{suffix}"

    def _original(self, sha: str) -> Path:
        return self.root / self._relative("originals", sha)

    def _derived(self, kind: str, sha: str) -> Path | None:
        for suffix in (".jpg", ".png"):
            path = self.root / self._relative(kind, sha, suffix)
            if path.is_file():
                return path
        return None

    def exists(self, sha: str) -> bool:
        return self._original(normalise_sha256(sha)).is_file()

    def open_original(self, sha: str) -> BinaryIO:
        try:
            return open(self._original(normalise_sha256(sha)), "rb")  # the caller closes it
        except FileNotFoundError:
            raise AttachmentError("not_found") from None

    def original_path(self, sha: str) -> Path | None:
        """Absolute path of the original as received, or None if nothing is stored under that name."""
        path = self._original(normalise_sha256(sha))
        return path if path.is_file() else None

    def display_path(self, sha: str) -> Path | None:
        """Absolute path of the display copy, or None (a PDF, or nothing stored)."""
        return self._derived("display", normalise_sha256(sha))

    def thumb_path(self, sha: str) -> Path | None:
        return self._derived("thumbs", normalise_sha256(sha))

    # ------------------------------------------------------------------ ingest

    def ingest(self, data: bytes, *, declared_type: str | None, expected_sha256: str | None = None,
               allowed: frozenset[str] = IMAGE_TYPES) -> Ingested:
        """Verify ``data`` and store it (once). Raises :class:`AttachmentError` on refusal."""
        expected = normalise_sha256(expected_sha256) if expected_sha256 is not None else None
        if not data:
            raise AttachmentError("empty")
        if len(data) > self.max_bytes:
            raise AttachmentError("too_large", limit=_format_bytes(self.max_bytes))
        sha = hashlib.sha256(data).hexdigest()
        if expected is not None and sha != expected:
            raise AttachmentError("hash_mismatch")

        mime = _sniff(data)
        if mime is None or mime not in allowed:
            raise AttachmentError("unsupported_type", allowed=_labels(allowed))
        declared = _normalise_mime(declared_type)
        if declared is not None and declared != mime:
            raise AttachmentError("type_mismatch", detected=_TYPE_LABELS[mime], declared=declared)

        if mime == "application/pdf":
            decoded = self._check_pdf(data)
        else:
            decoded = self._decode_image(data, mime, allowed)

        original = self._original(sha)
        created = not original.is_file()
        display_rel = thumb_rel = None
        width = height = None
        if decoded.image is not None:
            image = decoded.image
            width, height = image.size
            suffix = _SUFFIX[mime]
            display_rel = self._relative("display", sha, suffix)
            thumb_rel = self._relative("thumbs", sha, suffix)
            # Made once: a later upload of the same bytes only repairs a missing copy.
            if not (self.root / display_rel).is_file():
                _write_atomic(self.root / display_rel, _encode(image, mime))
            if not (self.root / thumb_rel).is_file():
                thumb = image.copy()
                thumb.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
                _write_atomic(self.root / thumb_rel, _encode(thumb, mime))
        if created:
            _write_atomic(original, data)  # last: its presence means the whole set is there
        return Ingested(sha256=sha, size=len(data), mime=mime, created=created, width=width, height=height,
                        captured_at=decoded.captured_at, gps=decoded.gps,
                        display_path=display_rel, thumb_path=thumb_rel)

    def _check_pdf(self, data: bytes) -> _Decoded:
        if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
            raise AttachmentError("corrupt")
        return _Decoded(mime="application/pdf")

    def _pixel_limit(self) -> int:
        # Never above Pillow's own threshold, so that its DecompressionBombWarning cannot fire for an
        # image this store accepts (read per call; the global is not changed).
        pillow_limit = Image.MAX_IMAGE_PIXELS
        return self.max_pixels if pillow_limit is None else min(self.max_pixels, int(pillow_limit))

    def _check_pixels(self, size: tuple[int, int] | None, limit: int) -> None:
        if size is not None and size[0] * size[1] > limit:
            raise AttachmentError("too_many_pixels", limit=f"{limit:,}")

    def _decode_image(self, data: bytes, mime: str, allowed: frozenset[str]) -> _Decoded:
        if ImageFile.LOAD_TRUNCATED_IMAGES:
            # Something in the process switched Pillow into accepting truncated files; refuse to run
            # rather than store half images.
            raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must be False for the attachment store")
        limit = self._pixel_limit()
        if mime == "image/png":
            size = _png_size_and_check_trailer(data, allowed)
        else:
            size = _jpeg_size(data)  # best effort: None leaves the check to the size Pillow reads
        self._check_pixels(size, limit)

        formats = _PILLOW_FORMATS[mime]
        try:
            # First pass: structure and checksums.
            with Image.open(io.BytesIO(data), formats=formats) as probe:
                if _FORMAT_MIME.get(probe.format or "") != mime:
                    raise AttachmentError("unsupported_type", allowed=_labels(allowed))
                self._check_pixels(probe.size, limit)
                if getattr(probe, "n_frames", 1) != 1 and probe.format == "PNG":
                    raise AttachmentError("unsupported_type", allowed=_labels(allowed))  # APNG
                probe.verify()
            # Second pass: decode every pixel (a truncated file fails here).
            with Image.open(io.BytesIO(data), formats=formats) as img:
                self._check_pixels(img.size, limit)
                img.load()
                exif = _read_exif(img)
                captured_at = _capture_time(exif) if exif is not None else None
                gps = _gps(exif) if exif is not None else None
                image = _clean_copy(img, mime)
        except AttachmentError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise AttachmentError("too_many_pixels", limit=f"{limit:,}") from None
        except MemoryError:
            raise
        except Exception:  # Pillow signals damaged input with many exception types
            raise AttachmentError("corrupt") from None
        return _Decoded(mime=mime, image=image, captured_at=captured_at, gps=gps)


# ---------------------------------------------------------------------- byte-level checks


def _sniff(data: bytes) -> str | None:
    if data.startswith(_PNG_SIGNATURE):
        return "image/png"
    if data.startswith(_JPEG_SOI):
        return "image/jpeg"
    if data.startswith(_PDF_HEADER):
        return "application/pdf"
    return None


def _normalise_mime(declared: str | None) -> str | None:
    if declared is None:
        return None
    value = declared.split(";", 1)[0].strip().lower()
    if not value:
        return None
    return _MIME_ALIASES.get(value, value)


def _labels(allowed: frozenset[str]) -> str:
    return "、".join(sorted(_TYPE_LABELS.get(m, m) for m in allowed))


def _format_bytes(n: int) -> str:
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n} bytes"


def _png_size_and_check_trailer(data: bytes, allowed: frozenset[str]) -> tuple[int, int]:
    """Walk the PNG chunks: IHDR first, nothing after IEND (no script smuggled behind the image)."""
    pos = len(_PNG_SIGNATURE)
    size: tuple[int, int] | None = None
    end = len(data)
    while True:
        if pos + 8 > end:
            raise AttachmentError("corrupt")  # cut off before IEND
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if length > 2**31 - 1 or pos + 12 + length > end or not kind.isalpha():
            raise AttachmentError("corrupt")
        if size is None:
            if kind != b"IHDR" or length != 13:
                raise AttachmentError("corrupt")
            size = (int.from_bytes(data[pos + 8:pos + 12], "big"), int.from_bytes(data[pos + 12:pos + 16], "big"))
        pos += 12 + length
        if kind == b"IEND":
            break
    if pos != end:
        raise AttachmentError("unsupported_type", allowed=_labels(allowed))
    return size


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first start-of-frame segment, or None if the markers do not parse."""
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF:
            return None
        while pos < end and data[pos] == 0xFF:
            pos += 1
        if pos >= end:
            return None
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA) or pos + 2 > end:
            return None  # end of image or start of scan before any frame header
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > end:
            return None
        if marker in _JPEG_SOF:
            if length < 7:
                return None
            height = int.from_bytes(data[pos + 3:pos + 5], "big")
            width = int.from_bytes(data[pos + 5:pos + 7], "big")
            return width, height
        pos += length
    return None


# ---------------------------------------------------------------------- metadata


def _read_exif(img: Image.Image) -> Image.Exif | None:
    try:
        exif = img.getexif()
    except Exception:  # damaged EXIF never refuses a photo; it only loses its metadata
        return None
    return exif if len(exif) else None


def _exif_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ").strip()


def _capture_time(exif: Image.Exif) -> str | None:
    """DateTimeOriginal, else DateTime, as ISO 8601; the UTC offset only if the file records it."""
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        sub = {}
    candidates = ((sub.get(_EXIF_DATETIME_ORIGINAL), sub.get(_EXIF_OFFSET_TIME_ORIGINAL)),
                  (exif.get(_EXIF_DATETIME), sub.get(_EXIF_OFFSET_TIME)))
    for raw, raw_offset in candidates:
        text = _exif_text(raw)
        if not text:
            continue
        try:
            moment = dt.datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue  # "0000:00:00 00:00:00", blanks, other junk
        iso = moment.isoformat()
        offset = _exif_text(raw_offset)
        if offset and _UTC_OFFSET.fullmatch(offset):
            iso += offset
        return iso
    return None


def _rational(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _degrees(value: object, ref: object, positive: str, negative: str, bound: float) -> float | None:
    ref_text = (_exif_text(ref) or "").upper()
    if ref_text not in (positive, negative):
        return None  # without the hemisphere the sign would be a guess
    parts = value if isinstance(value, tuple) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_rational(p) for p in parts]
    if any(n is None or n < 0 for n in numbers):
        return None
    degrees = sum(n / 60**i for i, n in enumerate(numbers))  # type: ignore[operator]
    if degrees > bound:
        return None
    return round(-degrees if ref_text == negative else degrees, 7)


def _gps(exif: Image.Exif) -> dict[str, float] | None:
    try:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:
        return None
    if not info:
        return None
    latitude = _degrees(info.get(ExifTags.GPS.GPSLatitude), info.get(ExifTags.GPS.GPSLatitudeRef),
                        "N", "S", 90.0)
    longitude = _degrees(info.get(ExifTags.GPS.GPSLongitude), info.get(ExifTags.GPS.GPSLongitudeRef),
                         "E", "W", 180.0)
    if latitude is None or longitude is None:
        return None
    result = {"latitude": latitude, "longitude": longitude}
    altitude = _rational(info.get(ExifTags.GPS.GPSAltitude))
    if altitude is not None:
        below = info.get(ExifTags.GPS.GPSAltitudeRef) in (1, b"\x01")
        result["altitude"] = round(-altitude if below else altitude, 2)
    return result


# ---------------------------------------------------------------------- re-encoding


def _clean_copy(img: Image.Image, mime: str) -> Image.Image:
    """Upright pixels in a mode the output format saves, with no metadata at all attached."""
    try:
        upright = ImageOps.exif_transpose(img)
    except Exception:  # unreadable orientation: keep the pixels as stored
        upright = img.copy()
    has_alpha = "transparency" in upright.info or upright.mode in ("RGBA", "LA", "PA")
    if mime == "image/jpeg":
        if upright.mode not in ("L", "RGB"):
            upright = upright.convert("RGB")  # CMYK, YCbCr, ...
    elif upright.mode not in ("1", "L", "LA", "RGB", "RGBA"):
        if upright.mode.startswith("I"):  # 16/32-bit greyscale scans
            upright = upright.convert("I").point(lambda v: v / 256).convert("L")
        else:  # P, PA: palettes and their transparency become explicit pixels
            upright = upright.convert("RGBA" if has_alpha else "RGB")
    elif upright.mode in ("L", "RGB") and "transparency" in upright.info:
        upright = upright.convert("LA" if upright.mode == "L" else "RGBA")
    # Pillow's encoders fall back to im.info for ICC, comments, transparency; leave them nothing.
    upright.info = {}
    return upright


def _encode(image: Image.Image, mime: str) -> bytes:
    buffer = io.BytesIO()
    if mime == "image/jpeg":
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# ---------------------------------------------------------------------- files


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory, fsync, rename; no partial file is ever visible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; not possible (nor needed) on Windows.
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    fd = os.open(directory, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
