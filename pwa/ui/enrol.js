// Enrolment: a one-time code from the console (its QR opens /app/#enrol=CODE), a key pair made
// here — the private half never leaves this phone — and the server's token stored with it.

import * as db from "../db.js";
import * as api from "../sync-client.js";
import { generateDeviceKey, publicJwk } from "../attest.js";
import { h, toast } from "./dom.js";
import { t, pick } from "./i18n.js";
import { scanFile } from "./qr.js";

function guessName() {
  const ua = navigator.userAgent;
  const m = ua.match(/Android [^;]+; ([^;)]+)[;)]/);
  if (m && m[1].trim() && m[1].trim() !== "K") return m[1].trim().slice(0, 60);
  if (/iPhone/.test(ua)) return "iPhone";
  return t("default_device_name");
}

export async function enrolView(ctx, code) {
  const current = await db.getMeta("device");
  const err = h("p", { class: "err", role: "alert", id: "enrol-error" });
  const codeInput = h("input", { id: "enrol-code", name: "code", value: code, autocomplete: "off", autocapitalize: "characters", required: true, maxlength: 20 });
  const nameInput = h("input", { id: "device-name", name: "device_name", value: guessName(), maxlength: 80, required: true });
  const button = h("button", { type: "submit", class: "btn primary big", id: "enrol-submit" }, t("enrol_button"));

  async function submit(e) {
    e.preventDefault();
    err.textContent = "";
    const value = codeInput.value.trim().toUpperCase();
    const name = nameInput.value.trim();
    if (!value || !name) {
      err.textContent = t("enrol_fill");
      return;
    }
    if (!navigator.onLine) {
      err.textContent = t("enrol_needs_network");
      return;
    }
    button.disabled = true;
    try {
      const keys = await generateDeviceKey();
      const r = await api.enroll(value, name, await publicJwk(keys.publicKey));
      if (r.status !== 201) {
        err.textContent = pick({ zh: r.body.message || t("enrol_failed"), en: r.body.message_en || t("enrol_failed") });
        return;
      }
      if (current && current.user.id !== r.body.user.id) await db.wipe(); // someone else's phone now
      await db.setMeta("device", {
        device_id: r.body.device_id, token: r.body.token, user: r.body.user, name,
        private_key: keys.privateKey, public_key: keys.publicKey, enrolled_at: Date.now(),
      });
      await db.deleteMeta("cursor");
      await db.deleteMeta("auth_failed");
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => false);
      toast(t("enrolled_as", { name: r.body.user.name }));
      history.replaceState(null, "", location.pathname + "#/");
      await ctx.setDevice(await db.getMeta("device"));
      await ctx.syncNow(true);
      ctx.go("#/");
    } catch (ex) {
      err.textContent = `${t("enrol_failed")}: ${ex.message}`;
    } finally {
      button.disabled = false;
    }
  }

  const scanInput = h("input", {
    type: "file", accept: "image/*", capture: "environment", class: "visually-hidden", id: "enrol-scan",
    onchange: async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      const text = await scanFile(file).catch(() => null);
      const m = text && text.match(/#enrol=([A-Za-z0-9]+)/);
      if (m) codeInput.value = m[1].toUpperCase();
      else err.textContent = t("qr_not_found");
    },
  });

  return {
    name: "enrol",
    el: h("div", { class: "view" },
      h("h1", {}, t("enrol_title")),
      current ? h("p", { class: "banner warn" }, t("enrol_replace", { name: current.user.name })) : null,
      h("p", {}, t("enrol_intro")),
      h("form", { class: "card", onsubmit: submit },
        h("label", { class: "field" }, h("span", { class: "label" }, t("enrol_code")), codeInput),
        h("label", { class: "btn secondary", for: "enrol-scan" }, t("scan_console_qr")), scanInput,
        h("label", { class: "field" }, h("span", { class: "label" }, t("device_name")), nameInput),
        err, button),
      current ? h("a", { href: "#/", class: "btn secondary" }, t("back")) : null),
  };
}
