"""How the server serves the phone app at /app/: only the shell and whitelisted library files, the service
worker with a content version that changes with any shipped byte, icons drawn at the right sizes."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

PWA = Path(__file__).resolve().parents[2] / "pwa"


@pytest.fixture
def web(app):
    from server.pwa import bp

    if "pwa" not in app.blueprints:
        app.register_blueprint(bp)
    return app.test_client()


@pytest.mark.parametrize("path, status, mime", [
    ("/app/", 200, "text/html"),
    ("/app/app.js", 200, "text/javascript"),
    ("/app/forms/renderer.js", 200, "text/javascript"),
    ("/app/ui/i18n.js", 200, "text/javascript"),
    ("/app/app.css", 200, "text/css"),
    ("/app/manifest.webmanifest", 200, "application/manifest+json"),
    ("/app/forms/household_survey.json", 200, "application/json"),
    ("/app/icons/icon.svg", 200, "image/svg+xml"),
    ("/app/vendor/idb/build/index.js", 200, "text/javascript"),
    ("/app/vendor/jsqr/dist/jsQR.js", 200, "text/javascript"),
    ("/app/package.json", 404, None),
    ("/app/package-lock.json", 404, None),
    ("/app/tools/icons.py", 404, None),
    ("/app/node_modules/idb/build/index.js", 404, None),
    ("/app/vendor/idb/package.json", 404, None),
    ("/app/vendor/../package.json", 404, None),
    ("/app/%2e%2e/server/app.py", 404, None),
    ("/app/.gitignore", 404, None),
    ("/app/icons/icon-100.png", 404, None),
])
def test_only_the_shell_is_served(web, path, status, mime):
    r = web.get(path)
    assert r.status_code == status
    if mime:
        assert r.mimetype == mime
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_service_worker_carries_version_and_precache_list(web):
    r = web.get("/app/service-worker.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript" and r.headers["Cache-Control"] == "no-cache"
    text = r.get_data(as_text=True)
    assert "__RUHU_" not in text
    version = re.search(r'const VERSION = "([0-9a-f]{16})"', text).group(1)
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", text).group(1))
    assert version == web.get("/app/version.json").json["version"]
    assert "./" in precache and "app.js" in precache and "vendor/signature_pad/dist/signature_pad.min.js" in precache
    assert "service-worker.js" not in precache and not any(p.startswith(("tools", "node_modules")) for p in precache)
    for path in precache:   # everything the worker precaches is there (else install fails on the phone)
        assert web.get("/app/" + path.removeprefix("./")).status_code == 200, path


def test_the_version_follows_the_content(app, web, tmp_path):
    copy = tmp_path / "pwa"
    shutil.copytree(PWA, copy, symlinks=True)
    app.config["RUHU_PWA_DIR"] = str(copy)
    before = web.get("/app/version.json").json["version"]
    assert web.get("/app/version.json").json["version"] == before            # stable while nothing changes
    (copy / "app.css").write_text((copy / "app.css").read_text() + "\n/* deploy */\n")
    after = web.get("/app/version.json").json["version"]
    assert after != before
    assert f'"{after}"' in web.get("/app/service-worker.js").get_data(as_text=True)
    assert "deploy" in web.get("/app/app.css").get_data(as_text=True)


def test_icons_and_manifest(web):
    manifest = web.get("/app/manifest.webmanifest").json
    assert manifest["display"] == "standalone" and manifest["start_url"] and manifest["lang"].startswith("zh")
    sizes = {i["sizes"] for i in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for size in (192, 512):
        r = web.get(f"/app/icons/icon-{size}.png")
        assert r.status_code == 200
        with Image.open(io.BytesIO(r.data)) as img:
            assert img.size == (size, size) and img.format == "PNG"


def test_conditional_requests(web):
    r = web.get("/app/app.js")
    again = web.get("/app/app.js", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert web.get("/app").status_code in (301, 308)


# --- compression and caching ------------------------------------------------------------------------

@pytest.mark.parametrize("accept, encoding", [("br, gzip", "br"), ("gzip, deflate", "gzip"), ("", None),
                                              ("br;q=0, gzip", "gzip"), ("identity", None)])
def test_text_files_are_sent_compressed_as_the_phone_accepts(web, accept, encoding):
    import gzip

    import brotli

    original = (PWA / "node_modules" / "jsqr" / "dist" / "jsQR.js").read_bytes()
    r = web.get("/app/vendor/jsqr/dist/jsQR.js", headers={"Accept-Encoding": accept})
    assert r.status_code == 200 and "Accept-Encoding" in r.headers["Vary"]
    assert r.headers.get("Content-Encoding") == encoding
    body = r.get_data()
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}[encoding](body)
    assert decoded == original
    if encoding:
        assert len(body) < len(original) / 3
    again = web.get("/app/vendor/jsqr/dist/jsQR.js", headers={"Accept-Encoding": accept,
                                                                "If-None-Match": r.headers["ETag"].strip('"')})
    assert again.status_code == 304


def test_each_encoding_has_its_own_etag_and_png_is_never_recompressed(web):
    tags = {web.get("/app/app.js", headers={"Accept-Encoding": a}).headers["ETag"] for a in ("br", "gzip", "")}
    assert len(tags) == 3
    icon = web.get("/app/icons/icon-192.png", headers={"Accept-Encoding": "br, gzip"})
    assert icon.status_code == 200 and "Content-Encoding" not in icon.headers


def test_compressed_copies_are_kept_outside_git_and_reused(app, web, monkeypatch):
    from server import pwa

    pwa._MEMORY.clear()
    target = Path(app.instance_path) / "pwa-compressed"
    data = (PWA / "app.css").read_bytes()
    digest = __import__("hashlib").sha256(data).hexdigest()
    assert web.get("/app/app.css", headers={"Accept-Encoding": "br"}).status_code == 200
    assert (target / f"{digest}.br").is_file()
    pwa._MEMORY.clear()
    monkeypatch.setattr(pwa, "_compress", lambda *a: pytest.fail("compressed twice"))
    assert web.get("/app/app.css", headers={"Accept-Encoding": "br"}).headers["Content-Encoding"] == "br"


def test_a_versioned_url_is_cached_for_good(web):
    files = web.get("/app/version.json").json["files"]
    version = files["vendor/idb/build/index.js"]
    r = web.get(f"/app/vendor/idb/build/index.js?v={version}")
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert web.get("/app/vendor/idb/build/index.js?v=0000000000000000").headers["Cache-Control"] == "no-cache"
    assert web.get("/app/vendor/idb/build/index.js").headers["Cache-Control"] == "no-cache"
    assert set(files) == set(web.get("/app/version.json").json["precache"])


def test_a_cold_load_transfers_at_most_150_kb(web):
    """Everything a phone downloads on first opening the app (the shell and every precached file, each
    once, brotli where it applies) — the service worker revalidates what the page already has."""
    precache = web.get("/app/version.json").json["precache"]
    total = 0
    for entry in [*precache, "service-worker.js"]:
        r = web.get("/app/" + ("" if entry == "./" else entry), headers={"Accept-Encoding": "br, gzip"})
        assert r.status_code == 200, entry
        total += len(r.get_data())
    assert total <= 150 * 1024, total
