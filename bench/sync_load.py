"""Phones syncing in the same hour: N simulated phones doing the real protocol against the real server under
gunicorn, on SQLite and PostgreSQL, beside a bare endpoint and Pillow alone on the same photos.

Per database, in one run and interleaved round by round:

- **bare**: a Flask app under the same gunicorn settings inserting one row per request into SQLite
  (``synchronous=FULL``), hit by the same client threads — requests/s;
- **put**: attachment uploads only (distinct ~150 KB JPEGs) — PUTs/s, against **pillow**: one process
  decoding and re-encoding the same photos (quality 85) — photos/s;
- **visits**: pairs of phones doing the whole protocol as the phone app does it: an incremental pull, one request
  with the visit, its 3 photos and the sender's attestation, then the partner's attestation; counted when the
  last attestation answers ``accepted`` — complete visits/s, requests/s, p50/p95/p99 latency and errors, and
  the peak RSS of the gunicorn workers; **split**: the same with every photo and attestation its own request;
- **requests**: the visit POST alone and the attestation alone (photos stored before the clock starts);
- **pulls**: incremental pulls with nothing changed, every phone at once.

Settings (environment): ``BENCH_PHONES`` (16), ``BENCH_SECONDS`` per phase (12), ``BENCH_WORKERS`` (2),
``BENCH_WORKER_CLASS`` (gunicorn's ``sync``; e.g. ``gthread`` with ``BENCH_THREADS`` threads per worker, 1),
``BENCH_ROUNDS`` (1), ``BENCH_CASES_PER_PAIR`` (240: assigned households per pair of phones, each visited
once), ``BENCH_POSTS_PER_PAIR`` (20: visits per pair in the requests phase), ``BENCH_LARGE_CASES`` (0; e.g.
1000000 to run the visit and pull phases again with that many other cases and ``BENCH_LARGE_VISITS`` — default
a tenth — stored visits of other teams, bulk-loaded with COPY on PostgreSQL and executemany on SQLite, printed
as the ratio large/small), ``BENCH_PG_URL`` (``postgresql+psycopg://postgres@127.0.0.1:5432/bench_h8``; the
database is emptied; set it to ``""`` to skip PostgreSQL); ``BENCH_ODK_URL`` and the settings in
``bench/ODK.md``: the same photos and threads against ODK Central beside the project, before Ruhu's visit
phase, then ``BENCH_ODK_SETTLE`` seconds (20) for ODK's background work to finish.  Run alone with
``python -m bench.sync_load``.
Needs gunicorn (``pip install gunicorn``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHONES = int(os.environ.get("BENCH_PHONES", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "12"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "sync")
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
LARGE_CASES = int(os.environ.get("BENCH_LARGE_CASES", "0"))  # e.g. 1000000: the same run on a large database
LARGE_VISITS = int(os.environ.get("BENCH_LARGE_VISITS", str(LARGE_CASES // 10)))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_h8")
TODAY = dt.date(2025, 11, 3)
# Each assignment takes one record (a second one is refused with 409 record_exists), so every pair needs as
# many assignments as it can finish in all its visit phases; a pair that runs out stops and the report says so.
CASES_PER_PAIR = int(os.environ.get("BENCH_CASES_PER_PAIR", "240"))
POSTS_PER_PAIR = int(os.environ.get("BENCH_POSTS_PER_PAIR", "20"))  # visits of the POST / attestation phase


# --- the photos --------------------------------------------------------------------------------------

def base_photos(count: int = 3) -> list[bytes]:
    """Phone-like JPEGs of about 150 KB (1600x1200, textured)."""
    from PIL import Image, ImageFilter

    rng = random.Random(7)
    out = []
    for n in range(count):
        noise = Image.effect_noise((1600, 1200), 40 + n * 5).filter(ImageFilter.GaussianBlur(1.2))
        grad = Image.linear_gradient("L").resize((1600, 1200))
        img = Image.merge("RGB", (noise, grad, noise.rotate(180)))
        for quality in (70, 60, 50, 40):
            buffer = io.BytesIO()
            img.save(buffer, "JPEG", quality=quality)
            if buffer.tell() < 190_000:
                break
        out.append(buffer.getvalue())
        rng.random()
    return out


def distinct(photo: bytes, tag: str) -> bytes:
    """The same picture with a JPEG comment segment after SOI: a valid file with its own SHA-256."""
    text = tag.encode()
    return photo[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + photo[2:]


# --- servers -----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, app: str, env: dict[str, str], workers: int = WORKERS):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", WORKER_CLASS, "--threads", str(THREADS),
             "-b", f"127.0.0.1:{self.port}", "--timeout", "120", "--log-level", "warning", app],
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"gunicorn {app} exited with {self.proc.returncode}") from None
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn {app} did not start")

    def worker_peak_mb(self) -> float:
        peaks = []
        for child in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split():
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks, default=0.0)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# --- the client --------------------------------------------------------------------------------------

class Client:
    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors = 0
        self.done = 0

    def timed(self, client: Client, method: str, path: str, body=None, headers=None, ok=(200, 201)):
        t0 = time.perf_counter()
        try:
            status, data = client.call(method, path, body, headers)
        except Exception:
            status, data = 599, b""
        elapsed = time.perf_counter() - t0
        with self.lock:
            self.latencies.append(elapsed)
            if status not in ok:
                self.errors += 1
        return status, data

    def summary(self, seconds: float) -> dict:
        lat = sorted(self.latencies) or [0.0]

        def pct(p):
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000

        return {"done_per_s": self.done / seconds, "requests_per_s": len(self.latencies) / seconds,
                "p50": pct(50), "p95": pct(95), "p99": pct(99), "errors": self.errors, "requests": len(self.latencies),
                "done": self.done}


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all the machine's CPUs so far (``/proc/stat``; (0, 0) where there is none)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)   # idle + waiting for the disk
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """The share of the machine's CPU time that was busy between two ``cpu_ticks()`` readings: near 1.0 the
    phase was held back by the processors, well below it by waiting (the disk, locks, round trips)."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else None


