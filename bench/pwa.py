"""Budgets of the field app (pwa/), printed as ratios — never pass/fail.

- shell size: every HTML/JS/CSS file the service worker precaches, gzip -9, against the 150 KB budget;
- photo downscale of a 12-megapixel JPEG on the phone (pwa/photo.js in Chromium), with the CPU slowed
  4x (CDP Emulation.setCPUThrottlingRate), against the same without throttling;
- opening the app offline (service worker, 4x throttled) until the shell is interactive, against online;
- Lighthouse (bench/lighthouse/, mobile defaults: simulated slow 4G, 4x CPU) on the served /app/: the
  performance, accessibility and best-practices scores, FCP, LCP, TBT, CLS, and the bytes transferred
  against the same 150 KB budget.

Run: ``python -m bench.pwa`` (needs Debian's chromium, ``npm ci --prefix pwa`` and, for Lighthouse,
``npm ci --prefix bench/lighthouse``; ``make bench`` runs both).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PWA = ROOT / "pwa"
BUDGET = 150 * 1024
SHELL_SUFFIXES = (".html", ".js", ".mjs", ".css", ".webmanifest")


def shell_size() -> tuple[int, int, int]:
    """(own gzip bytes, vendored gzip bytes, jsQR's share of the vendored bytes)."""
    from server.pwa import precache_list

    own = vendor = jsqr = 0
    for rel in precache_list(PWA):
        path = PWA / ("index.html" if rel == "./" else rel)
        if rel.startswith("vendor/"):
            path = PWA / "node_modules" / rel.removeprefix("vendor/")
        if path.suffix not in SHELL_SUFFIXES:
            continue
        size = len(gzip.compress(path.read_bytes(), 9))
        if rel.startswith("vendor/"):
            vendor += size
            jsqr += size if "jsqr" in rel else 0
        else:
            own += size
    return own, vendor, jsqr


def twelve_megapixels() -> bytes:
    from PIL import Image

    img = Image.effect_noise((1000, 750), 60).convert("RGB").resize((4000, 3000))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def serve():
    """The real app (server.pwa) on a loopback port, on a throw-away SQLite file."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from server import create_app
    from server.pwa import bp

    tmp = tempfile.mkdtemp(prefix="ruhu-bench-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3", "SECRET_KEY": "bench",
                      "RUHU_CALENDAR": str(Path(tmp) / "none.toml")})
    if "pwa" not in app.blueprints:
        app.register_blueprint(bp)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", tmp


def downscale_ms(page, data_b64: str, runs: int = 3) -> float:
    times = page.evaluate("""async ([b64, runs]) => {
        const { downscale } = await import('./photo.js');
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const file = new File([bytes], 'big.jpg', { type: 'image/jpeg' });
        const out = [];
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          const r = await downscale(file);
          out.push(performance.now() - t0);
          if (Math.max(r.width, r.height) !== 2048) throw new Error('not downscaled to 2048');
        }
        return out; }""", [data_b64, runs])
    return statistics.median(times)


def open_ms(page, url: str) -> float:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page.evaluate("performance.now()")


def browser_numbers() -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import chromium_path

    path = chromium_path()
    if path is None:
        print("pwa: chromium not installed; photo and offline-open benchmarks not run")
        return
    server, base, tmp = serve()
    data = base64.b64encode(twelve_megapixels()).decode()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True,
                                          bypass_csp=True)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            open_ms(page, base + "/app/")
            page.wait_for_function("navigator.serviceWorker.controller !== null")
            plain = downscale_ms(page, data)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
            slow = downscale_ms(page, data)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
            print(f"pwa photo downscale, 12 MP JPEG -> 2048 px: {slow / plain:.2f}x at 4x CPU throttling "
                  f"({plain:.0f} ms unthrottled, {slow:.0f} ms throttled)")

            online = statistics.median(open_ms(page, base + "/app/") for _ in range(3))
            context.set_offline(True)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
            offline = statistics.median(open_ms(page, base + "/app/") for _ in range(3))
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
            print(f"pwa open offline (service worker, 4x CPU throttling) to interactive shell: {offline / online:.2f}x "
                  f"the unthrottled online open ({online:.0f} ms online, {offline:.0f} ms offline throttled)")
            browser.close()
    finally:
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
# Audit id -> (label, unit) of the numbers printed beside the category scores.
LIGHTHOUSE_METRICS = {
    "first-contentful-paint": ("FCP", "ms"),
    "largest-contentful-paint": ("LCP", "ms"),
    "total-blocking-time": ("TBT", "ms"),
    "cumulative-layout-shift": ("CLS", ""),
    "total-byte-weight": ("total byte weight", "KB"),
}


def lighthouse_report(report: dict) -> list[str]:
    """The lines printed for one Lighthouse JSON report (category scores, key metrics, byte weight)."""
    scores = {v.get("title", k): round(v["score"] * 100) for k, v in report.get("categories", {}).items()
              if v.get("score") is not None}
    settings = report.get("configSettings", {})
    throttling = settings.get("throttling", {})
    lines = [f"pwa lighthouse {report.get('lighthouseVersion', '?')} ({settings.get('formFactor', '?')}, "
             f"{settings.get('throttlingMethod', '?')} throttling: {throttling.get('rttMs', '?')} ms RTT, "
             f"{throttling.get('cpuSlowdownMultiplier', '?')}x CPU) on /app/: "
             + (", ".join(f"{k} {v}" for k, v in scores.items()) or "no category scored")]
    audits = report.get("audits", {})
    requests = (audits.get("network-requests", {}).get("details") or {}).get("items", [])
    compressed = any(r.get("transferSize", 0) < r.get("resourceSize", 0) for r in requests)
    metrics = []
    for audit_id, (label, unit) in LIGHTHOUSE_METRICS.items():
        value = audits.get(audit_id, {}).get("numericValue")
        if value is None:
            metrics.append(f"{label} n/a")
        elif unit == "KB":
            how = "compressed" if compressed else "sent uncompressed by the bench server; the shell line counts gzip -9"
            metrics.append(f"{label} {value / 1024:.1f} KB in {len(requests)} requests "
                           f"({value / BUDGET:.2f}x the 150 KB budget, {how})")
        elif unit == "ms":
            metrics.append(f"{label} {value:.0f} ms")
        else:
            metrics.append(f"{label} {value:.3f}")
    lines.append("pwa lighthouse metrics: " + ", ".join(metrics))
    weak = [f"{ref['id']} {audits[ref['id']]['score']:.2f}" for cat in report.get("categories", {}).values()
            for ref in cat.get("auditRefs", ()) if ref.get("weight") and ref["id"] in audits
            and audits[ref["id"]].get("score") is not None and audits[ref["id"]]["score"] < 0.9]
    if weak:
        lines.append("pwa lighthouse audits scoring below 0.9: " + ", ".join(weak))
    if report.get("runtimeError"):
        lines.append(f"pwa lighthouse runtime error: {report['runtimeError'].get('code')}: "
                     f"{report['runtimeError'].get('message', '')}")
    return lines


def lighthouse() -> None:
    """Lighthouse (bench/lighthouse/package.json, installed by `make bench`) on the served shell."""
    if not LIGHTHOUSE.exists():
        print("pwa lighthouse: not run (not installed: `npm ci --prefix bench/lighthouse`, which `make bench` does)")
        return
    chrome = os.environ.get("CHROME_PATH") or "/usr/bin/chromium"
    if not Path(chrome).exists():
        print(f"pwa lighthouse: not run (no browser at {chrome}: apt-get install chromium, or set CHROME_PATH)")
        return
    server, base, tmp = serve()
    try:
        out = Path(tmp) / "lighthouse.json"
        done = subprocess.run(
            [str(LIGHTHOUSE), base + "/app/", "--output=json", f"--output-path={out}", "--quiet",
             "--chrome-flags=--headless=new --no-sandbox",
             "--only-categories=performance,accessibility,best-practices"],
            env={**os.environ, "CHROME_PATH": chrome}, cwd=tmp, timeout=300, check=False,
            capture_output=True, text=True)
        if not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            print(f"pwa lighthouse: failed (exit {done.returncode}: {' / '.join(tail) or 'no output'})")
            return
        for line in lighthouse_report(json.loads(out.read_text(encoding="utf-8"))):
            print(line)
    except (subprocess.TimeoutExpired, OSError, ValueError) as exc:
        print(f"pwa lighthouse: failed ({type(exc).__name__}: {exc})")
    finally:
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    own, vendor, jsqr = shell_size()
    total = own + vendor
    print(f"pwa shell, gzip -9: {total / BUDGET:.2f}x the 150 KB budget ({total / 1024:.1f} KB: app {own / 1024:.1f} KB, "
          f"libraries {vendor / 1024:.1f} KB of which jsQR {jsqr / 1024:.1f} KB, loaded only to scan without BarcodeDetector)")
    browser_numbers()
    lighthouse()


if __name__ == "__main__":
    main()
