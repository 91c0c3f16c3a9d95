"""ODK Central beside Ruhu: how many complete records per second a real ODK Central backend takes from phones
sending a household visit with three photos, on the same machine and the same photos as Ruhu's sync benchmark.

What is measured (``phase_odk``): ``threads`` client threads, each with one keep-alive HTTP connection, for
``seconds``; each thread repeatedly sends ONE record the way ODK Collect does, a single ``multipart/form-data``
POST to the OpenRosa submission endpoint (``/v1/key/<app user token>/projects/<id>/submission`` with
``X-OpenRosa-Version: 1.0``) holding the submission XML (part ``xml_submission_file``) and the three photos
(``house_outside``, ``house_inside``, ``fingerprint``, one part each, named by their file name).  Every record has
a fresh ``uuid:`` instanceID and every photo gets a JPEG comment segment with a unique tag after SOI, so each
upload is a new submission with three blobs of their own SHA-256 (nothing is deduplicated by the server).  A
record counts as done when the server answers 201.  Collect's HEAD preflight is not sent (it is cached per
server by Collect and carries no data).  Latencies are per POST, in ms.

ODK Central keeps the blobs in PostgreSQL (``blobs.content``, bytea) unless an S3 store is configured, and commits
each submission in one transaction, so every 201 has gone through PostgreSQL's commit (fsync unless the server
runs with ``synchronous_commit=off``).

Set-up (``odk_prepare``) needs only an administrator account on a fresh ODK Central: it logs in, creates or
reuses the project, uploads and publishes the form below if missing, creates an app user and gives it the form.

Settings (environment): ``BENCH_ODK_URL`` (e.g. ``http://127.0.0.1:8383``; unset: ODK is skipped),
``BENCH_ODK_EMAIL`` / ``BENCH_ODK_PASSWORD`` (the administrator), ``BENCH_ODK_PROJECT`` (``Ruhu bench``).
Run alone with ``python -m bench.odk`` (also ``BENCH_PHONES`` threads, 16; ``BENCH_SECONDS``, 10;
``BENCH_ODK_ROUNDS``, 2).  How to install and start ODK Central for it: ``bench/ODK.md``.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape

FORM_ID = "ruhu_bench_visit"
FORM_VERSION = "1"
PHOTO_FIELDS = ("house_outside", "house_inside", "fingerprint")

FORM_XML = f"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
        xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"
        xmlns:odk="http://www.opendatakit.org/xforms">
  <h:head>
    <h:title>Ruhu bench household visit</h:title>
    <model odk:xforms-version="1.0.0">
      <instance>
        <data id="{FORM_ID}" version="{FORM_VERSION}">
          <household_id/>
          <visitor/>
          <members/>
          <children_under5/>
          <notes/>
          <house_outside/>
          <house_inside/>
          <fingerprint/>
          <meta>
            <instanceID/>
          </meta>
        </data>
      </instance>
      <bind nodeset="/data/household_id" type="string" required="true()"/>
      <bind nodeset="/data/visitor" type="string"/>
      <bind nodeset="/data/members" type="int"/>
      <bind nodeset="/data/children_under5" type="int"/>
      <bind nodeset="/data/notes" type="string"/>
      <bind nodeset="/data/house_outside" type="binary"/>
      <bind nodeset="/data/house_inside" type="binary"/>
      <bind nodeset="/data/fingerprint" type="binary"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/household_id"><label>Household</label></input>
    <input ref="/data/visitor"><label>Visitor</label></input>
    <input ref="/data/members"><label>Members</label></input>
    <input ref="/data/children_under5"><label>Children under 5</label></input>
    <input ref="/data/notes"><label>Notes</label></input>
    <upload ref="/data/house_outside" mediatype="image/*"><label>House, outside</label></upload>
    <upload ref="/data/house_inside" mediatype="image/*"><label>House, inside</label></upload>
    <upload ref="/data/fingerprint" mediatype="image/*"><label>Fingerprint</label></upload>
  </h:body>
</h:html>
""".encode()


# --- records -----------------------------------------------------------------------------------------

