"""What one complete visit costs the server, request by request: SQL statements, commits, and the median time
and CPU time (of this process: the client's share is Flask's test client, small) of each request, in one process (Flask's test client, no network, no other load), on a small database and then
with a large one bulk-loaded into the same database, printed as the ratio large/small.

The requests are the phone app's (``bench/sync_load.py`` runs them under load): an incremental pull; the visit
with its 3 photos and the sender's attestation in one multipart request (``bundle``); the partner's attestation,
which accepts the visit into the case (``accept``); and, for comparison, the same visit sent request by request
(``put`` x 3, ``visit``, ``attest``, ``accept``).  Every other bundle is read by werkzeug's own multipart
parser instead of ``server.multipart`` (``bundle_werkzeug``): the two alternate in one process, and their CPU
ratio is printed.  The slowest statement of each kind is printed too, so that a
statement that stops using an index on the large database shows at once.

Settings (environment): ``BENCH_REQUEST_VISITS`` (30 per path), ``BENCH_LARGE_CASES`` (0; e.g. 1000000, with
``BENCH_LARGE_VISITS`` stored visits, default a tenth), ``BENCH_PG_URL`` as for ``bench.sync_load`` (``""``
skips PostgreSQL).  Run alone with ``python -m bench.sync_requests``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench import sync_load as sl

VISITS = int(sl.os.environ.get("BENCH_REQUEST_VISITS", "30"))


class Meter:
    """Statements, commits, the slowest statement and the wall time per request kind."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.kind = "-"
        self.statements: collections.Counter = collections.Counter()
        self.commits: collections.Counter = collections.Counter()
        self.slowest: dict[str, tuple[float, str]] = {}
        self.times: dict[str, list[float]] = collections.defaultdict(list)
        self.cpu: dict[str, list[float]] = collections.defaultdict(list)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()
        self.statements[self.kind] += 1

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        if took > self.slowest.get(self.kind, (0.0, ""))[0]:
            self.slowest[self.kind] = (took, " ".join(statement.split())[:90])

    def _commit(self, conn):
        self.commits[self.kind] += 1

    def call(self, kind: str, fn, *args, **kwargs):
        self.kind = kind
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            self.times[kind].append(time.perf_counter() - t0)
            self.cpu[kind].append(time.process_time() - c0)
            self.kind = "-"

    def reset(self) -> None:
        self.statements.clear()
        self.commits.clear()
        self.slowest.clear()
        self.times.clear()
        self.cpu.clear()

    def summary(self) -> dict[str, dict]:
        return {k: {"ms": statistics.median(v) * 1000, "cpu_ms": statistics.median(self.cpu[k]) * 1000,
                    "statements": self.statements[k] / len(v),
                    "commits": self.commits[k] / len(v), "slowest_ms": self.slowest.get(k, (0.0, ""))[0] * 1000,
                    "slowest": self.slowest.get(k, (0.0, ""))[1]} for k, v in self.times.items()}


def bare_client(tmp: Path):
    """The baseline of the per-request ratios: ``bench.bare_app`` (a Flask endpoint inserting one row into SQLite
    with ``synchronous=FULL``, one durable commit per request) behind Flask's test client in this process."""
    from bench import bare_app

    bare_app._PATH = str(tmp / "bare.sqlite3")
    return bare_app.app.test_client()


