"""Serving the investigators' phone app (the PWA in pwa/) at /app/.

- ``/app/`` is the shell (``index.html``); the app routes in the URL fragment, so this is its only page.
- ``/app/service-worker.js`` is served from ``/app/``, so its scope is ``/app/``. The server injects the
  **content version** (a hash of every precached file) and the precache list, so any change to a shell
  file, a vendored library or the icon drawing changes the service worker's bytes: phones install the
  new version and delete the old cache.
- Shell files (``*.html``, ``*.js``, ``*.css``, the manifest, ``icons/*.svg``, ``forms/*.json``) are
  served from the PWA directory; nothing else there is (no ``tools/``, no ``package.json``).
- ``/app/vendor/<package>/<path>`` serves a fixed whitelist of browser builds from
  ``pwa/node_modules`` (installed by ``npm ci --prefix pwa``).
- ``/app/icons/icon-<192|512>.png`` are drawn by ``pwa/tools/icons.py`` (Pillow) on first request.

The directory is the app config ``RUHU_PWA_DIR`` (default: ``<repo>/pwa``).

Every text file (JS, CSS, HTML, JSON, SVG, the manifest) is sent compressed when the phone accepts it:
brotli (quality 11) first, else gzip (level 9).  Each file is compressed once per content — on first
request — into ``<instance>/pwa-compressed/`` (outside git), keyed by
the SHA-256 of the bytes, and kept in memory.  A request carrying ``?v=<version>`` where the version is
the file's own content hash (as ``/app/version.json`` lists them) gets ``immutable`` caching for a year.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import mimetypes
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, request

bp = Blueprint("pwa", __name__)

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "pwa"

SHELL_SUFFIXES = {".html", ".js", ".css", ".webmanifest"}
SHELL_DIRS = ("", "ui", "forms")  # forms/ holds renderer.js and validate.js (and the JSON definitions)
SERVED_EXTRA = {"forms": {".json"}, "icons": {".svg"}}
NOT_PRECACHED = {"service-worker.js"}
ICON_SIZES = (192, 512)

# The browser builds the app imports, as /app/vendor/<package>/<path inside the package>.
VENDOR_FILES = (
    "idb/build/index.js",
    "signature_pad/dist/signature_pad.min.js",
    "qrcode-generator/dist/qrcode.mjs",
    "jsqr/dist/jsQR.js",
)

TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
         ".webmanifest": "application/manifest+json", ".json": "application/json", ".svg": "image/svg+xml",
         ".png": "image/png"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
       "media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def pwa_dir() -> Path:
    return Path(current_app.config.get("RUHU_PWA_DIR") or DEFAULT_DIR)


def _shell_files(root: Path) -> list[str]:
    """Shell files, relative to the PWA directory, sorted."""
    out = []
    for sub in SHELL_DIRS:
        folder = root / sub if sub else root
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.is_file() and path.suffix in SHELL_SUFFIXES:
                out.append(path.relative_to(root).as_posix())
    return sorted(out)


def _served(root: Path, rel: str) -> Path | None:
    """The file for /app/<rel>, or None when it is not one the app may serve."""
    parts = rel.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts) or len(parts) > 2:
        return None
    suffix = Path(rel).suffix
    folder = parts[0] if len(parts) == 2 else ""
    if not ((folder in SHELL_DIRS and suffix in SHELL_SUFFIXES) or suffix in SERVED_EXTRA.get(folder, set())):
        return None
    path = root / rel
    return path if path.is_file() else None


def _icons_module(root: Path):
    path = root / "tools" / "icons.py"
    if not path.is_file():
        path = DEFAULT_DIR / "tools" / "icons.py"
    return _load_icons(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load_icons(path: str, mtime: int):  # noqa: ARG001 (the mtime is the cache key)
    spec = importlib.util.spec_from_file_location("ruhu_pwa_icons", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=8)
def _icon_png(path: str, mtime: int, size: int) -> bytes:
    return _load_icons(path, mtime).render(size)


def precache_list(root: Path) -> list[str]:
    """What the service worker stores, relative to /app/: the shell page, shell files, vendored
    libraries and icons."""
    files = ["./"] + [f for f in _shell_files(root) if f not in NOT_PRECACHED and f != "index.html"]
    files += [f"vendor/{v}" for v in VENDOR_FILES if (root / "node_modules" / v).is_file()]
    files += [f"icons/icon-{s}.png" for s in ICON_SIZES]
    files += [f"icons/{p.name}" for p in sorted((root / "icons").glob("*.svg"))]
    return files


def content_version(root: Path) -> str:
    """A hash of every byte the phone caches, plus the service worker itself and the icon drawing."""
    digest = hashlib.sha256()
    names = _shell_files(root) + [f"node_modules/{v}" for v in VENDOR_FILES] + ["tools/icons.py"]
    names += [f"icons/{p.name}" for p in (root / "icons").glob("*.svg")]
    for name in sorted(set(names)):
        path = root / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


COMPRESSIBLE = {".js", ".mjs", ".css", ".html", ".webmanifest", ".json", ".svg"}
IMMUTABLE = "public, max-age=31536000, immutable"
_MEMORY: dict[tuple[str, str], bytes] = {}
_MEMORY_LOCK = threading.Lock()
_MEMORY_MAX = 256  # entries: every shipped file in both encodings, with room for a deploy's new versions


def file_version(data: bytes) -> str:
    """A file's own version: the start of the SHA-256 of its bytes (for ``?v=``)."""
    return hashlib.sha256(data).hexdigest()[:16]


