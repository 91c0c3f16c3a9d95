"""sync.protocol: canonical JSON, content hashes, the envelope's shape, idempotency decisions."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.errors import EnvelopeError, Problem
from sync.protocol import (
    OUTCOMES,
    PROTOCOL_VERSION,
    SIGNED_KEYS,
    TRANSPORT_KEYS,
    Attachment,
    attestation_message,
    canonical_form,
    canonical_json,
    classify_submission,
    content_hash,
    parse_envelope,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sync_envelopes.json"
VECTORS = json.loads(FIXTURE.read_text(encoding="utf-8"))
ENVELOPES = {e["name"]: e for e in VECTORS["envelopes"]}
VALID = ENVELOPES["valid_household_survey"]["envelope"]

H1 = "a" * 64
H2 = "b" * 64
OLD = "11111111-2222-4333-8444-555555555555"


def envelope(**changes):
    env = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is ...:
            del env[key]
        else:
            env[key] = value
    return env


def problems_of(raw) -> set[tuple[str, str]]:
    with pytest.raises(EnvelopeError) as info:
        parse_envelope(raw)
    assert all(isinstance(p, Problem) and p.message and p.message_en for p in info.value.problems)
    return {(p.path, p.code) for p in info.value.problems}


# --- canonical JSON: literal vectors -----------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, b"null"),
    (True, b"true"),
    (False, b"false"),
    (0, b"0"),
    (-17, b"-17"),
    (2**53 - 1, b"9007199254740991"),
    ("", b'""'),
    ([], b"[]"),
    ({}, b"{}"),
    ({"b": 1, "a": 2}, b'{"a":2,"b":1}'),
    ({"a": [3, 1, 2]}, b'{"a":[3,1,2]}'),  # array order is kept
    ({"z": {"b": None, "a": True}}, b'{"z":{"a":true,"b":null}}'),
    ("王", "\"王\"".encode()),
    ("a\"b\\c", b'"a\\"b\\\\c"'),
    ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"'),
    ("\x00\x01\x1f", b'"\\u0000\\u0001\\u001f"'),  # lowercase hex
    ("\x7f\u2028\u2029", "\"\x7f\u2028\u2029\"".encode()),  # written as themselves
    ("/", b'"/"'),  # no escaped solidus
    ("e\u0301", "\"\u00e9\"".encode()),  # NFC
    ({"e\u0301": 1}, "{\"\u00e9\":1}".encode()),  # keys too
    ({"\uff21": 1, "\U0001f600": 2}, "{\"\U0001f600\":2,\"\uff21\":1}".encode()),  # UTF-16 order
    ({"9": 1, "10": 2, "B": 3, "a": 4}, b'{"10":2,"9":1,"B":3,"a":4}'),
])
def test_canonical_json_literal(value, expected):
    assert canonical_json(value) == expected


@pytest.mark.parametrize("value, error", [
    (1.0, TypeError),
    (0.5, TypeError),
    (math.nan, TypeError),
    (math.inf, TypeError),
    ({"amount": 12.5}, TypeError),
    ([1, [2, [3.0]]], TypeError),
    ((1, 2), TypeError),
    ({1, 2}, TypeError),
    (b"bytes", TypeError),
    (Decimal("1.00"), TypeError),
    (date(2026, 1, 1), TypeError),
    ({1: "int key"}, TypeError),
    ({None: "null key"}, TypeError),
    (2**53, ValueError),
    (-(2**53), ValueError),
    ("\ud800", ValueError),  # a lone surrogate
    ({"x": ["ok", "\udfff"]}, ValueError),
    ({"\u00e9": 1, "e\u0301": 2}, ValueError),  # keys equal after NFC
])
def test_canonical_json_rejects(value, error):
    with pytest.raises(error):
        canonical_json(value)


def test_canonical_form_is_idempotent_and_does_not_touch_its_input():
    value = {"b": ["e\u0301"], "a": {"d": 1, "c": 2}}
    before = copy.deepcopy(value)
    once = canonical_form(value)
    assert value == before
    assert canonical_form(once) == once
    assert list(once) == ["a", "b"] and list(once["a"]) == ["c", "d"] and once["b"] == ["\u00e9"]


@pytest.mark.parametrize("vector", VECTORS["canonical_vectors"], ids=lambda v: v["why"][:40])
def test_shared_canonical_vectors(vector):
    text = canonical_json(vector["input"])
    assert text == vector["canonical"].encode("utf-8")
    assert hashlib.sha256(text).hexdigest() == vector["sha256"]


# --- canonical JSON: properties ----------------------------------------------------------------

SAFE_INTS = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
KEYS = st.text(max_size=8).map(lambda s: unicodedata.normalize("NFC", s))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | SAFE_INTS | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)
JSON_OBJECTS = st.dictionaries(KEYS, JSON_VALUES, max_size=6)


def reorder(value, rnd):
    """The same JSON value with every object's keys inserted in a random order."""
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {k: reorder(value[k], rnd) for k in keys}
    if isinstance(value, list):
        return [reorder(v, rnd) for v in value]
    return value


