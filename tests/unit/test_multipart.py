"""The fast multipart reader (``server.multipart``) gives what werkzeug's parser gives, for every body: the strict
form it splits itself, and everything else, which it hands to werkzeug."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from server.multipart import FAST_LIMIT, HEADERS_LIMIT, FastFormDataParser, split

B = "Xb0und4ry"


def body(*parts: tuple[str, bytes], boundary: str = B, eol: bytes = b"\r\n", preamble: bytes = b"",
         epilogue: bytes = b"\r\n") -> bytes:
    """A multipart body: each part is (header lines, content)."""
    out = [preamble]
    for headers, content in parts:
        out += [b"--" + boundary.encode() + eol, headers.encode("utf-8").replace(b"\n", eol), eol, eol, content, eol]
    out += [b"--" + boundary.encode() + b"--", epilogue]
    return b"".join(out)


def field(name: str, value: bytes, extra: str = "") -> tuple[str, bytes]:
    return f'Content-Disposition: form-data; name="{name}"{extra}', value


def file(name: str, data: bytes, kind: str = "image/jpeg", filename: str | None = None) -> tuple[str, bytes]:
    return f'Content-Disposition: form-data; name="{name}"; filename="{filename or name}"\nContent-Type: {kind}', data


def outcome(parser_class, raw: bytes, boundary: str = B, *, max_parts: int | None = 1000,
            max_memory: int | None = 500_000, length: int | None = -1):
    """What the parser makes of ``raw``: the fields and files, or the exception it raised."""
    # Files in memory: werkzeug's default spools them to temporary files, left open when it refuses a body.
    parser = parser_class(max_form_memory_size=max_memory, max_form_parts=max_parts,
                          stream_factory=lambda **_: io.BytesIO())
    try:
        _, form, files = parser.parse(io.BytesIO(raw), "multipart/form-data", len(raw) if length == -1 else length,
                                      {"boundary": boundary})
    except RequestEntityTooLarge:
        return "413"
    read = []
    for k, f in files.items(multi=True):
        read.append((k, f.filename, f.mimetype, f.read(), list(f.headers.items())))
        f.close()
    return list(form.items(multi=True)), read


def same(raw: bytes, boundary: str = B, **limits):
    fast, slow = outcome(FastFormDataParser, raw, boundary, **limits), outcome(FormDataParser, raw, boundary, **limits)
    assert fast == slow
    return fast


PHOTO = bytes(range(256)) * 40 + b"\r\n--Xb0und" + b"\r\n-" + b"\r\n\r\n"   # a near-boundary inside the data

STRICT = {
    "a visit, its photos and an attestation": body(file("envelope", b'{"visit_id": "v"}', "application/json"),
                                                    file("a" * 64, PHOTO), file("b" * 64, PHOTO[::-1]),
                                                    file("attestation", b"{}", "application/json")),
    "a console form with a file": body(field("csrf_token", b"tok"), field("note", "说明".encode()),
                                       file("scan", b"%PDF-1.4 ...", "application/pdf", "会议.pdf")),
    "no closing line break": body(field("a", b"1"), epilogue=b""),
    "an empty field and an empty file": body(field("a", b""), file("f", b"")),
    "a field in latin-1": body(('Content-Disposition: form-data; name="a"\nContent-Type: text/plain; charset=iso-8859-1',
                                "é".encode("latin-1"))),
    "a filename in RFC 2231 form": body(('Content-Disposition: form-data; name="f"; '
                                         "filename*=UTF-8''%E4%BC%9A.jpg", b"x")),
    "a part without a name": body(("Content-Disposition: form-data", b"v")),
    "content that ends with CR": body(field("a", b"x\r"), field("b", b"\r\n")),
    "an empty line first (werkzeug's test client)": body(field("a", b"1"), preamble=b"\r\n"),
}

LOOSE = {
    "LF line breaks": body(field("a", b"1"), file("f", b"data"), eol=b"\n"),
    "a preamble": body(field("a", b"1"), preamble=b"this is a preamble\r\n"),
    "two empty lines first": body(field("a", b"1"), preamble=b"\r\n\r\n"),
    "an epilogue": body(field("a", b"1"), epilogue=b"\r\ntrailing words"),
    "a header continued on the next line": body(('Content-Disposition: form-data; name="a"\nX-Note: one\n two: three',
                                                 b"1")),
    "no Content-Disposition": body(("Content-Type: text/plain", b"1")),
    "whitespace after the boundary": body(field("a", b"1")).replace(b"--" + B.encode() + b"\r\n", b"--" + B.encode() + b"  \r\n"),
    "the boundary inside a part after a bare LF": body(field("a", b"x\n--" + B.encode() + b"\r\nmore")),
    "the boundary inside a part, not at a line start": body(field("a", b"x--" + B.encode() + b"y")),
    "not closed": body(field("a", b"1"))[:-len(B) - 6],
    "no parts": b"--" + B.encode() + b"--\r\n",
    "not multipart at all": b"hello",
    "a header that is not UTF-8": body(('Content-Disposition: form-data; name="a"', b"1")).replace(b'"a"', b'"\xff"'),
    "a header line without a colon": body(('Content-Disposition: form-data; name="a"\nbroken', b"1")),
}


@pytest.mark.parametrize("name", STRICT)
def test_a_strict_body_is_split_here_and_matches_werkzeug(name):
    raw = STRICT[name]
    assert split(raw, B.encode()) is not None, name     # the fast path is the one taken
    result = same(raw)
    assert result != "413" and (result[0] or result[1])


@pytest.mark.parametrize("name", LOOSE)
def test_any_other_body_goes_to_werkzeug_and_means_what_it_means_there(name):
    raw = LOOSE[name]
    assert split(raw, B.encode()) is None, name
    same(raw)


def test_the_bundle_reads_as_werkzeug_reads_it():
    form, files = same(STRICT["a visit, its photos and an attestation"])
    assert form == [] and [f[0] for f in files] == ["envelope", "a" * 64, "b" * 64, "attestation"]
    assert files[1][3] == PHOTO and files[1][2] == "image/jpeg"


def test_the_limits_are_werkzeugs():
    many = body(*(field(f"f{i}", b"1") for i in range(6)))
    assert split(many, B.encode(), max_parts=6) is not None
    assert same(many, max_parts=5) == "413"
    assert same(many, max_parts=6) != "413"
    assert same(body(field("note", b"x" * 200_000)), max_memory=150_000) == "413"   # text past the form limit
    assert same(body(file("f", b"y" * 400_000)), max_memory=150_000) != "413"      # a file is not held to it
    small = body(field("note", b"x" * 2000))
    assert same(small, max_memory=1000) == "413"          # a limit under one read chunk: werkzeug reads the body
    long_headers = body((f'Content-Disposition: form-data; name="a"\nX-Pad: {"p" * HEADERS_LIMIT}', b"1"))
    assert split(long_headers, B.encode()) is None
    same(long_headers)


def test_an_unknown_or_larger_length_streams_through_werkzeug(monkeypatch):
    raw = STRICT["a console form with a file"]
    calls = []
    monkeypatch.setattr("server.multipart.split", lambda *a, **k: calls.append(1))
    same(raw, length=None)
    same(raw, length=FAST_LIMIT + 1) if len(raw) <= FAST_LIMIT else None
    assert calls == []


def test_a_wrong_boundary_is_werkzeugs_answer():
    same(STRICT["a console form with a file"], boundary="other")
    same(STRICT["a console form with a file"], boundary="")


_bytes = st.binary(max_size=300) | st.sampled_from([b"\r\n", b"\r", b"\n", b"--", b"--" + B.encode(), b"\r\n--" + B.encode()])
_content = st.lists(_bytes, max_size=6).map(b"".join)
_name = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\\r\n\x00'), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.tuples(_name, _content, st.booleans()), min_size=1, max_size=5),
       eol=st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n"]),
       cut=st.none() | st.integers(min_value=0, max_value=2000),
       flip=st.none() | st.tuples(st.integers(min_value=0, max_value=2000), st.sampled_from(b"\r\n-\x00a")))
def test_any_body_gives_the_same_fields_and_files_as_werkzeug(parts, eol, cut, flip):
    raw = body(*((file(n, c) if is_file else field(n, c)) for n, c, is_file in parts), eol=eol)
    if flip is not None and flip[0] < len(raw):
        raw = raw[:flip[0]] + bytes([flip[1]]) + raw[flip[0] + 1:]
    if cut is not None:
        raw = raw[:cut]
    same(raw, max_parts=4)