def _compress(data: bytes, encoding: str) -> bytes:
    if encoding == "br":
        import brotli

        return brotli.compress(data, quality=11)
    return gzip.compress(data, compresslevel=9, mtime=0)


def compressed(data: bytes, encoding: str, cache_dir: Path | None) -> bytes:
    """``data`` compressed with ``encoding`` ("br" or "gzip"): from memory, else the cache directory, else
    made now and kept in both."""
    digest = hashlib.sha256(data).hexdigest()
    key = (digest, encoding)
    with _MEMORY_LOCK:
        hit = _MEMORY.get(key)
    if hit is not None:
        return hit
    path = cache_dir / f"{digest}.{encoding}" if cache_dir is not None else None
    body = None
    if path is not None and path.is_file():
        body = path.read_bytes()
    if body is None:
        body = _compress(data, encoding)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as handle:
                    handle.write(body)
                os.replace(tmp, path)
            except OSError:
                current_app.logger.warning("pwa: cannot write the compressed copy %s", path)
    with _MEMORY_LOCK:
        if len(_MEMORY) >= _MEMORY_MAX:
            _MEMORY.clear()
        _MEMORY[key] = body
    return body


def cache_dir() -> Path:
    return Path(current_app.instance_path) / "pwa-compressed"


def _encoding_for(suffix: str) -> str | None:
    if suffix not in COMPRESSIBLE:
        return None
    accepted = request.accept_encodings
    if accepted["br"] > 0:
        try:
            import brotli  # noqa: F401
        except ImportError:  # not installed: gzip still serves the phone
            pass
        else:
            return "br"
    return "gzip" if accepted["gzip"] > 0 else None


def _respond(data: bytes, suffix: str, *, cache: str = "no-cache") -> Response:
    version = request.args.get("v")
    if version and version == file_version(data):
        cache = IMMUTABLE  # the URL names these exact bytes
    encoding = _encoding_for(suffix)
    body = compressed(data, encoding, cache_dir()) if encoding else data
    response = Response(body, mimetype=TYPES.get(suffix) or mimetypes.guess_type("x" + suffix)[0]
                        or "application/octet-stream")
    if suffix in (".js", ".css", ".html", ".webmanifest", ".json"):
        response.charset = "utf-8"
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if suffix in COMPRESSIBLE:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.add_etag()  # of the bytes sent: each encoding has its own
    return response.make_conditional(request)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Permissions-Policy"] = "camera=(self), geolocation=(self), microphone=()"
    return response


@bp.get("/app")
def app_redirect():
    return redirect("/app/", code=301)


@bp.get("/app/")
def shell():
    path = pwa_dir() / "index.html"
    if not path.is_file():
        abort(404)
    return _respond(path.read_bytes(), ".html")


@bp.get("/app/service-worker.js")
def service_worker():
    root = pwa_dir()
    path = root / "service-worker.js"
    if not path.is_file():
        abort(404)
    text = path.read_text(encoding="utf-8")
    text = text.replace("__RUHU_VERSION__", content_version(root))
    text = text.replace("__RUHU_PRECACHE__", json.dumps(precache_list(root)))
    # no-cache: the browser revalidates on every update check, so a deploy reaches phones at once.
    return _respond(text.encode("utf-8"), ".js")


@bp.get("/app/version.json")
def version():
    root = pwa_dir()
    files = {}
    for entry in precache_list(root):
        rel = "index.html" if entry == "./" else entry
        if rel.startswith("icons/icon-") and rel.endswith(".png"):
            module = _icons_module(root)
            icon_path = Path(module.__file__)
            files[entry] = file_version(_icon_png(str(icon_path), icon_path.stat().st_mtime_ns,
                                                  int(rel[len("icons/icon-"):-4])))
            continue
        path = root / "node_modules" / rel[len("vendor/"):] if rel.startswith("vendor/") else _served(root, rel)
        if path is not None and path.is_file():
            files[entry] = file_version(path.read_bytes())
    return {"version": content_version(root), "precache": precache_list(root), "files": files}


@bp.get("/app/icons/icon-<int:size>.png")
def icon(size: int):
    if size not in ICON_SIZES:
        abort(404)
    module = _icons_module(pwa_dir())
    path = Path(module.__file__)
    return _respond(_icon_png(str(path), path.stat().st_mtime_ns, size), ".png")


@bp.get("/app/vendor/<path:rel>")
def vendor(rel: str):
    if rel not in VENDOR_FILES:
        abort(404)
    path = pwa_dir() / "node_modules" / rel
    if not path.is_file():
        current_app.logger.warning("pwa: %s is missing: run `npm ci --prefix pwa`", path)
        abort(404)
    return _respond(path.read_bytes(), Path(rel).suffix)


@bp.get("/app/<path:rel>")
def shell_file(rel: str):
    path = _served(pwa_dir(), rel)
    if path is None:
        abort(404)
    return _respond(path.read_bytes(), path.suffix)
