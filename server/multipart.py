"""A faster reader for the ordinary ``multipart/form-data`` request, with werkzeug's parser behind it for
everything else.

A phone's visit travels as one multipart request (the envelope, its photos, the sender's attestation).
werkzeug parses multipart as a stream: it compiles two regular expressions for each request's boundary and
searches 64 KB chunks with them, about 1.8 ms for a visit with three photos on the benchmark machine — an
eighth of the whole request.  Browsers and the phone app send a strict form of the format (RFC 7578: CRLF
line breaks, no preamble but an optional empty line, no continuation lines), which ``bytes.find`` splits in a
few microseconds.

So a request whose body is in that strict form, within the size limits, is split here; any other body
(a preamble, a bare LF, a header continued on the next line, a boundary inside a part, an epilogue, a body
larger than :data:`FAST_LIMIT`, a part over the form limits) is handed unchanged to werkzeug's parser, which
decides what it means and which errors it raises.  Both paths give the same ``form`` and ``files``: the
table and the differential tests in ``tests/unit/test_multipart.py`` hold them to it.
"""

from __future__ import annotations

import io
import typing as t

from flask import Request
from werkzeug.datastructures import FileStorage, Headers
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.http import parse_options_header

FAST_LIMIT = 8 * 2**20   # bodies larger than this stream through werkzeug (spooled to disk, not held in memory)
HEADERS_LIMIT = 8 * 2**10   # a part's header block; a longer one goes to werkzeug
# werkzeug also refuses (413) a part whose buffered bytes pass MAX_FORM_MEMORY_SIZE while it reads 64 KB chunks;
# with headers under HEADERS_LIMIT that cannot happen above this setting, so below it werkzeug reads every body.
MEMORY_FLOOR = 128 * 2**10

_CRLF = b"\r\n"
_HEADERS_END = b"\r\n\r\n"
_CHARSETS = MultiPartParser().get_part_charset   # werkzeug's own choice of a text part's charset


def split(body: bytes, boundary: bytes, *, max_parts: int | None = None,
          max_field_bytes: int | None = None) -> list[tuple[Headers, bytes]] | None:
    """The parts of a strictly formed multipart body as (headers, content), or None when the body is not in
    the strict form this function reads (werkzeug's parser then reads it)."""
    delimiter = b"--" + boundary
    start = 2 if body.startswith(_CRLF) else 0   # werkzeug's own test client begins with a line break
    if not boundary or not body.startswith(delimiter + _CRLF, start):
        return None
    separator = _CRLF + delimiter
    parts: list[tuple[Headers, bytes]] = []
    position = start + len(delimiter) + 2
    while True:
        headers_end = body.find(_HEADERS_END, position, position + HEADERS_LIMIT)
        if headers_end < 0:
            return None
        headers = _headers(body[position:headers_end])
        if headers is None:
            return None
        content_start = headers_end + 4
        end = body.find(separator, content_start)
        if end < 0:
            return None
        content = body[content_start:end]
        if max_field_bytes is not None and len(content) > max_field_bytes and "filename" not in _disposition(headers):
            return None
        parts.append((headers, content))
        if max_parts is not None and len(parts) > max_parts:
            return None
        after = end + len(separator)
        tail = body[after:after + 2]
        if tail == _CRLF:
            position = after + 2
            continue
        if tail == b"--" and body[after + 2:] in (b"", _CRLF):
            break
        return None
    # A boundary werkzeug would see that the split above did not (after a bare CR or LF, inside a part).
    if body.count(delimiter) != len(parts) + 1:
        return None
    return parts


def _headers(raw: bytes) -> Headers | None:
    """A part's header lines, each ``Name: value`` ended by CRLF; None on anything looser (continuations, a bare
    CR or LF, a line without a colon, bytes that are not UTF-8) or without a Content-Disposition."""
    pairs = []
    for line in raw.split(_CRLF):
        if not line or line[:1] in (b" ", b"\t") or b"\r" in line or b"\n" in line or b":" not in line:
            return None
        try:
            name, _, value = line.decode().partition(":")
        except UnicodeDecodeError:
            return None
        pairs.append((name.strip(" \t"), value.strip(" \t")))
    headers = Headers(pairs)
    if "content-disposition" not in headers:
        return None
    return headers


def _disposition(headers: Headers) -> dict[str, str]:
    return parse_options_header(headers["content-disposition"])[1]


class FastFormDataParser(FormDataParser):
    """werkzeug's form parser with :func:`split` tried first on multipart bodies."""

    def _parse_multipart(self, stream: t.IO[bytes], mimetype: str, content_length: int | None,
                         options: dict[str, str]):
        boundary = options.get("boundary", "").encode("ascii")
        memory = self.max_form_memory_size
        if not boundary or content_length is None or content_length > FAST_LIMIT or \
                (memory is not None and memory < MEMORY_FLOOR):
            return super()._parse_multipart(stream, mimetype, content_length, options)
        body = stream.read()
        parts = split(body, boundary, max_parts=self.max_form_parts, max_field_bytes=self.max_form_memory_size)
        if parts is None:
            return super()._parse_multipart(io.BytesIO(body), mimetype, len(body), options)
        fields, files = [], []
        for headers, content in parts:
            extra = _disposition(headers)
            name = t.cast(str, extra.get("name"))
            filename = extra.get("filename")
            if filename is None:
                fields.append((name, content.decode(_CHARSETS(headers), "replace")))
            else:
                files.append((name, FileStorage(io.BytesIO(content), filename, name, headers=headers)))
        return stream, self.cls(fields), self.cls(files)


class FastRequest(Request):
    """The application's request: :class:`FastFormDataParser` for forms."""

    form_data_parser_class = FastFormDataParser


__all__ = ["FAST_LIMIT", "HEADERS_LIMIT", "MEMORY_FLOOR", "FastFormDataParser", "FastRequest", "split"]