def nfd(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFD", value)
    if isinstance(value, dict):
        return {nfd(k): nfd(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfd(v) for v in value]
    return value


@settings(deadline=None, max_examples=200)
@given(value=JSON_OBJECTS, rnd=st.randoms(use_true_random=False))
def test_canonical_json_ignores_key_order(value, rnd):
    assert canonical_json(reorder(value, rnd)) == canonical_json(value)
    assert canonical_json(dict(reversed(list(value.items())))) == canonical_json(value)


@settings(deadline=None, max_examples=200)
@given(value=JSON_VALUES)
def test_canonical_json_parses_back_to_the_normalised_value(value):
    assert json.loads(canonical_json(value).decode("utf-8")) == canonical_form(value)


BMP_KEYS = st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=6).map(
    lambda s: unicodedata.normalize("NFC", s)).filter(lambda s: all(ord(c) <= 0xFFFF for c in s))
BMP_VALUES = st.recursive(
    st.none() | st.booleans() | SAFE_INTS | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(BMP_KEYS, children, max_size=4),
    max_leaves=20,
)


@settings(deadline=None, max_examples=200)
@given(value=st.dictionaries(BMP_KEYS, BMP_VALUES, max_size=6))
def test_canonical_json_matches_sorted_json_dumps_when_keys_are_in_the_bmp(value):
    # below U+10000, UTF-16 code unit order is code point order, which is what sort_keys uses
    expected = json.dumps(canonical_form(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected.encode("utf-8")


def utf16_units(text):
    units = []
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            units += [0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)]
        else:
            units.append(cp)
    return units


@settings(deadline=None, max_examples=200)
@given(keys=st.lists(KEYS, max_size=8, unique=True))
def test_keys_come_out_in_utf16_code_unit_order(keys):
    out = json.loads(canonical_json(dict.fromkeys(keys, 0)).decode("utf-8"))
    assert list(out) == sorted(keys, key=utf16_units)


@settings(deadline=None, max_examples=200)
@given(text=st.text(max_size=20))
def test_nfc_and_nfd_spellings_hash_the_same(text):
    composed, decomposed = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    env_a = envelope(answers={"findings": {"summary": composed}, composed: [composed]})
    env_b = envelope(answers={"findings": {"summary": decomposed}, decomposed: [decomposed]})
    assert content_hash(env_a) == content_hash(env_b)


@settings(deadline=None, max_examples=100)
@given(value=JSON_OBJECTS)
def test_nfd_copy_of_any_object_hashes_the_same(value):
    assert content_hash(envelope(answers=nfd(value))) == content_hash(envelope(answers=value))


def leaves(value, path=()):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path, value


def changed(value):
    """A JSON value that differs from ``value`` even after NFC."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value - 1 if value > 0 else value + 1
    if isinstance(value, str):
        return value + "x"
    return None  # an empty list or object


@settings(deadline=None, max_examples=200)
@given(answers=JSON_OBJECTS.filter(bool), data=st.data())
def test_content_hash_changes_when_any_answer_changes(answers, data):
    path, old = data.draw(st.sampled_from(list(leaves(answers))))
    modified = copy.deepcopy(answers)
    target = modified
    for step in path[:-1]:
        target = target[step]
    if path:
        target[path[-1]] = changed(old)
    else:
        modified = {"added": True}
    assert content_hash(envelope(answers=modified)) != content_hash(envelope(answers=answers))


@pytest.mark.parametrize("before, after", [
    (True, 1), (False, 0), (0, "0"), (None, "null"), ("1200", "1200.00"), ([], {}), (["a", "b"], ["b", "a"]),
])
def test_values_json_tells_apart_hash_apart(before, after):
    assert content_hash(envelope(answers={"x": before})) != content_hash(envelope(answers={"x": after}))


# --- content hash -------------------------------------------------------------------------------

def test_signed_keys_are_exactly_the_envelope_keys():
    assert set(SIGNED_KEYS) == set(VALID)
    assert set(SIGNED_KEYS).isdisjoint(TRANSPORT_KEYS)


@pytest.mark.parametrize("name", sorted(ENVELOPES))
def test_fixture_hashes(name):
    entry = ENVELOPES[name]
    if entry["content_hash"] is None:
        with pytest.raises((TypeError, ValueError)):
            content_hash(entry["envelope"])
    else:
        assert content_hash(entry["envelope"]) == entry["content_hash"]


def test_content_hash_is_sha256_of_the_canonical_signed_part():
    signed = {k: v for k, v in VALID.items() if k in SIGNED_KEYS}
    assert content_hash(VALID) == hashlib.sha256(canonical_json(signed)).hexdigest()


def test_content_hash_leaves_out_transport_and_unknown_keys():
    plain = content_hash(VALID)
    assert content_hash(envelope(received_at="2026-11-21T08:00:00+08:00")) == plain
    assert content_hash(envelope(device_clock_skew_ms=5)) == plain


@pytest.mark.parametrize("key", SIGNED_KEYS)
def test_every_signed_key_counts(key):
    assert content_hash(envelope(**{key: ...})) != content_hash(VALID)


def test_content_hash_needs_a_mapping():
    with pytest.raises(TypeError):
        content_hash([("protocol", 1)])


# --- parse_envelope -----------------------------------------------------------------------------

def test_valid_envelope_parses():
    env = parse_envelope(VALID)
    assert env.protocol == PROTOCOL_VERSION
    assert env.visit_id == "3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012"
    assert (env.assignment_id, env.case_id, env.form_id, env.form_version, env.base_version) == \
        (41, 17, "household_survey", 1, 3)
    assert env.supersedes is None
    assert env.investigators == (5, 8)
    assert env.attachments[1] == Attachment(
        "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", 9120, "image/png", "signature",
        "applicant")
    assert env.started_at == datetime(2026, 11, 20, 1, 15, tzinfo=UTC)
    assert env.finished_at - env.started_at == timedelta(minutes=50, seconds=30, milliseconds=250)
    assert env.started_at.utcoffset() == timedelta(hours=8)
    assert env.gps["finish"] == {"refused": True}
    assert env.hash == ENVELOPES["valid_household_survey"]["content_hash"]
    assert env.raw == canonical_form(VALID)


def test_replay_parses_to_the_same_content():
    first, again = parse_envelope(VALID), parse_envelope(ENVELOPES["replay"]["envelope"])
    assert again.hash == first.hash
    assert again.answers == first.answers  # NFC-normalised
    assert again.raw["received_at"] == "2026-11-21T08:00:00+08:00"


def test_parse_does_not_change_its_input():
    raw = copy.deepcopy(ENVELOPES["replay"]["envelope"])
    parse_envelope(raw)
    assert raw == ENVELOPES["replay"]["envelope"]


GOOD_POSITION = {"lat": "34.7466", "lon": "113.6253", "accuracy": "12.5"}
ATT = VALID["attachments"][0]


@pytest.mark.parametrize("changes, expected", [
    ({"protocol": 2}, {("protocol", "unsupported_protocol")}),
    ({"protocol": "1"}, {("protocol", "wrong_type")}),
    ({"protocol": True}, {("protocol", "wrong_type")}),
    ({"protocol": ...}, {("protocol", "missing")}),
    ({"visit_id": "3F1C2B9E-7D4A-4C1E-9B2F-5A6D7E8F9012"}, {("visit_id", "invalid_uuid")}),
    ({"visit_id": "3f1c2b9e7d4a4c1e9b2f5a6d7e8f9012"}, {("visit_id", "invalid_uuid")}),
    ({"visit_id": "{3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012}"}, {("visit_id", "invalid_uuid")}),
    ({"visit_id": 7}, {("visit_id", "wrong_type")}),
    ({"assignment_id": 0}, {("assignment_id", "too_small")}),
    ({"case_id": -1}, {("case_id", "too_small")}),
    ({"case_id": "17"}, {("case_id", "wrong_type")}),
    ({"case_id": 17.0}, {("case_id", "not_canonical"), ("case_id", "wrong_type")}),
    ({"form_id": ""}, {("form_id", "invalid_value")}),
    ({"form_id": None}, {("form_id", "wrong_type")}),
    ({"form_version": 0}, {("form_version", "too_small")}),
    ({"base_version": 0}, {("base_version", "too_small")}),
    ({"base_version": False}, {("base_version", "wrong_type")}),
    ({"supersedes": "nope"}, {("supersedes", "invalid_uuid")}),
    ({"supersedes": VALID["visit_id"]}, {("supersedes", "supersedes_itself")}),
    ({"supersedes": ...}, {("supersedes", "missing")}),
    ({"answers": []}, {("answers", "wrong_type")}),
    ({"answers": {"income": {"wages": [1.5]}}}, {("answers/income/wages/0", "not_canonical")}),
    ({"answers": {"a/b": {"c~d": 2**60}}}, {("answers/a~1b/c~0d", "not_canonical")}),
    ({"attachments": {}}, {("attachments", "wrong_type")}),
    ({"attachments": [{**ATT, "sha256": ATT["sha256"].upper()}]}, {("attachments/0/sha256", "invalid_sha256")}),
    ({"attachments": [{**ATT, "sha256": ATT["sha256"][:-1]}]}, {("attachments/0/sha256", "invalid_sha256")}),
    ({"attachments": [{**ATT, "size": 0}]}, {("attachments/0/size", "too_small")}),
    ({"attachments": [{k: v for k, v in ATT.items() if k != "size"}]}, {("attachments/0/size", "missing")}),
    ({"attachments": [{k: v for k, v in ATT.items() if k != "type"}]}, {("attachments/0/type", "missing")}),
    ({"attachments": [{**ATT, "type": "image/gif"}]}, {("attachments/0/type", "invalid_choice")}),
    ({"attachments": [{**ATT, "role": "video"}]}, {("attachments/0/role", "invalid_choice")}),
    ({"attachments": [{**ATT, "slot": "House Outside"}]}, {("attachments/0/slot", "invalid_slot")}),
    ({"attachments": [{**ATT, "extra": 1}]}, {("attachments/0/extra", "unknown_key")}),
    ({"attachments": [{k: v for k, v in ATT.items() if k != "slot"}]}, {("attachments/0/slot", "missing")}),
    ({"attachments": [ATT, ATT]}, {("attachments/1", "duplicate")}),
    ({"attachments": ["x"]}, {("attachments/0", "wrong_type")}),
    ({"investigators": []}, {("investigators", "empty")}),
    ({"investigators": [5, 5]}, {("investigators/1", "duplicate")}),
    ({"investigators": [5, 0, "8"]}, {("investigators/1", "too_small"), ("investigators/2", "wrong_type")}),
    ({"gps": {"start": GOOD_POSITION}}, {("gps/finish", "missing")}),
    ({"gps": {"start": GOOD_POSITION, "finish": GOOD_POSITION, "middle": GOOD_POSITION}},
     {("gps/middle", "unknown_key")}),
    ({"gps": {"start": {**GOOD_POSITION, "lat": 34.7}, "finish": {"refused": True}}},
     {("gps/start/lat", "not_canonical"), ("gps/start/lat", "wrong_type")}),
    ({"gps": {"start": {**GOOD_POSITION, "lat": "-90.5"}, "finish": {"refused": True}}},
     {("gps/start/lat", "out_of_range")}),
    ({"gps": {"start": {**GOOD_POSITION, "lon": "180.0001"}, "finish": {"refused": True}}},
     {("gps/start/lon", "out_of_range")}),
    ({"gps": {"start": {**GOOD_POSITION, "accuracy": "-1"}, "finish": {"refused": True}}},
     {("gps/start/accuracy", "out_of_range")}),
    ({"gps": {"start": {**GOOD_POSITION, "lat": "1e2"}, "finish": {"refused": True}}},
     {("gps/start/lat", "invalid_decimal")}),
    ({"gps": {"start": {"lat": "1", "lon": "2"}, "finish": {"refused": True}}}, {("gps/start/accuracy", "missing")}),
    ({"gps": {"start": GOOD_POSITION, "finish": {"refused": False}}}, {("gps/finish/refused", "invalid_value")}),
    ({"gps": {"start": GOOD_POSITION, "finish": {"refused": True, "lat": "1"}}}, {("gps/finish/lat", "unknown_key")}),
    ({"started_at": "2026-11-20T09:15:00"}, {("started_at", "invalid_datetime")}),
    ({"started_at": "2026-11-20 09:15:00+08:00"}, {("started_at", "invalid_datetime")}),
    ({"started_at": "2026-02-30T09:15:00+08:00"}, {("started_at", "invalid_datetime")}),
    ({"started_at": "2026-11-20T09:15+08:00"}, {("started_at", "invalid_datetime")}),
    ({"finished_at": "2026-11-20T09:14:59+08:00"}, {("finished_at", "finished_before_started")}),
    ({"received_at": "yesterday"}, {("received_at", "invalid_datetime")}),
    ({"device_clock_skew_ms": 120}, {("device_clock_skew_ms", "unknown_key")}),
])
def test_envelope_problems(changes, expected):
    assert problems_of(envelope(**changes)) == expected


@pytest.mark.parametrize("changes", [
    {"supersedes": OLD},
    {"finished_at": "2026-11-20T09:15:00+08:00"},  # finished == started
    {"started_at": "2026-11-20T01:15:00Z", "finished_at": "2026-11-20T09:15:00.5+08:00"},
    {"gps": {"start": {"refused": True}, "finish": {"lat": "-33.9", "lon": "-180", "accuracy": "0"}}},
    {"attachments": []},
    {"attachments": [ATT, {**ATT, "role": "signature", "slot": "applicant"}]},  # same file, another role
    {"answers": {}},
    {"received_at": "2026-11-21T00:00:00Z"},
])
def test_envelope_variants_that_are_fine(changes):
    parse_envelope(envelope(**changes))


@pytest.mark.parametrize("raw", [None, [], "{}", 1])
def test_envelope_must_be_an_object(raw):
    assert problems_of(raw) == {("", "wrong_type")}


def test_every_problem_is_reported_at_once():
    entry = ENVELOPES["several_problems"]
    found = problems_of(entry["envelope"])
    assert found == {(p["path"], p["code"]) for p in entry["envelope_problems"]}
    assert len(found) >= 10


@pytest.mark.parametrize("name", sorted(ENVELOPES))
def test_fixture_envelope_problems(name):
    entry = ENVELOPES[name]
    if entry["envelope_problems"]:
        assert problems_of(entry["envelope"]) == {(p["path"], p["code"]) for p in entry["envelope_problems"]}
    else:
        assert parse_envelope(entry["envelope"]).hash == entry["content_hash"]


def test_envelope_error_message_and_needs_problems():
    error = EnvelopeError([Problem("a", "x", "甲", "first"), Problem("b", "y", "乙", "second")])
    assert str(error) == "a: first (and 1 more)"
    assert isinstance(error, ValueError)
    with pytest.raises(ValueError):
        EnvelopeError([])


# --- classify_submission ------------------------------------------------------------------------

@pytest.mark.parametrize("existing, new, supersedes, is_current, outcome", [
    # a visit id the server has not seen
    (None, H1, None, None, "new"),
    (None, H1, OLD, True, "new"),
    (None, H1, OLD, False, "stale_revision"),
    (None, H1, OLD, None, "stale_revision"),  # the superseded id is unknown
    # the same id again, identical content: a replay, whatever happened since
    (H1, H1, None, None, "replay"),
    (H1, H1, OLD, True, "replay"),
    (H1, H1, OLD, False, "replay"),
    (H1, H1, OLD, None, "replay"),
    # the same id, different content
    (H1, H2, None, None, "conflict"),
    (H1, H2, OLD, True, "conflict"),
    (H1, H2, OLD, False, "conflict"),
    (H1, H2, OLD, None, "conflict"),
])
def test_classify_submission(existing, new, supersedes, is_current, outcome):
    assert outcome in OUTCOMES
    assert classify_submission(existing, new, supersedes=supersedes, supersedes_is_current=is_current) == outcome


@pytest.mark.parametrize("existing, new, supersedes, is_current", [
    (None, H1, None, True),  # is_current only makes sense with supersedes
    (None, H1, None, False),
    (H1, H1, None, True),
    (H1, H2, None, False),
    (None, "A" * 64, None, None),  # hashes are lowercase hex
    (None, "a" * 63, None, None),
    ("xyz", H1, None, None),
])
def test_classify_submission_rejects_inconsistent_arguments(existing, new, supersedes, is_current):
    with pytest.raises(ValueError):
        classify_submission(existing, new, supersedes=supersedes, supersedes_is_current=is_current)


def test_fixture_classifications():
    for entry in VECTORS["envelopes"]:
        if "classification" in entry:
            stored = ENVELOPES[entry["classify_against"]]["content_hash"]
            assert classify_submission(stored, content_hash(entry["envelope"]), supersedes=None,
                                       supersedes_is_current=None) == entry["classification"]


# --- attestation --------------------------------------------------------------------------------

def test_attestation_message_is_literal():
    visit_id = "3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012"
    assert attestation_message(visit_id, H1) == (
        b'{"content_hash":"' + H1.encode() + b'","protocol":1,"purpose":"ruhu-visit-attestation",'
        b'"visit_id":"3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012"}')


@pytest.mark.parametrize("visit_id, digest", [
    ("3F1C2B9E-7D4A-4C1E-9B2F-5A6D7E8F9012", H1),
    ("not-a-uuid", H1),
    ("3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012", H1.upper()),
    ("3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012", "abc"),
])
def test_attestation_message_checks_its_inputs(visit_id, digest):
    with pytest.raises(ValueError):
        attestation_message(visit_id, digest)


def test_the_datetime_offset_is_kept():
    env = parse_envelope(envelope(started_at="2026-11-20T09:15:00-05:00", finished_at="2026-11-20T15:00:00Z"))
    assert env.started_at.tzinfo == timezone(timedelta(hours=-5))


# The quick canonical pass (no paths worked out) and the careful one agree on every value, fine or not.
_QUICK_VS_CAREFUL = [
    {"b": 1, "a": [True, None, "x"], "ä": {"z": "e\u0301"}},
    {"\u00e9": 1, "e\u0301x": 2},
    ["Å", "A\u030a", 2**53 - 1, -(2**53 - 1)],
    {"a": {"b": {"c": [1, [2, [3]]]}}},
    {"amount": 1.5},
    {"n": 2**53},
    {"s": "\ud800"},
    {"\u00e9": 1, "e\u0301": 2},
    {1: "key not a string"},
    {"t": (1, 2)},
    {"big": -(2**60), "ok": "fine"},
    "plain",
    0,
]


@pytest.mark.parametrize("value", _QUICK_VS_CAREFUL)
def test_the_quick_canonical_pass_agrees_with_the_careful_one(value):
    from sync import protocol

    quick_bad: list = []
    careful_bad: list = []
    assert protocol._canonical(value, quick_bad) == protocol._canon(value, "", careful_bad)
    assert quick_bad == careful_bad