def run_visits(client, meter: Meter, phones: list, assignments: list, photos: list[bytes], count: int,
               cursor: str, forms: str, bare=None) -> str:
    """``count`` visits by the bundle and ``count`` request by request; returns the newest pull cursor.
    ``bare``: the baseline's client, called once before each visit (alternating with the real requests)."""
    from flask import Request

    from server.multipart import FastRequest
    from sync.protocol import content_hash

    a, b = phones[0]
    auth_a, auth_b = {"Authorization": f"Bearer {a['token']}"}, {"Authorization": f"Bearer {b['token']}"}
    for n in range(2 * count):
        bundled = n % 2 == 0
        if bare is not None:
            r = meter.call("bare", bare.post, "/insert", data=f"visit {n}")
            assert r.status_code == 201, r.get_data()
            # The floor of every phone request: signed in (the device looked up by its token), doing nothing.
            assert meter.call("me", client.get, "/api/v1/me", headers=auth_a).status_code == 200
        r = meter.call("pull", client.get, f"/api/v1/sync/pull?since={cursor}&forms={forms}", headers=auth_a)
        cursor = r.get_json()["cursor"]
        items, files = [], []
        for (role, slot), photo in zip(sl.SLOTS, photos, strict=False):
            data = sl.distinct(photo, f"{n}-{slot}-{uuid.uuid4()}")
            sha = hashlib.sha256(data).hexdigest()
            items.append({"sha256": sha, "size": len(data), "type": "image/jpeg", "role": role, "slot": slot})
            files.append((sha, data))
        envelope = sl.envelope_for(assignments.pop(0), items, a, b)
        visit_id, h = envelope["visit_id"], content_hash(envelope)
        own = {"content_hash": h, "device_id": a["device_id"], "signature": sl.sign(a["key"], visit_id, h)}
        if bundled:
            # Every other bundle is read by werkzeug's own multipart parser (the baseline of server.multipart).
            baseline = (n // 2) % 2 == 1
            client.application.request_class = Request if baseline else FastRequest
            body, kind = sl.multipart([("envelope", json.dumps(envelope).encode(), "application/json"),
                                       *((sha, data, "image/jpeg") for sha, data in files),
                                       ("attestation", json.dumps(own).encode(), "application/json")])
            r = meter.call("bundle_werkzeug" if baseline else "bundle", client.post, "/api/v1/visits", data=body,
                           headers={**auth_a, "Content-Type": kind, "Idempotency-Key": visit_id})
            client.application.request_class = FastRequest
            assert r.status_code == 201 and r.get_json()["attestation"]["http_status"] == 201, r.get_data()
        else:
            for sha, data in files:
                r = meter.call("put", client.put, f"/api/v1/attachments/{sha}", data=data,
                               headers={**auth_a, "Content-Type": "image/jpeg"})
                assert r.status_code == 201, r.get_data()
            r = meter.call("visit", client.post, "/api/v1/visits", json=envelope,
                           headers={**auth_a, "Idempotency-Key": visit_id})
            assert r.status_code == 201, r.get_data()
            r = meter.call("attest", client.post, "/api/v1/attestations", json={**own, "visit_id": visit_id},
                           headers=auth_a)
            assert r.status_code == 201, r.get_data()
        partner = {"visit_id": visit_id, "content_hash": h, "device_id": b["device_id"],
                   "signature": sl.sign(b["key"], visit_id, h)}
        r = meter.call("accept", client.post, "/api/v1/attestations", json=partner, headers=auth_b)
        assert r.get_json()["status"] == "accepted", r.get_data()
    return cursor


ORDER = ("bare", "me", "pull", "bundle", "bundle_werkzeug", "put", "visit", "attest", "accept")


def measure(label: str, url: str) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ruhu-bench-requests-"))
    try:
        if url.startswith("postgresql"):
            sl.reset_postgres(url)
        saved = sl.CASES_PER_PAIR
        sl.CASES_PER_PAIR = 4 * VISITS + 8
        try:
            phones = sl.prepare(url, tmp / "attachments", 1)
        finally:
            sl.CASES_PER_PAIR = saved
        from server import create_app
        from server.extensions import db

        config = sl.app_config(url, tmp / "attachments")
        config["RUHU_TODAY"] = sl.TODAY
        app = create_app(config)
        with app.app_context():
            meter = Meter(db.engine)
        client = app.test_client()
        bare = bare_client(tmp)
        photos = sl.base_photos()
        first = client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {phones[0][0]['token']}"}).get_json()
        assignments = list(first["assignments"])
        cursor = run_visits(client, meter, phones, assignments, photos, 2, first["cursor"], first["forms_version"],
                            bare)
        meter.reset()   # the first requests (imports, caches) are not counted
        cursor = run_visits(client, meter, phones, assignments, photos, VISITS, cursor, first["forms_version"],
                            bare)
        out = {"small": meter.summary()}
        large = int(sl.os.environ.get("BENCH_LARGE_CASES", "0"))
        if large:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            loaded = sl.bulk_load(url, large, int(sl.os.environ.get("BENCH_LARGE_VISITS", str(large // 10))))
            meter.reset()
            run_visits(client, meter, phones, assignments, photos, VISITS, cursor, first["forms_version"], bare)
            out["large"], out["load_s"] = meter.summary(), loaded
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        report(label, out, large)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(label: str, out: dict, large: int) -> None:
    small = out["small"]
    whole = sum(small[k]["ms"] for k in ("pull", "bundle", "accept"))
    split = sum(small[k]["ms"] * (3 if k == "put" else 1) for k in ("pull", "put", "visit", "attest", "accept"))
    print(f"[{label}] one complete visit, request by request ({VISITS} visits per path, medians, one process)")
    for kind in ORDER:
        s = small[kind]
        line = (f"  {kind:15s} {s['ms']:6.1f} ms (CPU {s['cpu_ms']:5.1f} ms)  {s['statements']:4.1f} statements  "
                f"{s['commits']:.1f} commits  "
                f"slowest statement {s['slowest_ms']:.2f} ms")
        if large:
            g = out["large"][kind]
            line += (f"  | {large:,} cases: {g['ms']:6.1f} ms ({g['ms'] / s['ms']:.2f}x), {g['statements']:.1f} "
                     f"statements, slowest {g['slowest_ms']:.2f} ms")
        print(line)
    fast, slow = small["bundle"]["cpu_ms"], small["bundle_werkzeug"]["cpu_ms"]
    print(f"  bundle CPU with server.multipart {fast:.1f} ms, with werkzeug's parser (alternating) {slow:.1f} ms "
          f"-> {fast / slow:.2f}x")
    cpu = sum(small[k]["cpu_ms"] for k in ("pull", "bundle", "accept"))
    for measure, unit in (("ms", "wall"), ("cpu_ms", "CPU")):
        base = small["bare"][measure]
        print(f"  against the bare insert ({base:.2f} ms {unit}, in this process, alternating), as rates (the "
              "issue's goals: visit 0.3, attest 0.5, complete 0.04): "
              + ", ".join(f"{k} {base / small[k][measure]:.2f}" for k in ("visit", "attest", "accept", "bundle"))
              + f"; a complete visit (pull + bundle + accept) {base / (whole if unit == 'wall' else cpu):.3f}; "
              f"a signed-in request doing nothing (GET /me, the floor of any phone request) {base / small['me'][measure]:.2f}")
    statements = sum(small[k]["statements"] for k in ("pull", "bundle", "accept"))
    print(f"  a complete visit as the phone app sends it (pull + bundle + accept): {whole:.1f} ms, CPU of this "
          f"process {cpu:.1f} ms, {statements:.0f} statements; request by "
          f"request (pull + 3 put + visit + attest + accept): {split:.1f} ms -> {whole / split:.2f}x")


def multipart_read(photos: list[bytes], rounds: int = 40) -> dict:
    """The bundle's body read by werkzeug's stream parser and by ``server.multipart`` (what the app uses),
    alternating on the same bodies in this process: median ms each and the ratio."""
    import io

    from werkzeug.formparser import FormDataParser

    from server.multipart import FastFormDataParser

    bodies = []
    for n in range(rounds):
        parts = [("envelope", json.dumps({"visit_id": str(uuid.uuid4()), "pad": "x" * 3000}).encode(),
                  "application/json")]
        parts += [(f"{n}-{i}", sl.distinct(photo, f"{n}-{i}-{uuid.uuid4()}"), "image/jpeg")
                  for i, photo in enumerate(photos)]
        bodies.append(sl.multipart([*parts, ("attestation", b"{}", "application/json")]))
    took: dict[str, list[float]] = {"werkzeug": [], "ruhu": []}
    for raw, kind in bodies:
        boundary = kind.split("boundary=", 1)[1]
        for label, parser in (("werkzeug", FormDataParser), ("ruhu", FastFormDataParser)):
            t0 = time.perf_counter()
            _, form, files = parser(max_form_memory_size=500_000, max_form_parts=1000).parse(
                io.BytesIO(raw), "multipart/form-data", len(raw), {"boundary": boundary})
            assert len(files) == len(photos) + 2
            for f in files.values():
                f.close()
            took[label].append(time.perf_counter() - t0)
    out = {k: statistics.median(v) * 1000 for k, v in took.items()}
    print(f"[multipart] a bundle's body ({len(bodies[0][0]) // 1024} KB) read by werkzeug's parser "
          f"{out['werkzeug']:.2f} ms, by server.multipart {out['ruhu']:.2f} ms -> "
          f"{out['werkzeug'] / out['ruhu']:.0f}x faster ({rounds} bodies, alternating, medians)")
    return out


def main() -> dict:
    results = {"multipart": multipart_read(sl.base_photos())}
    tmp = Path(tempfile.mkdtemp(prefix="ruhu-bench-requests-db-"))
    try:
        results["SQLite"] = measure("SQLite", f"sqlite:///{tmp / 'ruhu.sqlite3'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if sl.PG_URL:
        try:
            results["PostgreSQL"] = measure("PostgreSQL", sl.PG_URL)
        except Exception as exc:  # no server: say so and keep the SQLite figures
            print(f"sync requests: PostgreSQL at {sl.PG_URL} not measured ({type(exc).__name__}: {exc})")
    return results


if __name__ == "__main__":
    main()
