// The field app: boot, the header (who is signed in, online or not, "立即同步" and progress), the
// router (#/..., so the server only ever serves one page), the sync triggers and the service worker.

import * as db from "./db.js";
import { sync, onProgress, requestBackgroundSync, CHANNEL, visitProgress } from "./outbox.js";
import { h, clear, toast } from "./ui/dom.js";
import { t, lang } from "./ui/i18n.js";
import { homeView, assignmentView } from "./ui/home.js";
import { visitView } from "./ui/visit.js";
import { scanView, confirmView, confirmListed } from "./ui/partner.js";
import { settingsView } from "./ui/settings.js";
import { enrolView } from "./ui/enrol.js";

const SYNC_EVERY_MS = 60 * 1000;
const main = document.getElementById("main");
const state = { device: null, syncing: false, cleanup: null };

// --- header -------------------------------------------------------------------------------------

function renderHeader() {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  document.title = t("app_title");
  const online = navigator.onLine;
  clear(document.getElementById("top"),
    h("a", { href: "#/", class: "brand" }, h("span", {}, t("app_name")),
      state.device ? h("span", { class: "who", id: "who" }, state.device.user.name) : null),
    h("span", { class: `net ${online ? "on" : "off"}`, id: "net", role: "status" }, online ? t("online") : t("offline")),
    state.device ? h("button", { type: "button", class: "btn sync", id: "sync-now", disabled: state.syncing, onclick: () => syncNow(true) },
      state.syncing ? t("syncing") : t("sync_now")) : null,
    h("a", { href: "#/settings", class: "icon-link", "aria-label": t("settings") }, "⚙"));
}

async function renderOverall() {
  const bar = document.getElementById("overall");
  const visits = (await db.listVisits()).filter((v) => v.status !== "draft");
  let done = 0;
  let total = 0;
  for (const v of visits) {
    const p = visitProgress(v);
    done += p.done;
    total += p.total;
  }
  const pending = visits.filter((v) => ["ready", "syncing"].includes(v.status)).length +
    (await db.listAttestations()).filter((a) => ["pending", "waiting"].includes(a.status)).length;
  bar.hidden = total === 0 && pending === 0;
  bar.querySelector("progress").max = total || 1;
  bar.querySelector("progress").value = done;
  bar.querySelector(".label").textContent = pending ? t("pending_n", { n: pending }) : t("all_synced");
  bar.dataset.pending = String(pending);
}

// --- sync ----------------------------------------------------------------------------------------

export async function syncNow(force = false) {
  if (!state.device) return;
  if (!navigator.onLine && force) toast(t("offline_saved"));
  state.syncing = true;
  document.body.dataset.syncing = "1";
  renderHeader();
  try {
    const result = await sync({ force });
    if (force && result.offline) toast(t("sync_offline"), "warn");
  } catch (err) {
    toast(lang() === "en" ? `${t("sync_failed")}: ${err.message}` : t("sync_failed_retry"), "error");
  } finally {
    state.syncing = false;
    delete document.body.dataset.syncing;
    renderHeader();
    await renderOverall();
  }
}

function refreshIfShowing(msg) {
  // Re-draw read-only screens that show what the sync changed (never a draft being typed in).
  const view = document.body.dataset.view;
  const shown = main.querySelector("[data-visit]");
  if (view === "visit-locked" && msg.type === "visit" && shown && shown.dataset.visit === msg.visit_id &&
      (shown.dataset.status !== msg.status || (shown.dataset.server || "") !== msg.server_status)) {
    route({ soft: true });
  } else if ((view === "home" || view === "assignment") && (msg.type === "done" || msg.type === "attestation")) {
    route({ soft: true });
  }
}

function onSyncMessage(msg) {
  refreshIfShowing(msg);
  if (msg.type === "visit" || msg.type === "attestation") {
    const bar = document.querySelector(`[data-progress-for="${msg.visit_id}"]`);
    if (bar && msg.progress) {
      bar.max = msg.progress.total;
      bar.value = msg.progress.done;
    }
    renderOverall();
  }
  if (msg.type === "auth_failed") route();
  if (msg.type === "done" || msg.type === "pulled") {
    renderOverall();
    document.dispatchEvent(new CustomEvent("ruhu-synced", { detail: msg }));
  }
}

