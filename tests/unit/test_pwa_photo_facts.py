"""The photo facts the phone signs into each attachment item (``captured_at``, ``position``): optional, and
checked like the envelope's own times and positions when present."""

from __future__ import annotations

import copy

import pytest

from sync.errors import EnvelopeError
from sync.protocol import content_hash, parse_envelope
from tests.unit.test_sync_protocol import VALID

PHOTO = {"captured_at": "2026-11-20T09:15:00+08:00", "position": {"lat": "34.746667", "lon": "113.625000", "accuracy": "8.5"}}


def with_facts(**facts) -> dict:
    env = copy.deepcopy(VALID)
    env["attachments"][0].update(facts)
    return env


def test_the_facts_are_optional_and_signed():
    plain = parse_envelope(copy.deepcopy(VALID))
    env = with_facts(**PHOTO)
    parsed = parse_envelope(env)
    assert parsed.raw["attachments"][0]["captured_at"] == PHOTO["captured_at"]
    assert parsed.hash == content_hash(env) != plain.hash          # covered by the content hash
    assert parse_envelope(with_facts(position={"refused": True})).raw["attachments"][0]["position"] == {"refused": True}


@pytest.mark.parametrize(("facts", "path", "code"), [
    ({"captured_at": "2026-11-20 09:15"}, "attachments/0/captured_at", "invalid_datetime"),
    ({"captured_at": "2026-11-20T09:15:00"}, "attachments/0/captured_at", "invalid_datetime"),   # no offset
    ({"position": {"lat": "95", "lon": "113", "accuracy": "5"}}, "attachments/0/position/lat", "out_of_range"),
    ({"position": {"lat": "34", "lon": "113"}}, "attachments/0/position/accuracy", "missing"),
    ({"position": {"refused": False}}, "attachments/0/position/refused", "invalid_value"),
    ({"taken_by": "me"}, "attachments/0/taken_by", "unknown_key"),
])
def test_bad_facts_are_named(facts, path, code):
    with pytest.raises(EnvelopeError) as info:
        parse_envelope(with_facts(**facts))
    assert (path, code) in {(p.path, p.code) for p in info.value.problems}
    assert all(p.message and p.message_en for p in info.value.problems)