def run_threads(count: int, target, seconds: float) -> float:
    stop = time.perf_counter() + seconds
    threads = [threading.Thread(target=target, args=(i, stop), daemon=True) for i in range(count)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return time.perf_counter() - t0


# --- the Ruhu database ---------------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def app_config(db_url: str, attachments: Path) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench", "RUHU_ATTACHMENTS": str(attachments),
            "RUHU_CALENDAR": str(attachments.parent / "no-calendar.toml"), "RUHU_TODAY": TODAY.isoformat(),
            "RATELIMIT_ENABLED": False, "RUHU_PASSWORD_METHOD": "pbkdf2:sha256:1000"}


def prepare(db_url: str, attachments: Path, pairs: int):
    """Migrate, make an office with a caseworker and 2 x ``pairs`` investigators, CASES_PER_PAIR accepted cases
    per pair with a home visit assigned, and one enrolled phone per investigator (keys made here)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from flask_migrate import upgrade

    from server import create_app
    from server.domain.ids import check_character
    from server.extensions import db
    from server.models import User
    from server.operations.accounts import add_unit, add_user
    from server.operations.cases import perform, register_application
    from server.operations.sync import create_enrolment, enrol
    from server.operations.visits import assign_visit

    config = app_config(db_url, attachments)
    config["RUHU_TODAY"] = TODAY
    app = create_app(config)
    phones = []
    with app.app_context():
        upgrade()
        from server import services

        profiles = services().profiles
        gc = add_unit("410104", "管城回族区", "district", "guancheng", known_profiles=profiles)
        office = add_unit("410104005", "南关街街道办事处", "street_office", "guancheng", gc, known_profiles=profiles)
        community = add_unit("410104005001", "南关和平社区", "community", "guancheng", office, known_profiles=profiles)
        caseworker = add_user("cw", "caseworker", office.code, "correct-horse-1", "经办人")
        db.session.commit()
        seq = 0
        for p in range(pairs):
            team = [add_user(f"inv{p}_{k}", "investigator", office.code, "correct-horse-1", f"调查员{p}{k}")
                    for k in (0, 1)]
            db.session.commit()
            for _ in range(CASES_PER_PAIR):
                seq += 1
                born = dt.date(1950 + seq % 40, 1 + seq % 12, 1 + seq % 28)
                first17 = f"410104{born:%Y%m%d}{seq % 1000:03d}"
                case = register_application(
                    community=community, actor=caseworker, today=TODAY,
                    members=[{"name": f"张{seq}", "relation": "head", "id_number": first17 + check_character(first17)}],
                    materials=["application", "hukou_id", "income_property_statement", "integrity_pledge",
                               "verification_authorisation"])
                perform(case, "accept", caseworker, {"applicant_signed": True}, today=TODAY)
                assign_visit(case, caseworker, [u.id for u in team], today=TODAY)
            pair = []
            for user in team:
                key = ec.generate_private_key(ec.SECP256R1())
                numbers = key.public_key().public_numbers()
                jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
                       "y": b64url(numbers.y.to_bytes(32, "big"))}
                code = create_enrolment(db.session.get(User, user.id), caseworker).code
                device, token = enrol(code, f"bench {user.username}", jwk)
                pair.append({"user_id": user.id, "device_id": device.id, "token": token, "key": key})
            phones.append(pair)
        db.session.remove()
        db.engine.dispose()
    return phones


def bulk_load(db_url: str, cases: int, visits: int) -> float:
    """``cases`` other households and cases (another office) and ``visits`` accepted device visits of other
    teams, straight into the tables; returns the seconds it took."""
    import sqlalchemy as sa

    t0 = time.perf_counter()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        office = conn.execute(sa.text("INSERT INTO units (code, name, name_en, level, parent_id, profile_id) "
                                      "SELECT '410104008', '二里岗街道办事处', '', 'street_office', id, 'guancheng' "
                                      "FROM units WHERE code = '410104' RETURNING id")).scalar()
        community = conn.execute(sa.text("INSERT INTO units (code, name, name_en, level, parent_id, profile_id) "
                                         "VALUES ('410104008001', '二里岗社区', '', 'community', :o, 'guancheng') "
                                         "RETURNING id"), {"o": office}).scalar()
        recorder = conn.execute(sa.text("SELECT id FROM users ORDER BY id LIMIT 1")).scalar()
        base_h = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM households")).scalar() + 1
        base_c = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM cases")).scalar() + 1
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    households = ((base_h + i, community, "", "urban", "stable", "", now) for i in range(cases))
    case_rows = ((base_c + i, f"L{i:08d}", base_h + i, office, community, "guancheng", "in_payment", TODAY,
                  False, False, "", "[]", 0, 0, "{}", "{}", 0, False, 0, "{}", 1, 1, now, now) for i in range(cases))
    visit_rows = ((str(uuid.UUID(int=i + 1)), base_c + i % max(cases, 1), "home_visit", "device", TODAY,
                   "[900000, 900001]", "{}", "{}", "accepted", recorder, now, 1) for i in range(visits))
    h_cols = "id, unit_id, address, area, household_class, phone, created_at"
    c_cols = ("id, number, household_id, office_unit_id, community_unit_id, profile_id, status, applied_on, "
              "submitted_by_committee, staff_relative, staff_relative_note, materials, declared_income_6m, "
              "assessed_income_6m, declaration, verification, publicity_rounds, needs_republication, exit_month, "
              "record, record_version, version, created_at, updated_at")
    v_cols = ("id, case_id, kind, source, visit_on, investigator_ids, findings, attachments, status, "
              "recorded_by_id, created_at, version")
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, cols, rows in (("households", h_cols, households), ("cases", c_cols, case_rows),
                                  ("visits", v_cols, visit_rows)):
            if engine.dialect.name == "postgresql":
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(cols.split(", ")))
                chunk = []
                for row in rows:
                    chunk.append(tuple(v.isoformat(" ") if isinstance(v, dt.datetime) else
                                       v.isoformat() if isinstance(v, dt.date) else v for v in row))
                    if len(chunk) == 50_000:
                        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", chunk)
                        chunk = []
                if chunk:
                    cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", chunk)
        raw.commit()
        if engine.dialect.name == "postgresql":
            cur.execute("SELECT setval(pg_get_serial_sequence('households', 'id'), (SELECT max(id) FROM households))")
            cur.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
            raw.commit()
            # Settled as a database that has been running: the new rows vacuumed (visibility map and hint bits
            # set, or the first reads write them) and a checkpoint taken, so that the visit phase does not pay
            # for the bulk load's writes.
            driver = raw.dbapi_connection   # VACUUM runs outside a transaction: psycopg's own autocommit
            driver.autocommit = True
            with driver.cursor() as plain:
                plain.execute("VACUUM (ANALYZE)")
                plain.execute("CHECKPOINT")
            driver.autocommit = False
        else:
            cur.execute("ANALYZE")
            raw.commit()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - t0


def sign(key, visit_id: str, content_hash: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    from sync.protocol import attestation_message

    der = key.sign(attestation_message(visit_id, content_hash), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def answers_for(assignment: dict) -> dict:
    from server.domain.declaration import INCOME_SOURCES, PROPERTY_ITEMS

    members = [{"name": m["name"], "id_number": m["id_number"], "relation": m["relation"],
                "co_residing": m["co_residing"], "health": "healthy", "disabled": False, "student": False,
                "work": "unemployed", "able_to_work": False} for m in assignment["members"]]
    return {"members": members,
            "income": {s: (["300.00"] + ["0.00"] * 5 if s == "wages" else ["0.00"] * 6) for s in INCOME_SOURCES},
            "property": {**{item: "" for item in PROPERTY_ITEMS}, "housing": "自有住房45平方米", "vehicles_count": 0},
            "living": {"conditions": ["adequate"], "notes": "住房简陋"},
            "findings": {"summary": "情况属实", "recommendation": "eligible"}}


_ASSIGNMENTS: dict[str, list] = {}  # a pair's assignments from its first pull, visited in order across phases
_NEXT: dict[str, int] = {}
SLOTS = (("photo", "house_outside"), ("photo", "house_inside"), ("fingerprint", "applicant"))


def envelope_for(assignment: dict, items: list[dict], a: dict, b: dict) -> dict:
    return {"protocol": 1, "visit_id": str(uuid.uuid4()), "assignment_id": assignment["assignment_id"],
            "case_id": assignment["case_id"], "form_id": assignment["form_id"],
            "form_version": assignment["form_version"], "base_version": assignment["base_version"],
            "supersedes": None, "answers": answers_for(assignment), "attachments": items,
            "investigators": sorted([a["user_id"], b["user_id"]]),
            "gps": {"start": {"lat": "34.7500000", "lon": "113.6700000", "accuracy": "12"},
                    "finish": {"refused": True}},
            "started_at": "2025-11-03T09:00:00+08:00", "finished_at": "2025-11-03T09:50:00+08:00"}


def take_assignment(token: str) -> dict | None:
    n = _NEXT.get(token, 0)
    if n >= len(_ASSIGNMENTS.get(token, [])):
        return None
    _NEXT[token] = n + 1
    return _ASSIGNMENTS[token][n]


def phase_requests(port: int, phones: list, photos: list[bytes]) -> dict:
    """The visit POST and the attestation alone: each pair stores the photos of ``POSTS_PER_PAIR`` visits
    before the clock starts; then all pairs POST their visits (timed), then all attest them (timed)."""
    ready: list[list] = [[] for _ in range(max(1, PHONES // 2))]

    def setup(index: int, stop: float) -> None:
        a, b = phones[index % len(phones)]
        client = Client(port)
        auth = {"Authorization": f"Bearer {a['token']}", "Content-Type": "image/jpeg"}
        if a["token"] not in _ASSIGNMENTS:
            _, body = client.call("GET", "/api/v1/sync/pull", headers={"Authorization": f"Bearer {a['token']}"})
            _ASSIGNMENTS[a["token"]] = json.loads(body).get("assignments") or []
        for k in range(POSTS_PER_PAIR):
            assignment = take_assignment(a["token"])
            if assignment is None:
                break
            items = []
            for (role, slot), photo in zip(SLOTS, photos, strict=False):
                data = distinct(photo, f"req-{index}-{k}-{slot}-{uuid.uuid4()}")
                sha = hashlib.sha256(data).hexdigest()
                client.call("PUT", f"/api/v1/attachments/{sha}", data, auth)
                items.append({"sha256": sha, "size": len(data), "type": "image/jpeg", "role": role, "slot": slot})
            ready[index].append(envelope_for(assignment, items, a, b))

    run_threads(len(ready), setup, 3600)
    posts, attests = Tally(), Tally()
    hashes: list[list] = [[] for _ in ready]

    def post(index: int, stop: float) -> None:
        a, _ = phones[index % len(phones)]
        client = Client(port)
        for envelope in ready[index]:
            status, body = posts.timed(client, "POST", "/api/v1/visits", json.dumps(envelope).encode(),
                                       {"Authorization": f"Bearer {a['token']}", "Content-Type": "application/json",
                                        "Idempotency-Key": envelope["visit_id"]})
            if status in (200, 201):
                hashes[index].append((envelope["visit_id"], json.loads(body)["content_hash"]))
                with posts.lock:
                    posts.done += 1

    def attest(index: int, stop: float) -> None:
        client = Client(port)
        for visit_id, content_hash in hashes[index]:
            for phone in phones[index % len(phones)]:
                attestation = {"visit_id": visit_id, "content_hash": content_hash, "device_id": phone["device_id"],
                               "signature": sign(phone["key"], visit_id, content_hash)}
                status, _ = attests.timed(client, "POST", "/api/v1/attestations", json.dumps(attestation).encode(),
                                          {"Authorization": f"Bearer {phone['token']}",
                                           "Content-Type": "application/json"})
                if status in (200, 201):
                    with attests.lock:
                        attests.done += 1

    post_s = run_threads(len(ready), post, 3600)
    attest_s = run_threads(len(ready), attest, 3600)
    return {"posts": posts.summary(post_s), "attests": attests.summary(attest_s),
            "short": sum(len(r) < POSTS_PER_PAIR for r in ready)}


def phase_pulls(port: int, phones: list, seconds: float) -> dict:
    """Incremental pulls with nothing changed (what every phone does before every push), all phones at once."""
    tally = Tally()

    def loop(index: int, stop: float) -> None:
        phone = phones[index % len(phones)][index % 2]
        client = Client(port)
        auth = {"Authorization": f"Bearer {phone['token']}"}
        status, body = client.call("GET", "/api/v1/sync/pull", headers=auth)
        pulled = json.loads(body) if status == 200 else {}
        query = f"?since={pulled.get('cursor')}&forms={pulled.get('forms_version')}"
        while time.perf_counter() < stop:
            status, _ = tally.timed(client, "GET", "/api/v1/sync/pull" + query, headers=auth)
            if status == 200:
                with tally.lock:
                    tally.done += 1

    elapsed = run_threads(PHONES, loop, seconds)
    return tally.summary(elapsed)


def multipart(parts: list[tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request: (name, bytes, type) per part, each a file."""
    boundary = uuid.uuid4().hex
    out = []
    for name, data, kind in parts:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                   f"Content-Type: {kind}\r\n\r\n".encode())
        out.append(data)
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def phase_visits(port: int, phones: list, photos: list[bytes], seconds: float, bundle: bool = True) -> dict:
    """Each thread is one pair of phones: phone A pulls and sends the visit with its photos and its own attestation
    in one request (``bundle``, as the phone app does) or as separate requests (3 PUTs, the visit, the attestation);
    phone B attests."""
    tally = Tally()
    counter = [0]
    ran_out = [0]

    def pair_loop(index: int, stop: float) -> None:
        a, b = phones[index % len(phones)]
        client = Client(port)
        auth_a = {"Authorization": f"Bearer {a['token']}"}
        auth_b = {"Authorization": f"Bearer {b['token']}"}
        status, body = tally.timed(client, "GET", "/api/v1/sync/pull", headers=auth_a)
        pulled = json.loads(body) if status == 200 else {}
        cursor, forms_version = pulled.get("cursor"), pulled.get("forms_version")
        # The first pull's assignments are kept and each is visited once, in order, across all phases.
        assignments = _ASSIGNMENTS.setdefault(a["token"], pulled.get("assignments") or [])
        while time.perf_counter() < stop and assignments:
            assignment = take_assignment(a["token"])
            if assignment is None:
                with tally.lock:
                    ran_out[0] += 1
                break
            query = f"?since={cursor}&forms={forms_version}"
            status, body = tally.timed(client, "GET", "/api/v1/sync/pull" + query, headers=auth_a)
            if status == 200:
                cursor = json.loads(body)["cursor"]
            with tally.lock:
                counter[0] += 1
                tag = f"{index}-{counter[0]}-{uuid.uuid4()}"
            items, files = [], []
            for (role, slot), photo in zip(SLOTS, photos, strict=False):
                data = distinct(photo, f"{tag}-{slot}")
                sha = hashlib.sha256(data).hexdigest()
                if bundle:
                    files.append((sha, data, "image/jpeg"))
                else:
                    tally.timed(client, "PUT", f"/api/v1/attachments/{sha}", data,
                                {**auth_a, "Content-Type": "image/jpeg"})
                items.append({"sha256": sha, "size": len(data), "type": "image/jpeg", "role": role, "slot": slot})
            envelope = envelope_for(assignment, items, a, b)
            visit_id = envelope["visit_id"]
            if bundle:
                from sync.protocol import content_hash as hash_of

                content_hash = hash_of(envelope)
                own = {"content_hash": content_hash, "device_id": a["device_id"],
                       "signature": sign(a["key"], visit_id, content_hash)}
                data, kind = multipart([("envelope", json.dumps(envelope).encode(), "application/json"), *files,
                                        ("attestation", json.dumps(own).encode(), "application/json")])
                status, body = tally.timed(client, "POST", "/api/v1/visits", data,
                                           {**auth_a, "Content-Type": kind, "Idempotency-Key": visit_id})
                if status not in (200, 201) or json.loads(body)["attestation"]["http_status"] not in (200, 201):
                    continue
                partners = ((b, auth_b),)
            else:
                status, body = tally.timed(client, "POST", "/api/v1/visits", json.dumps(envelope).encode(),
                                           {**auth_a, "Content-Type": "application/json", "Idempotency-Key": visit_id})
                if status not in (200, 201):
                    continue
                content_hash = json.loads(body)["content_hash"]
                partners = ((a, auth_a), (b, auth_b))
            final = None
            for phone, auth in partners:
                attestation = {"visit_id": visit_id, "content_hash": content_hash, "device_id": phone["device_id"],
                               "signature": sign(phone["key"], visit_id, content_hash)}
                status, body = tally.timed(client, "POST", "/api/v1/attestations", json.dumps(attestation).encode(),
                                           {**auth, "Content-Type": "application/json"})
                final = json.loads(body).get("status") if status in (200, 201) else None
            if final == "accepted":
                with tally.lock:
                    tally.done += 1

    ticks = cpu_ticks()
    elapsed = run_threads(max(1, PHONES // 2), pair_loop, seconds)
    return {**tally.summary(elapsed), "ran_out": ran_out[0], "busy": busy_share(ticks, cpu_ticks())}


def phase_puts(port: int, phones: list, photos: list[bytes], seconds: float) -> dict:
    tally = Tally()

    def loop(index: int, stop: float) -> None:
        phone = phones[index % len(phones)][index % 2]
        client = Client(port)
        auth = {"Authorization": f"Bearer {phone['token']}", "Content-Type": "image/jpeg"}
        n = 0
        while time.perf_counter() < stop:
            data = distinct(photos[n % len(photos)], f"put-{index}-{n}-{uuid.uuid4()}")
            n += 1
            status, _ = tally.timed(client, "PUT", f"/api/v1/attachments/{hashlib.sha256(data).hexdigest()}", data,
                                    auth)
            if status in (200, 201):
                with tally.lock:
                    tally.done += 1

    elapsed = run_threads(PHONES, loop, seconds)
    return tally.summary(elapsed)


def phase_bare(seconds: float, tmp: Path) -> dict:
    server = Gunicorn("bench.bare_app:app", {"BENCH_BARE_DB": str(tmp / "bare.sqlite3")})
    try:
        tally = Tally()

        def loop(index: int, stop: float) -> None:
            client = Client(server.port)
            while time.perf_counter() < stop:
                status, _ = tally.timed(client, "POST", "/insert", b'{"n": 1}', {"Content-Type": "application/json"})
                if status == 201:
                    with tally.lock:
                        tally.done += 1

        elapsed = run_threads(PHONES, loop, seconds)
        return tally.summary(elapsed)
    finally:
        server.stop()


def phase_odk_beside(odk: dict | None, photos: list[bytes]) -> dict | None:
    """ODK Central's records/s with the same 3 photos and as many client threads (``bench/odk.py``), or None."""
    if odk is None:
        return None
    from bench.odk import phase_odk

    ticks = cpu_ticks()
    result = {**phase_odk(odk["base_url"], odk["auth"], photos, PHONES, SECONDS), "busy": busy_share(ticks, cpu_ticks())}
    # ODK goes on working after its answers (a background job per record's audit rows, on the same cores and
    # the same PostgreSQL): let it finish before Ruhu's next phase is timed.
    time.sleep(float(os.environ.get("BENCH_ODK_SETTLE", "20")))
    return result


def warm_up(port: int) -> None:
    """One request per worker before timing: the app's first request (imports, catalogues) is not timed."""
    for _ in range(WORKERS * 2):
        Client(port).call("GET", "/api/v1/openapi.json")


def phase_pillow(photos: list[bytes], seconds: float) -> float:
    """Photos/s of one process decoding each photo in full and re-encoding it (quality 85)."""
    from PIL import Image

    done, stop = 0, time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < stop:
        with Image.open(io.BytesIO(photos[done % len(photos)])) as img:
            img.load()
            buffer = io.BytesIO()
            img.save(buffer, "JPEG", quality=85)
        done += 1
    return done / (time.perf_counter() - t0)


def run_database(label: str, db_url: str, photos: list[bytes], results: dict, odk: dict | None = None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"ruhu-bench-{label}-"))
    try:
        attachments = tmp / "attachments"
        if db_url.startswith("postgresql"):
            reset_postgres(db_url)
        t0 = time.perf_counter()
        phones = prepare(db_url, attachments, max(1, PHONES // 2))
        setup = time.perf_counter() - t0
        env = {"BENCH_DB_URL": db_url, "BENCH_ATTACHMENTS": str(attachments)}
        for _ in range(ROUNDS):
            bare = phase_bare(SECONDS, tmp)
            server = Gunicorn("bench.ruhu_app:app", env)
            try:
                warm_up(server.port)
                puts = phase_puts(server.port, phones, photos, SECONDS)
                odk_run = phase_odk_beside(odk, photos)   # ODK Central beside the project, in the same run
                visits = phase_visits(server.port, phones, photos, SECONDS)
                split = phase_visits(server.port, phones, photos, SECONDS, bundle=False)
                requests = phase_requests(server.port, phones, photos)
                pulls = phase_pulls(server.port, phones, min(SECONDS, 5))
                peak = server.worker_peak_mb()
            finally:
                server.stop()
            pillow = phase_pillow(photos, SECONDS)
            results.setdefault(label, []).append({"bare": bare, "puts": puts, "visits": visits, "split": split,
                                                  "pillow": pillow,
                                                  "peak_mb": peak, "setup_s": setup, "requests": requests,
                                                  "pulls": pulls, "odk": odk_run})
        if LARGE_CASES:
            loaded = bulk_load(db_url, LARGE_CASES, LARGE_VISITS)
            server = Gunicorn("bench.ruhu_app:app", env)
            try:
                warm_up(server.port)
                large = phase_visits(server.port, phones, photos, SECONDS)
                large_pulls = phase_pulls(server.port, phones, min(SECONDS, 5))
            finally:
                server.stop()
            results[label][-1]["large"] = {"visits": large, "load_s": loaded, "pulls": large_pulls}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _busy(phase: dict) -> str:
    share = phase.get("busy")
    return f"  CPU busy {share:.0%}" if share is not None else ""


def report(results: dict) -> None:
    for label, rounds in results.items():
        def med(fn, rounds=rounds):
            return statistics.median(fn(r) for r in rounds)

        visits = med(lambda r: r["visits"]["done_per_s"])
        bare = med(lambda r: r["bare"]["requests_per_s"])
        puts = med(lambda r: r["puts"]["done_per_s"])
        pillow = med(lambda r: r["pillow"])
        v = rounds[-1]["visits"]
        print(f"[{label}] {PHONES} phones, {WORKERS} gunicorn sync workers, {SECONDS:g} s per phase, "
              f"{len(rounds)} round(s), medians")
        split = med(lambda r: r["split"]["done_per_s"])
        sv = rounds[-1]["split"]
        print(f"  complete visits/s (3 photos, visit, 2 attestations, accepted), as the phone app sends them (pull, "
              f"one request with the photos and its attestation, the partner's attestation): {visits:.1f}  "
              f"requests/s {v['requests_per_s']:.0f}  p50/p95/p99 {v['p50']:.0f}/{v['p95']:.0f}/{v['p99']:.0f} ms  "
              f"errors {v['errors']} of {v['requests']}{_busy(v)}")
        print(f"  complete visits/s, each photo and attestation its own request: {split:.1f}  "
              f"requests/s {sv['requests_per_s']:.0f}  p50/p95 {sv['p50']:.0f}/{sv['p95']:.0f} ms  "
              f"errors {sv['errors']} of {sv['requests']}")
        if any(r["visits"]["ran_out"] or r["split"]["ran_out"] or r.get("large", {}).get("visits", {}).get("ran_out")
               for r in rounds):
            print("  WARNING: pairs of phones ran out of assignments before the phase ended; the figure is too "
                  "low: raise BENCH_CASES_PER_PAIR")
        print(f"  bare insert endpoint: {bare:.0f} req/s  -> a complete visit = {visits / bare:.4f} of a bare insert "
              f"({bare / visits if visits else float('inf'):.0f} inserts)")
        odk_runs = [r["odk"] for r in rounds if r.get("odk")]
        if odk_runs:
            odk = statistics.median(o["done_per_s"] for o in odk_runs)
            o = odk_runs[-1]
            print(f"  ODK Central beside it, same photos, {PHONES} threads, one multipart POST per record: {odk:.1f} "
                  f"records/s (p50/p95 {o['p50']:.0f}/{o['p95']:.0f} ms, errors {o['errors']}{_busy(o)}) -> Ruhu "
                  f"{visits / odk if odk else 0:.2f}x of ODK")
        q = rounds[-1]["requests"]
        for name, key in (("visit POST alone", "posts"), ("attestation alone", "attests")):
            r = q[key]
            print(f"  {name}: {r['done_per_s']:.0f}/s -> {r['done_per_s'] / bare:.2f} of a bare insert  "
                  f"(p50/p95 {r['p50']:.0f}/{r['p95']:.0f} ms, errors {r['errors']} of {r['requests']})")
        if q["short"]:
            print("  WARNING: pairs ran out of assignments in the POST phase: raise BENCH_CASES_PER_PAIR")
        pl = rounds[-1]["pulls"]
        print(f"  incremental pull, nothing changed: {pl['done_per_s']:.0f}/s, p50/p95 {pl['p50']:.1f}/"
              f"{pl['p95']:.1f} ms, errors {pl['errors']}")
        p = rounds[-1]["puts"]
        print(f"  attachment PUT: {puts:.1f}/s vs Pillow decode+re-encode in one process {pillow:.1f}/s "
              f"-> {puts / pillow:.2f}x  (p50/p95 {p['p50']:.0f}/{p['p95']:.0f} ms, errors {p['errors']} of "
              f"{p['requests']})")
        print(f"  peak gunicorn worker RSS {max(r['peak_mb'] for r in rounds):.0f} MB; "
              f"set-up {rounds[0]['setup_s']:.0f} s")
        large = rounds[-1].get("large")
        if large:
            lv = large["visits"]
            print(f"  with {LARGE_CASES:,} other cases and {LARGE_VISITS:,} stored visits (bulk-loaded in "
                  f"{large['load_s']:.0f} s): {lv['done_per_s']:.1f} complete visits/s -> large/small "
                  f"{lv['done_per_s'] / visits if visits else 0:.2f}x; p50/p95 {lv['p50']:.0f}/{lv['p95']:.0f} ms, "
                  f"errors {lv['errors']}")
            lp = large["pulls"]
            print(f"  incremental pull, large database: {lp['done_per_s']:.0f}/s, p50 {lp['p50']:.1f} ms -> "
                  f"large/small p50 {lp['p50'] / pl['p50'] if pl['p50'] else 0:.2f}x, throughput "
                  f"{lp['done_per_s'] / pl['done_per_s'] if pl['done_per_s'] else 0:.2f}x")


def main() -> dict:
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        print("sync load: gunicorn is not installed (pip install gunicorn); skipped")
        return {}
    photos = base_photos()
    print(f"sync load: photos of {', '.join(f'{len(p) // 1024} KB' for p in photos)}")
    results: dict = {}
    odk = None
    from bench.odk import odk_prepare, odk_settings

    settings = odk_settings()
    if settings is None:
        print("sync load: ODK Central not compared (set BENCH_ODK_URL; see bench/ODK.md)")
    else:
        try:
            odk = odk_prepare(settings)
        except Exception as exc:  # not there or not set up: say so and measure Ruhu alone
            print(f"sync load: ODK Central at {settings['url']} not measured ({type(exc).__name__}: {exc})")
    tmp_sqlite = Path(tempfile.mkdtemp(prefix="ruhu-bench-sqlite-db-"))
    try:
        run_database("SQLite", f"sqlite:///{tmp_sqlite / 'ruhu.sqlite3'}", photos, results, odk)
    finally:
        shutil.rmtree(tmp_sqlite, ignore_errors=True)
    if PG_URL:
        try:
            run_database("PostgreSQL", PG_URL, photos, results, odk)
        except Exception as exc:  # no server: say so and keep the SQLite figures
            print(f"sync load: PostgreSQL at {PG_URL} not measured ({type(exc).__name__}: {exc})")
    report(results)
    return results


if __name__ == "__main__":
    main()