// --- routes --------------------------------------------------------------------------------------

const ROUTES = [
  [/^#\/?$/, () => homeView(ctx)],
  [/^#\/a\/(\d+)$/, (m) => assignmentView(ctx, Number(m[1]))],
  [/^#\/v\/([0-9a-f-]{36})$/, (m) => visitView(ctx, m[1])],
  [/^#\/scan$/, () => scanView(ctx)],
  [/^#\/confirm\/(.+)$/, (m) => confirmView(ctx, decodeURIComponent(m[1]), "qr")],
  [/^#\/attest\/([0-9a-f-]{36})$/, (m) => confirmListed(ctx, m[1])],
  [/^#\/settings$/, () => settingsView(ctx)],
  [/^#\/enrol$/, () => enrolView(ctx, "")],
];

let routing = Promise.resolve();

/** Draw the screen for the current hash; calls are serialised so two never interleave. */
function route(options = {}) {
  routing = routing.then(() => draw(options)).catch((err) => toast(lang() === "en" ? err.message : t("screen_failed"), "error"));
  return routing;
}

async function draw({ soft = false } = {}) {
  if (state.cleanup) {
    try { state.cleanup(); } catch { /* a view's cleanup must not stop navigation */ }
    state.cleanup = null;
  }
  state.device = await db.getMeta("device");
  renderHeader();
  const hash = location.hash || "#/";
  const enrol = hash.match(/^#enrol=([A-Za-z0-9]+)$/);
  let view;
  if (enrol) view = enrolView(ctx, enrol[1].toUpperCase());
  else if (!state.device && hash !== "#/settings") view = enrolView(ctx, "");
  else {
    for (const [re, make] of ROUTES) {
      const m = hash.match(re);
      if (m) {
        view = make(m);
        break;
      }
    }
    if (!view) view = homeView(ctx);
  }
  const result = await view;
  clear(main, result.el || result);
  state.cleanup = result.cleanup || null;
  if (result.afterMount) result.afterMount();
  if (!soft) {
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  document.body.dataset.view = result.name || "";
  await renderOverall();
}

const ctx = {
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  route,
  syncNow,
  renderOverall,
  requestBackgroundSync,
  get device() { return state.device; },
  async setDevice(device) {
    state.device = device;
    renderHeader();
  },
};

// --- boot ----------------------------------------------------------------------------------------

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  try {
    const reg = await navigator.serviceWorker.register("./service-worker.js", { scope: "./", type: "module", updateViaCache: "none" });
    document.body.dataset.sw = "registered";
    reg.addEventListener("updatefound", () => { document.body.dataset.swUpdate = "found"; });
    navigator.serviceWorker.addEventListener("message", (e) => {
      if (e.data && e.data.type === "sw-activated") {
        document.body.dataset.swVersion = e.data.version;
        if (hadController) showUpdateNotice(); // a new version replaced the one this page runs
      }
    });
  } catch (err) {
    document.body.dataset.sw = `failed: ${err.message}`;
  }
}

let updateShown = false;

function showUpdateNotice() {
  if (updateShown) return;
  updateShown = true;
  const box = document.getElementById("notice");
  clear(box, h("div", { class: "banner info", id: "update-banner" }, t("update_ready"), " ",
    h("button", { type: "button", class: "btn small", onclick: () => location.reload() }, t("reload"))));
}

async function boot() {
  addEventListener("hashchange", () => route());
  addEventListener("online", () => { renderHeader(); syncNow(false); });
  addEventListener("offline", renderHeader);
  onProgress(onSyncMessage);
  if (typeof BroadcastChannel === "function") new BroadcastChannel(CHANNEL).onmessage = (e) => {
    if (e.data && e.data.from === "worker") onSyncMessage(e.data); // this page's own runs report directly
  };
  await route();
  await registerServiceWorker();
  document.body.dataset.ready = "1";
  if (state.device && navigator.onLine) syncNow(false); // app start
  setInterval(() => { if (state.device && navigator.onLine && !state.syncing) syncNow(false); }, SYNC_EVERY_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.device && navigator.onLine) syncNow(false);
  });
}

boot();
