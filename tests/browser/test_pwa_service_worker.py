"""The service worker: the shell works with no network from the second open on, and a deploy (any changed
shell file) reaches the phone — new cache under the new content version, the old one deleted, the new
text on the screen, offline too."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.browser.test_pwa_flow import PHONE, pwa_app, pwa_server  # noqa: F401 (fixtures)

PWA = Path(__file__).resolve().parents[2] / "pwa"


def caches(page) -> list[str]:
    return page.evaluate("caches.keys()")


def test_shell_offline_and_update_after_a_deploy(browser, pwa_app, pwa_server, tmp_path):  # noqa: F811
    copy = tmp_path / "pwa"
    shutil.copytree(PWA, copy, symlinks=True)
    pwa_app.config["RUHU_PWA_DIR"] = str(copy)

    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(pwa_server + "/app/")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        first = caches(page)
        assert len(first) == 1 and first[0].startswith("ruhu-shell-")
        assert page.locator("h1").inner_text() == "登记本机"

        # no network: the shell and every module still load, from the cache
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("h1").inner_text() == "登记本机"
        assert page.evaluate("fetch('./vendor/jsqr/dist/jsQR.js').then(r => r.ok)")
        # ... but only GETs of the shell: the API is never answered from the cache
        assert page.evaluate("fetch('../api/v1/me').then(() => 'answered', () => 'network error')") == "network error"

        # a deploy changes one file
        context.set_offline(False)
        i18n = copy / "ui" / "i18n.js"
        i18n.write_text(i18n.read_text(encoding="utf-8").replace('enrol_title: "登记本机"', 'enrol_title: "登记这部手机"'),
                        encoding="utf-8")
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        page.wait_for_selector("#update-banner")
        second = caches(page)
        assert len(second) == 1 and second != first          # the new version's cache only
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("h1").inner_text() == "登记这部手机"

        context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("h1").inner_text() == "登记这部手机"
    finally:
        context.close()
