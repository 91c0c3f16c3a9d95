"""The content-addressed attachment store (signatures, fingerprint photos, scanned forms, reports).

Every file is named by the SHA-256 of its bytes and lives under one root directory::

    root/originals/ab/cd/<sha256>          the bytes as received (never altered)
    root/display/ab/cd/<sha256>.jpg|.png   images only: re-encoded by Pillow, metadata stripped, upright,
                                           at most DISPLAY_SIZE px on the long side
    root/thumbs/ab/cd/<sha256>.jpg|.png    images only: at most THUMB_SIZE px on the long side

The real type is detected from the bytes (never from what the client declares).  An upload costs what
safety needs and one durable write: size, hash, type sniffing, the pixel limit read from the header,
metadata (capture time and GPS, returned as data), and for a JPEG a walk over its segments and scans
without decoding them (:func:`_jpeg_check_structure`: one supported 8-bit frame, every segment inside the
file, at least one scan, the end-of-image marker after it; a truncated file fails here).  PNG (signatures,
scans) is decoded once in full and gives both copies.  The thumbnail and the display copy of a JPEG are made
on first view, by reduced decoding (libjpeg's DCT scaling via ``draft``).  Damaged entropy-coded data
passes the walk; libjpeg mostly decodes such data with a warning rather than refusing it, so a decode at
upload caught little more (a photo whose copy cannot be made shows as having none; the original is kept).
Derived copies are caches: written atomically but not fsynced, and rebuilt from the original whenever one is
missing.  The bytes of an upload already stored are never decoded again.  Decoding runs under a
per-process concurrency cap (:data:`DECODE_CONCURRENCY`) so that a burst of large photos cannot multiply a
worker's memory.

``anonymise=True`` (anonymous residents' photos) stores a re-encoded copy instead of the bytes as sent:
no EXIF, GPS, device or capture data survives, and none is returned.

Plain Python + Pillow: no Flask, no database. The caller passes the root and the limits, records
the result (``server.models.attachments.Attachment``) and maps :class:`AttachmentError` to a response.
The original is written atomically (temporary file in the same directory, fsync, ``os.replace``, fsync
of the directory).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import ExifTags, Image, ImageFile, ImageOps

IMAGE_TYPES: frozenset[str] = frozenset({"image/jpeg", "image/png"})
DOCUMENT_TYPES: frozenset[str] = IMAGE_TYPES | {"application/pdf"}

DEFAULT_MAX_BYTES = 15 * 2**20
DEFAULT_MAX_PIXELS = 40_000_000
THUMB_SIZE = 320
DISPLAY_SIZE = 2048  # the display copy's long side: a screen's worth, never the camera's full resolution
PUBLIC_SIZE = 2048  # anonymous photos are kept re-encoded at most this size
PUBLIC_MAX_PIXELS = 24_000_000  # anonymous uploads: a lower pixel limit (a 24 MP phone photo still passes)
# PNG cannot be decoded at a reduced scale (JPEG can, with draft()), so its pixels cost their full size in
# memory: PNGs (drawn signatures, screenshots; phone photos are JPEG) get the lower limit for everyone,
# which keeps a worker's peak under 200 MB (a 40 MP PNG peaked near 230 MB).
PNG_MAX_PIXELS = 24_000_000
JPEG_QUALITY = 85
DECODE_CONCURRENCY = 2  # images decoded at once per process (each decode's memory is bounded by the limits)
PDF_EOF_WINDOW = 1024  # "%%EOF" must appear within the last this many bytes

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"
_PDF_HEADER = b"%PDF-"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PDF_NAME = re.compile(rb"/([A-Za-z0-9#]+)")
_PDF_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_ACTIVE = frozenset({b"JS", b"JavaScript", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia",
                         b"SubmitForm", b"ImportData"})
_PILLOW_FORMATS = {"image/jpeg": ["JPEG"], "image/png": ["PNG"]}
# Pillow reports a JPEG carrying a multi-picture index (some phone cameras) as "MPO".
_FORMAT_MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png"}
_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png"}
_MIME_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
# JPEG start-of-frame markers (they carry the dimensions): C0-CF except DHT, JPG and DAC.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})
# Frames libjpeg decodes into what Pillow reads: baseline, extended and progressive, Huffman or arithmetic.
_JPEG_DECODABLE_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
# Inside a scan, 0xFF is followed by 0x00 (a stuffed byte), a restart marker or more fill bytes; anything else
# ends the scan.
_JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

_EXIF_ORIENTATION = ExifTags.Base.Orientation  # 0x0112
_EXIF_DATETIME = ExifTags.Base.DateTime  # 0x0132, in IFD0
_EXIF_DATETIME_ORIGINAL = ExifTags.Base.DateTimeOriginal  # 0x9003, in the Exif IFD
_EXIF_OFFSET_TIME = ExifTags.Base.OffsetTime  # 0x9010
_EXIF_OFFSET_TIME_ORIGINAL = ExifTags.Base.OffsetTimeOriginal  # 0x9011
_UTC_OFFSET = re.compile(r"[+-](?:[01]\d|2[0-3]):[0-5]\d")

_ERRORS: dict[str, tuple[int, str, str]] = {
    "empty": (422, "文件为空。", "The file is empty."),
    "too_large": (413, "文件超过大小上限（{limit}）。", "The file is larger than the limit ({limit})."),
    # the limit in megapixels: a run like "24,000,000" would read as a long number to the public number guard
    "too_many_pixels": (413, "图片像素过多（上限 {limit} 百万像素）。",
                        "The image has too many pixels (limit {limit} megapixels)."),
    "bad_name": (422, "附件名称不是有效的 SHA-256 值（64 位十六进制）。",
                 "The attachment name is not a valid SHA-256 value (64 hexadecimal digits)."),
    "hash_mismatch": (422, "文件内容与其 SHA-256 校验值不符，请重新上传。",
                      "The file does not match its SHA-256 value; please upload it again."),
    "unsupported_type": (415, "不支持的文件类型（接受：{allowed}）。",
                         "Unsupported file type (accepted: {allowed_en})."),
    "type_mismatch": (415, "文件的实际类型（{detected}）与声明的类型（{declared}）不符。",
                      "The file is {detected}, not {declared} as declared."),
    "corrupt": (422, "文件已损坏或不完整。", "The file is damaged or incomplete."),
    "pdf_active": (415, "PDF 文件含有脚本、动作或嵌入文件，不予接收：请另存为普通 PDF 或扫描后上传。",
                   "The PDF carries script, actions or embedded files and is not accepted: save it as a plain "
                   "PDF or scan it, then upload."),
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
    stored: bytes | None = None  # the bytes stored, when not those sent (anonymised uploads: the re-encoded copy)


@dataclass(slots=True)
class _Decoded:
    mime: str
    width: int | None = None  # as displayed
    height: int | None = None
    captured_at: str | None = None
    gps: dict[str, float] | None = None
    thumb: bytes | None = None  # encoded, metadata-free
    display: bytes | None = None
    clean: bytes | None = None  # anonymised uploads: the re-encoded copy stored instead of the original


_DECODE_SLOTS = threading.BoundedSemaphore(DECODE_CONCURRENCY)


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
        """Absolute path of the display copy (made now from the original when missing), or None (a PDF,
        nothing stored, or an original that no longer decodes)."""
        sha = normalise_sha256(sha)
        return self._derived("display", sha) or self._rebuild(sha, "display")

    def thumb_path(self, sha: str) -> Path | None:
        sha = normalise_sha256(sha)
        return self._derived("thumbs", sha) or self._rebuild(sha, "thumbs")

    def sweep(self, referenced, *, older_than: float, now: float | None = None,
              dry_run: bool = False) -> list[str]:
        """Remove the originals no row names (``referenced(shas)`` -> the set of those that are named) and not
        stored or re-sent for ``older_than`` seconds, with their copies, and temporary files left by a crash
        as old; returns the hashes removed (or, ``dry_run``, that would be).

        A file's time is renewed whenever its bytes are sent again (:func:`_reuse`), so a resend in flight is
        not swept. To close the gap between the look and the removal, each file is first renamed aside, then
        looked at again (time and row): a resend that came meanwhile either renewed its time (the file goes
        back) or found it gone and wrote it anew (the copy aside is removed, the new one stays)."""
        cutoff = (time.time() if now is None else now) - older_than
        removed: list[str] = []
        batch: list[Path] = []

        def settle(paths: list[Path]) -> None:
            named = referenced([path.name for path in paths])
            for path in paths:
                if path.name in named:
                    continue
                if dry_run:
                    removed.append(path.name)
                elif self._remove_aside(path, lambda aside, name=path.name: aside.stat().st_mtime >= cutoff
                                        or name in referenced([name])):
                    removed.append(path.name)

        # Walked lazily (a district's store holds millions of files). What this loop renames and puts back may be
        # met again: a file put back is then too new or named, and nothing is left aside between batches.
        for path in (self.root / "originals").glob("*/*/*"):
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue
            if mtime >= cutoff:
                continue
            if path.name.endswith(".sweeping"):   # left aside by a sweep or discard that stopped half-way
                original = path.with_name(path.name.split(".", 1)[0])
                if not dry_run and _SHA256.fullmatch(original.name):
                    if not original.exists() and original.name in referenced([original.name]):
                        with suppress(FileNotFoundError):
                            os.replace(path, original)
                    else:
                        with suppress(FileNotFoundError):
                            path.unlink()
                continue
            if path.name.startswith(".tmp-") and path.name.endswith(".part"):
                if not dry_run:   # a write that crashed before its rename: never named by anything
                    with suppress(FileNotFoundError):
                        path.unlink()
                continue
            if not _SHA256.fullmatch(path.name):
                continue
            batch.append(path)
            if len(batch) >= 500:
                settle(batch)
                batch = []
        if batch:
            settle(batch)
        return removed

    def discard(self, sha: str, named: Callable[[str], bool]) -> bool:
        """Remove a file a refused action stored, with its copies, unless a row names it by now: the file is
        renamed aside first and ``named(sha)`` (a fresh read) asked after that, so a row committed before the
        look keeps it, and a writer committing after the look finds it gone and writes it again (:meth:`keep`).
        True when removed."""
        sha = normalise_sha256(sha)
        return self._remove_aside(self._original(sha), lambda aside: named(sha))

    def keep(self, sha: str, data: bytes) -> bool:
        """After the commit of a row that names ``sha``: its bytes are stored. A discard or a sweep that looked at
        the rows before that commit may have removed them meanwhile; they are written again from ``data`` (the
        bytes the writer holds, checked against the name). True when written again."""
        sha = normalise_sha256(sha)
        original = self._original(sha)
        if _reuse(original):
            return False
        if hashlib.sha256(data).hexdigest() != sha:
            raise AttachmentError("hash_mismatch")
        _write_atomic(original, data)
        return True

    def _remove_aside(self, path: Path, spare: Callable[[Path], bool]) -> bool:
        """Rename ``path`` aside (a name of its own: two removers never share one), ask ``spare(aside)`` (a fresh
        look at the time or the rows), then put it back or remove it, and its derived copies when no writer has
        stored it again meanwhile. True when removed; False when spared or already gone."""
        aside = path.with_name(f"{path.name}.{secrets.token_hex(4)}.sweeping")
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return False
        try:
            if spare(aside):
                os.replace(aside, path)   # the same bytes as any copy a writer put there meanwhile
                return False
            aside.unlink()
        except FileNotFoundError:   # another sweep, finishing what it took for a stopped one, settled it
            return False
        for copy in (self._derived("display", path.name), self._derived("thumbs", path.name)):
            if copy is not None and not path.exists():
                with suppress(FileNotFoundError):
                    copy.unlink()
        return True

    def _rebuild(self, sha: str, kind: str) -> Path | None:
        original = self._original(sha)
        try:
            with open(original, "rb") as handle:
                mime = _sniff(handle.read(8))
        except FileNotFoundError:
            return None
        if mime not in IMAGE_TYPES:
            return None
        box = DISPLAY_SIZE if kind == "display" else THUMB_SIZE
        try:
            with _DECODE_SLOTS, Image.open(original, formats=_PILLOW_FORMATS[mime]) as img:
                self._check_pixels(img.size, self._pixel_limit())
                if mime == "image/jpeg":
                    img.draft(None, _draft_box(img.size, box))
                img.load()
                image = _fit(_clean_copy(img, mime), box, in_place=True)
                encoded = _encode(image, mime, optimize=kind == "display")
        except AttachmentError:
            return None
        except MemoryError:
            raise
        except Exception:  # the original was checked when stored; a damaged disk only loses the copy
            return None
        path = self.root / self._relative(kind, sha, _SUFFIX[mime])
        _write_atomic(path, encoded, durable=False)
        return path

    # ------------------------------------------------------------------ ingest

    def ingest(self, data: bytes, *, declared_type: str | None, expected_sha256: str | None = None,
               allowed: frozenset[str] = IMAGE_TYPES, anonymise: bool = False,
               max_pixels: int | None = None) -> Ingested:
        """Verify ``data`` and store it (once). Raises :class:`AttachmentError` on refusal.

        ``anonymise``: store a re-encoded copy (at most PUBLIC_SIZE px, no metadata) under its own hash
        instead of the bytes as sent; capture time and GPS are neither kept nor returned.
        ``max_pixels``: a lower pixel limit for this upload (public forms)."""
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
            raise AttachmentError("unsupported_type", **_accepted(allowed))
        declared = _normalise_mime(declared_type)
        if declared is not None and declared != mime:
            raise AttachmentError("type_mismatch", detected=_TYPE_LABELS[mime], declared=declared)

        if mime == "application/pdf":
            self._check_pdf(data)
            created = not _reuse(self._original(sha))
            if created:
                _write_atomic(self._original(sha), data)
            return Ingested(sha256=sha, size=len(data), mime=mime, created=created, width=None, height=None,
                            captured_at=None, gps=None, display_path=None, thumb_path=None)

        limit = self._pixel_limit(max_pixels)
        if mime == "image/png":
            limit = min(limit, PNG_MAX_PIXELS)
        if anonymise:
            return self._ingest_anonymised(data, mime, allowed, limit)
        suffix = _SUFFIX[mime]
        display_rel = self._relative("display", sha, suffix)
        thumb_rel = self._relative("thumbs", sha, suffix)
        original = self._original(sha)
        if _reuse(original):
            # Already stored (a resend): these bytes were checked then; read the header only.
            header = self._decode_image(data, mime, allowed, limit, pixels=False)
            return Ingested(sha256=sha, size=len(data), mime=mime, created=False, width=header.width,
                            height=header.height, captured_at=header.captured_at, gps=header.gps,
                            display_path=display_rel, thumb_path=thumb_rel)

        # A JPEG's structure is checked here, not decoded; its thumbnail and display copy are made on first view.
        decoded = self._decode_image(data, mime, allowed, limit, pixels=True, thumb=mime != "image/jpeg")
        _write_atomic(original, data)  # the one durable write
        # Derived copies are caches: best effort, rebuilt from the original when missing.
        with suppress(OSError):
            if decoded.thumb is not None:
                _write_atomic(self.root / thumb_rel, decoded.thumb, durable=False)
            if decoded.display is not None:
                _write_atomic(self.root / display_rel, decoded.display, durable=False)
        return Ingested(sha256=sha, size=len(data), mime=mime, created=True, width=decoded.width,
                        height=decoded.height, captured_at=decoded.captured_at, gps=decoded.gps,
                        display_path=display_rel, thumb_path=thumb_rel)

    def _ingest_anonymised(self, data: bytes, mime: str, allowed: frozenset[str], limit: int) -> Ingested:
        decoded = self._decode_image(data, mime, allowed, limit, pixels=True, keep=PUBLIC_SIZE)
        clean = decoded.clean
        assert clean is not None
        sha = hashlib.sha256(clean).hexdigest()
        suffix = _SUFFIX[mime]
        display_rel = self._relative("display", sha, suffix)
        thumb_rel = self._relative("thumbs", sha, suffix)
        original = self._original(sha)
        created = not _reuse(original)
        if created:
            _write_atomic(original, clean)
            with suppress(OSError):
                if decoded.thumb is not None:
                    _write_atomic(self.root / thumb_rel, decoded.thumb, durable=False)
        return Ingested(sha256=sha, size=len(clean), mime=mime, created=created, width=decoded.width,
                        height=decoded.height, captured_at=None, gps=None,
                        display_path=display_rel, thumb_path=thumb_rel, stored=clean)

    def _check_pdf(self, data: bytes) -> None:
        if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
            raise AttachmentError("corrupt")
        # Scanned forms and reports need no active content: refuse script, launch actions and embedded
        # files, also when a name is spelled with #xx escapes.  (Inside compressed object streams they are
        # not seen; originals are therefore only ever served as downloads, never rendered inline.)
        names = {_PDF_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), n) for n in _PDF_NAME.findall(data)}
        if names & _PDF_ACTIVE:
            raise AttachmentError("pdf_active")

    def _pixel_limit(self, override: int | None = None) -> int:
        # Never above Pillow's own threshold, so that its DecompressionBombWarning cannot fire for an
        # image this store accepts (read per call; the global is not changed).
        limit = self.max_pixels if override is None else min(self.max_pixels, override)
        pillow_limit = Image.MAX_IMAGE_PIXELS
        return limit if pillow_limit is None else min(limit, int(pillow_limit))

    def _check_pixels(self, size: tuple[int, int] | None, limit: int) -> None:
        if size is not None and size[0] * size[1] > limit:
            raise AttachmentError("too_many_pixels", limit=_megapixels(limit))

    def _decode_image(self, data: bytes, mime: str, allowed: frozenset[str], limit: int, *, pixels: bool,
                      keep: int | None = None, thumb: bool = True) -> _Decoded:
        """Header checks and metadata; with ``pixels``, one decode (JPEG at reduced scale) that proves the
        file decodes and gives the thumbnail (PNG: and the display copy; ``keep``: a clean re-encoded
        copy at most ``keep`` px, for anonymised uploads).  ``thumb=False`` (a JPEG): no decode, only the
        walk over its segments and scans (:func:`_jpeg_check_structure`); the thumbnail is made on first
        view like the display copy."""
        if ImageFile.LOAD_TRUNCATED_IMAGES:
            # Something in the process switched Pillow into accepting truncated files; refuse to run
            # rather than store half images.
            raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must be False for the attachment store")
        if mime == "image/png":
            size = _png_size_and_check_trailer(data, allowed)
        else:
            size = _jpeg_size(data)  # best effort: None leaves the check to the size Pillow reads
        self._check_pixels(size, limit)

        formats = _PILLOW_FORMATS[mime]
        out = _Decoded(mime=mime)
        try:
            if mime == "image/png":
                # Structure and checksums, without decoding (APNG refused).
                with Image.open(io.BytesIO(data), formats=formats) as probe:
                    if _FORMAT_MIME.get(probe.format or "") != mime:
                        raise AttachmentError("unsupported_type", **_accepted(allowed))
                    self._check_pixels(probe.size, limit)
                    if getattr(probe, "n_frames", 1) != 1:
                        raise AttachmentError("unsupported_type", **_accepted(allowed))
                    probe.verify()
            with Image.open(io.BytesIO(data), formats=formats) as img:
                if _FORMAT_MIME.get(img.format or "") != mime:
                    raise AttachmentError("unsupported_type", **_accepted(allowed))
                self._check_pixels(img.size, limit)
                exif = _read_exif(img)
                out.captured_at = _capture_time(exif) if exif is not None else None
                out.gps = _gps(exif) if exif is not None else None
                turned = exif is not None and exif.get(_EXIF_ORIENTATION) in (5, 6, 7, 8)
                out.width, out.height = (img.height, img.width) if turned else img.size
                if pixels and mime == "image/jpeg" and keep is None and not thumb:
                    _jpeg_check_structure(data)   # no decode: the copies are made on first view
                    return out
                if pixels:
                    with _DECODE_SLOTS:
                        if mime == "image/jpeg":  # DCT scaling: 1/2..1/8 of each side
                            img.draft(None, _draft_box(img.size, keep or THUMB_SIZE))
                        img.load()  # a truncated or damaged file fails here
                        clean = _clean_copy(img, mime)
                        if keep is not None:
                            clean = _fit(clean, keep, in_place=True)  # the decoded pixels are ours
                            out.clean = _encode(clean, mime)
                            out.width, out.height = clean.size
                        elif mime == "image/png":
                            # reduced in place (no second full-size copy), the thumbnail from that
                            clean = _fit(clean, DISPLAY_SIZE, in_place=True)
                            out.display = _encode(clean, mime)
                        out.thumb = _encode(_fit(clean, THUMB_SIZE), mime)
        except AttachmentError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise AttachmentError("too_many_pixels", limit=_megapixels(limit)) from None
        except MemoryError:
            raise
        except Exception:  # Pillow signals damaged input with many exception types
            raise AttachmentError("corrupt") from None
        return out


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


def _accepted(allowed: frozenset[str]) -> dict[str, str]:
    """The accepted types for the unsupported_type messages: listed with 、 in Chinese, commas in English."""
    names = sorted(_TYPE_LABELS.get(m, m) for m in allowed)
    return {"allowed": "、".join(names), "allowed_en": ", ".join(names)}


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.3g}"


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
        raise AttachmentError("unsupported_type", **_accepted(allowed))
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


def _jpeg_check_structure(data: bytes) -> None:
    """Refuse (``corrupt``) a JPEG whose structure does not hold, without decoding it: exactly one frame of a
    kind libjpeg decodes, 8 bits, 1, 3 or 4 components, non-zero size; every segment inside the file; scans
    only after the frame; the end-of-image marker after at least one scan (bytes after it are kept as sent).
    A file cut short anywhere fails here.  The entropy-coded data is only searched for the marker that ends it
    (a C-speed scan), which costs a fraction of decoding it."""
    def corrupt() -> AttachmentError:
        return AttachmentError("corrupt")

    pos, end = 2, len(data)
    frame = scanned = False
    while True:
        if pos >= end or data[pos] != 0xFF:
            raise corrupt()
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            raise corrupt()
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # end of image
            if not scanned:
                raise corrupt()
            return
        if marker == 0xD8:  # a second start of image
            raise corrupt()
        if marker in _JPEG_STANDALONE:
            continue
        if pos + 2 > end:
            raise corrupt()
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > end:
            raise corrupt()
        if marker in _JPEG_SOF:
            components = data[pos + 7] if length >= 8 else 0
            if (frame or marker not in _JPEG_DECODABLE_SOF or length != 8 + 3 * components
                    or components not in (1, 3, 4) or data[pos + 2] != 8
                    or not int.from_bytes(data[pos + 3:pos + 5], "big")
                    or not int.from_bytes(data[pos + 5:pos + 7], "big")):
                raise corrupt()
            frame = True
        elif marker == 0xDA:  # start of scan: its header, then entropy-coded data up to the next marker
            components = data[pos + 2] if length >= 3 else 0
            if not frame or not 1 <= components <= 4 or length != 6 + 2 * components:
                raise corrupt()
            found = _JPEG_SCAN_END.search(data, pos + length)
            if found is None:
                raise corrupt()
            pos = found.start()
            scanned = True
            continue
        pos += length


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
    """Upright pixels in a mode the output format saves, with no metadata at all attached (copies only
    when a rotation or a mode change needs one)."""
    try:
        ImageOps.exif_transpose(img, in_place=True)  # rotates the decoded pixels without another copy
    except Exception:  # unreadable orientation: keep the pixels as stored
        pass
    upright = img
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


def _draft_box(size: tuple[int, int], box: int) -> tuple[int, int]:
    """The smallest size with the image's proportions that still covers ``box`` on the long side (what
    ``draft`` may scale down to: asking for a square would keep a landscape photo twice too large)."""
    width, height = size
    longest = max(width, height, 1)
    if longest <= box:
        return size
    return max(1, -(-width * box // longest)), max(1, -(-height * box // longest))


def _fit(image: Image.Image, box: int, *, in_place: bool = False) -> Image.Image:
    """At most ``box`` px on the long side (reducing first; LANCZOS for the display copy, bilinear for the
    thumbnail, where the difference does not show and the time does)."""
    if max(image.size) <= box:
        return image
    if image.mode == "1":
        smaller = image.convert("L")
    else:  # ``in_place``: the caller no longer needs the full size (a full-size copy is the largest cost)
        smaller = image if in_place else image.copy()
    method = Image.Resampling.BILINEAR if box <= THUMB_SIZE else Image.Resampling.LANCZOS
    smaller.thumbnail((box, box), method, reducing_gap=2.0)
    return smaller


def _encode(image: Image.Image, mime: str, *, optimize: bool = False) -> bytes:
    buffer = io.BytesIO()
    if mime == "image/jpeg":
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=optimize)
    else:
        image.save(buffer, format="PNG", optimize=optimize, compress_level=6)
    return buffer.getvalue()


# ---------------------------------------------------------------------- files


def _write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write via a temporary file in the same directory, fsync, rename; no partial file is ever visible.
    ``durable=False`` (derived copies, rebuilt when lost) skips both fsyncs."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    except FileNotFoundError:   # the first file of its shard: the directory is made once, not per write
        _make_directories(path.parent, durable=durable)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    if durable:
        _fsync_directory(path.parent)


def _reuse(path: Path) -> bool:
    """Whether an original is already stored; when it is, its time is renewed (a sweep of unnamed files spares
    what was sent again lately). False when it is not there, or was swept away at this moment: then it is
    written again."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def _make_directories(directory: Path, *, durable: bool) -> None:
    """Make ``directory`` and its missing ancestors; ``durable``: each new one's entry is synced in its parent,
    so that a crash cannot lose the directory (and with it a file the answer said was stored)."""
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for made in reversed(missing):
        with suppress(FileExistsError):   # another request made it at this moment: synced below all the same
            made.mkdir()
        if durable:
            _fsync_directory(made.parent)


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