def tagged(photo: bytes, tag: str) -> bytes:
    """The same JPEG with a comment segment (COM, 0xFFFE) after SOI: still valid, with its own SHA-256."""
    text = tag.encode()
    return photo[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + photo[2:]


def record_body(photos: list[bytes], serial: int) -> tuple[bytes, str]:
    """One submission as ODK Collect sends it: (multipart body, content type), with a new instanceID."""
    instance = f"uuid:{uuid.uuid4()}"
    names = [f"{field}-{instance[5:]}.jpg" for field in PHOTO_FIELDS]
    xml = (
        f'<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" '
        f'id="{FORM_ID}" version="{FORM_VERSION}">'
        f"<household_id>HH-{serial:07d}</household_id><visitor>bench</visitor>"
        f"<members>{serial % 9 + 1}</members><children_under5>{serial % 3}</children_under5>"
        f"<notes>{escape('visit ' + str(serial))}</notes>"
        + "".join(f"<{field}>{name}</{field}>" for field, name in zip(PHOTO_FIELDS, names, strict=True))
        + f"<meta><instanceID>{instance}</instanceID></meta></data>"
    ).encode()
    boundary = f"----ruhu-bench-{uuid.uuid4().hex}"
    parts = [(b'Content-Disposition: form-data; name="xml_submission_file"; filename="submission.xml"\r\n'
              b"Content-Type: text/xml\r\n\r\n", xml)]
    for n, name in enumerate(names):
        photo = photos[n % len(photos)]
        head = (f'Content-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n").encode()
        parts.append((head, tagged(photo, f"ruhu-bench {instance} {name}")))
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + head + data + b"\r\n" for head, data in parts)
    return body + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


def submission_target(auth: dict) -> tuple[str, dict]:
    """(path, extra headers) of the OpenRosa submission endpoint for an app user token or basic auth."""
    project = auth["project_id"]
    if auth.get("token"):
        return f"/v1/key/{auth['token']}/projects/{project}/submission", {}
    basic = base64.b64encode(f"{auth['email']}:{auth['password']}".encode()).decode()
    return f"/v1/projects/{project}/submission", {"Authorization": f"Basic {basic}"}


def _connection(base_url: str) -> http.client.HTTPConnection:
    url = urllib.parse.urlsplit(base_url)
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    return cls(url.hostname, url.port, timeout=120)


def record_request(photos: list[bytes], serial: int, extra: dict) -> tuple[bytes, dict]:
    """(body, headers) of one record's POST, with the headers ODK Collect sends."""
    body, content_type = record_body(photos, serial)
    headers = {"Content-Type": content_type, "X-OpenRosa-Version": "1.0",
               "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()), **extra}
    return body, headers


def send_record(conn: http.client.HTTPConnection, base_url: str, path: str, body: bytes,
                headers: dict) -> tuple[int, http.client.HTTPConnection]:
    """POST one record; (status, connection to use next).  A broken connection is status 599 and replaced."""
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, conn
    except (http.client.HTTPException, OSError):
        conn.close()
        return 599, _connection(base_url)


# --- the load ----------------------------------------------------------------------------------------

def phase_odk(base_url: str, auth: dict, photos: list[bytes], threads: int, seconds: float) -> dict:
    """``threads`` phones sending one complete record (XML and 3 photos in one POST) after another for
    ``seconds``; records answered 201 are done.  Returns done_per_s (records/s), requests_per_s, p50/p95/p99
    latency in ms, errors (any other answer or a broken connection), requests and done."""
    from bench.sync_load import Tally, run_threads

    path, extra = submission_target(auth)
    tally = Tally()
    serials = iter(range(10**12))

    def loop(index: int, stop: float) -> None:
        conn = _connection(base_url)
        while time.perf_counter() < stop:
            with tally.lock:
                serial = next(serials)
            body, headers = record_request(photos, serial, extra)
            t0 = time.perf_counter()
            status, conn = send_record(conn, base_url, path, body, headers)
            elapsed = time.perf_counter() - t0
            with tally.lock:
                tally.latencies.append(elapsed)
                if status == 201:
                    tally.done += 1
                else:
                    tally.errors += 1
        conn.close()

    return tally.summary(run_threads(threads, loop, seconds))


# --- set-up ------------------------------------------------------------------------------------------

def odk_settings() -> dict | None:
    """The ODK Central to compare with, from the environment; None when ``BENCH_ODK_URL`` is unset."""
    url = os.environ.get("BENCH_ODK_URL", "").strip()
    if not url:
        return None
    return {"url": url.rstrip("/"),
            "email": os.environ.get("BENCH_ODK_EMAIL", "admin@bench.local"),
            "password": os.environ.get("BENCH_ODK_PASSWORD", ""),
            "project": os.environ.get("BENCH_ODK_PROJECT", "Ruhu bench")}


class _Api:
    """Central's REST API with a session token (JSON in and out)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.token: str | None = None

    def call(self, method: str, path: str, payload=None, raw: bytes | None = None, content_type: str = "",
             ok: tuple[int, ...] = (200,)):
        conn = _connection(self.base_url)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = raw
        if payload is not None:
            body, content_type = json.dumps(payload).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status not in ok:
            raise RuntimeError(f"ODK {method} {path}: {response.status} {data[:300]!r}")
        return response.status, (json.loads(data) if data else None)


def odk_prepare(settings: dict) -> dict:
    """Log in as the administrator, create (or reuse) the project, upload and publish the form if missing,
    create a fresh app user allowed to submit to it, send one record to check, and return
    ``{"base_url", "auth", "project_id", "form_id"}``: ``phase_odk(prep["base_url"], prep["auth"], ...)``."""
    api = _Api(settings["url"])
    _, session = api.call("POST", "/v1/sessions", {"email": settings["email"], "password": settings["password"]})
    api.token = session["token"]
    _, projects = api.call("GET", "/v1/projects")
    project = next((p for p in projects if p["name"] == settings["project"]), None)
    if project is None:
        _, project = api.call("POST", "/v1/projects", {"name": settings["project"]})
    pid = project["id"]
    status, form = api.call("GET", f"/v1/projects/{pid}/forms/{FORM_ID}", ok=(200, 404))
    if status == 404:
        api.call("POST", f"/v1/projects/{pid}/forms?publish=true", raw=FORM_XML, content_type="application/xml")
    elif not form.get("publishedAt"):
        api.call("POST", f"/v1/projects/{pid}/forms/{FORM_ID}/draft/publish")
    _, app_user = api.call("POST", f"/v1/projects/{pid}/app-users",
                           {"displayName": f"ruhu-bench-{uuid.uuid4().hex[:8]}"})
    api.call("POST", f"/v1/projects/{pid}/forms/{FORM_ID}/assignments/app-user/{app_user['id']}")
    api.call("DELETE", "/v1/sessions/current", ok=(200, 204))
    auth = {"project_id": pid, "token": app_user["token"]}
    path, extra = submission_target(auth)
    conn = _connection(settings["url"])
    status, conn = send_record(conn, settings["url"], path, *record_request([b"\xff\xd8\xff\xd9"], 0, extra))
    conn.close()
    if status != 201:
        raise RuntimeError(f"ODK answered {status} to the check submission")
    return {"base_url": settings["url"], "auth": auth, "project_id": pid, "form_id": FORM_ID}


def submission_count(settings: dict, project_id: int) -> int:
    """Submissions ODK Central holds for the bench form (extended form metadata)."""
    api = _Api(settings["url"])
    _, session = api.call("POST", "/v1/sessions", {"email": settings["email"], "password": settings["password"]})
    api.token = session["token"]
    conn = _connection(settings["url"])
    try:
        conn.request("GET", f"/v1/projects/{project_id}/forms/{FORM_ID}",
                     headers={"Authorization": f"Bearer {api.token}", "X-Extended-Metadata": "true"})
        form = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    api.call("DELETE", "/v1/sessions/current", ok=(200, 204))
    return int(form["submissions"])


def main() -> list[dict]:
    settings = odk_settings()
    if settings is None:
        raise SystemExit("set BENCH_ODK_URL (and BENCH_ODK_EMAIL / BENCH_ODK_PASSWORD); see bench/ODK.md")
    from bench.sync_load import base_photos

    threads = int(os.environ.get("BENCH_PHONES", "16"))
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    rounds = int(os.environ.get("BENCH_ODK_ROUNDS", "2"))
    photos = base_photos(3)
    prep = odk_prepare(settings)
    print(f"ODK Central {settings['url']}, project {prep['project_id']}, photos "
          f"{', '.join(f'{len(p) // 1024} KB' for p in photos)}, {threads} threads, {seconds:g} s per round")
    phase_odk(prep["base_url"], prep["auth"], photos, threads, 2.0)  # warm-up, not reported
    before = submission_count(settings, prep["project_id"])
    results = []
    for n in range(rounds):
        r = phase_odk(prep["base_url"], prep["auth"], photos, threads, seconds)
        results.append(r)
        print(f"round {n + 1}: {r['done_per_s']:.1f} records/s ({r['done']} done, {r['errors']} errors, "
              f"{r['requests_per_s']:.1f} requests/s), p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
              f"p99 {r['p99']:.0f} ms; load {os.getloadavg()[0]:.2f}")
    stored = submission_count(settings, prep["project_id"]) - before
    print(f"stored by ODK during the rounds: {stored} submissions (counted done: {sum(r['done'] for r in results)})")
    return results


if __name__ == "__main__":
    main()
