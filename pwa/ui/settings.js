// This phone: who it belongs to, language, storage (persistent? how much is used and free?), the
// export of everything not yet synced (the last resort), and the sync log.

import * as db from "../db.js";
import { h, formatBytes, toast } from "./dom.js";
import { t, lang, setLang } from "./i18n.js";

const LOW_FREE = 200 * 1024 * 1024;

export async function storageInfo() {
  const out = { persisted: null, usage: null, quota: null };
  if (navigator.storage) {
    if (navigator.storage.persisted) out.persisted = await navigator.storage.persisted().catch(() => null);
    if (navigator.storage.estimate) Object.assign(out, await navigator.storage.estimate().catch(() => ({})));
  }
  return out;
}

/** A warning on the start page when space runs out or storage is not persistent. */
export async function storageBanner() {
  const s = await storageInfo();
  if (s.quota && s.quota - s.usage < LOW_FREE) {
    return h("div", { class: "banner error", id: "storage-banner" }, t("storage_low", { free: formatBytes(s.quota - s.usage) }), " ", h("a", { href: "#/settings" }, t("settings")));
  }
  if (s.persisted === false) {
    return h("div", { class: "banner info", id: "storage-banner" }, t("storage_not_persisted"), " ", h("a", { href: "#/settings" }, t("settings")));
  }
  return null;
}

async function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** Everything not yet confirmed by the server, photos and signatures included, as one JSON file. */
export async function exportUnsynced() {
  const device = await db.getMeta("device");
  const visits = (await db.listVisits()).filter((v) => v.status !== "synced");
  const out = {
    format: "ruhu-unsynced-export", version: 1, exported_at: new Date().toISOString(),
    device: device ? { device_id: device.device_id, user: device.user, name: device.name } : null,
    visits: [], attestations: (await db.listAttestations()).filter((a) => a.status !== "synced")
      .map(({ visit_id, content_hash, signature, assignment_id, status }) => ({ visit_id, content_hash, signature, assignment_id, status })),
  };
  for (const v of visits) {
    const files = [];
    for (const row of await db.blobsOfVisit(v.visit_id)) {
      if (row.thumb) continue;
      files.push({ id: row.id, sha256: row.sha256, type: row.type, size: row.size, data: await blobToDataUrl(row.blob) });
    }
    const { own_signature, ...record } = v;
    out.visits.push({ ...record, own_signature, files });
  }
  const blob = new Blob([JSON.stringify(out, null, 1)], { type: "application/json" });
  const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, "");
  const name = `ruhu-export-${stamp}.json`;
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  return { name, visits: out.visits.length, attestations: out.attestations.length };
}

export async function settingsView(ctx) {
  const device = await db.getMeta("device");
  const s = await storageInfo();
  const usage = h("p", { id: "storage-usage" }, s.quota
    ? t("storage_usage", { used: formatBytes(s.usage), free: formatBytes(s.quota - s.usage) }) : t("storage_unknown"));
  const persisted = h("p", { id: "storage-persisted" }, s.persisted ? t("storage_persisted") : t("storage_not_persisted"));
  const log = await db.recentLog(20);
  const unsynced = (await db.listVisits()).filter((v) => v.status !== "synced").length;
  return {
    name: "settings",
    el: h("div", { class: "view" },
      h("a", { href: "#/", class: "back" }, `‹ ${t("back")}`),
      h("h1", {}, t("settings")),
      h("section", { class: "card" }, h("h2", {}, t("this_phone")),
        device ? h("dl", {},
          h("dt", {}, t("signed_in_as")), h("dd", { id: "device-user" }, `${device.user.name} · ${device.user.unit}`),
          h("dt", {}, t("device_name")), h("dd", {}, device.name),
          h("dt", {}, t("device_id")), h("dd", { class: "mono small" }, device.device_id)) : h("p", {}, t("not_enrolled")),
        h("a", { href: "#/enrol", class: "btn secondary" }, device ? t("enrol_again") : t("enrol_title"))),
      h("section", { class: "card" }, h("h2", {}, t("language")),
        h("div", { class: "seg" }, [["zh", "中文"], ["en", "English"]].map(([code, label]) => h("label", { class: "seg-opt" },
          h("input", { type: "radio", name: "lang", value: code, checked: lang() === code, onchange: () => { setLang(code); ctx.route(); } }),
          h("span", {}, label))))),
      h("section", { class: "card" }, h("h2", {}, t("storage")), usage, persisted,
        !s.persisted && navigator.storage && navigator.storage.persist ? h("button", { type: "button", class: "btn secondary", onclick: async () => {
          const ok = await navigator.storage.persist().catch(() => false);
          toast(ok ? t("storage_persisted") : t("storage_persist_refused"), ok ? "info" : "warn");
          ctx.route();
        } }, t("storage_persist")) : null),
      h("section", { class: "card" }, h("h2", {}, t("export_title")), h("p", {}, t("export_explain", { n: unsynced })),
        h("button", { type: "button", class: "btn secondary", id: "export", onclick: async () => {
          try {
            const r = await exportUnsynced();
            toast(t("exported", { name: r.name, n: r.visits }));
          } catch {
            toast(t("export_failed"), "error");
          }
        } }, t("export_button"))),
      h("section", { class: "card" }, h("h2", {}, t("sync_log")),
        log.length ? h("ul", { class: "log" }, log.map((e) => h("li", {}, `${new Date(e.at).toLocaleString()} ${t(`log_${e.kind}`)} ${e.visit_id ? e.visit_id.slice(0, 8) : ""} ${e.reason || e.code || ""}`)))
          : h("p", { class: "muted" }, t("log_empty")))),
  };
}
