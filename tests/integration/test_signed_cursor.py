"""Pull cursors are signed with the secret key: a forged, altered or re-signed cursor — even one that
names the right user and a time in the future — gets a full resync, never an empty "nothing new"."""

from __future__ import annotations

import base64
import json

import pytest

from tests.integration.test_sync_api import field  # noqa: F401  (fixture)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _forgeries(real: str, user_id: int) -> list[str]:
    body, mac = real.split(".")
    future = _b64(json.dumps({"v": 1, "u": user_id, "t": "2999-01-01T00:00:00+00:00"},
                             separators=(",", ":")).encode())
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    return [future,                                   # the old, unsigned form: "nothing changed since 2999"
            f"{future}.{mac}",                        # a real signature on another body
            f"{body}.{flipped}",                      # a changed signature
            f"{body}.",                               # none
            real + "." + mac,                         # extra parts
            "\u00e9" * 10 + "." + mac]                # not base64 at all


def test_a_real_cursor_is_incremental(field):  # noqa: F811
    a = field["phones"][0]
    first = a.pull().json
    assert first["full"] is True and "." in first["cursor"]
    again = a.pull(first["cursor"]).json
    assert again["full"] is False and again["assignments"] == []


@pytest.mark.parametrize("n", range(6))
def test_forged_cursors_get_a_full_resync(field, n):  # noqa: F811
    a = field["phones"][0]
    first = a.pull().json
    user_id = field["org"].gc_inv1
    forged = _forgeries(first["cursor"], user_id)[n]
    body = a.client.get("/api/v1/sync/pull", query_string={"since": forged}, headers=a.auth).json
    assert body["full"] is True and len(body["assignments"]) == 1


def test_a_cursor_signed_with_another_key_is_refused(app, field):  # noqa: F811
    a = field["phones"][0]
    cursor = a.pull().json["cursor"]
    app.config["SECRET_KEY"] = "another-deployment"
    body = a.pull(cursor).json
    assert body["full"] is True and len(body["assignments"]) == 1
