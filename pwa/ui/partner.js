// The partner's side of the two-person attestation: scan the QR on the other investigator's
// phone (camera, or a photo of the screen), see which household and which revision it is, and sign
// it with this phone's own key — offline; the attestation goes out with the next sync. Online, the
// phone first asks the server whether it holds that visit with the same content hash.

import * as db from "../db.js";
import * as api from "../sync-client.js";
import { NetworkError } from "../sync-client.js";
import { parseQrPayload, signVisit, shortHash } from "../attest.js";
import { h, add, toast } from "./dom.js";
import { t } from "./i18n.js";
import { scanCamera, scanFile } from "./qr.js";
import { headOf } from "./home.js";

export function scanView(ctx) {
  const err = h("p", { class: "err", role: "alert", id: "scan-error" });
  const video = h("video", { class: "camera", muted: true, playsinline: true, hidden: true });
  let scanner = null;
  const accept = (text) => {
    const payload = parseQrPayload(text);
    if (!payload) {
      err.textContent = text ? t("qr_not_ours") : t("qr_not_found");
      return;
    }
    ctx.go(`#/confirm/${encodeURIComponent(text.trim())}`);
  };
  const fileInput = h("input", {
    type: "file", accept: "image/*", capture: "environment", class: "visually-hidden", id: "scan-file",
    onchange: async (e) => {
      const file = e.target.files[0];
      e.target.value = "";
      if (!file) return;
      err.textContent = t("reading");
      try {
        accept(await scanFile(file));
      } catch (ex) {
        err.textContent = `${t("qr_not_found")} (${ex.message})`;
      }
    },
  });
  const cameraButton = h("button", { type: "button", class: "btn primary big", id: "scan-camera", onclick: () => {
    err.textContent = "";
    video.hidden = false;
    scanner = scanCamera(video, accept);
    scanner.started.catch((ex) => {
      video.hidden = true;
      err.textContent = `${t("camera_failed")}: ${ex.message}`;
    });
  } }, t("scan_with_camera"));
  return {
    name: "scan",
    el: h("div", { class: "view" },
      h("a", { href: "#/", class: "back" }, `‹ ${t("back")}`),
      h("h1", {}, t("scan_partner")),
      h("p", {}, t("scan_explain")),
      cameraButton, video,
      h("label", { class: "btn secondary big", for: "scan-file" }, t("scan_from_photo")), fileInput,
      err),
    cleanup() {
      if (scanner) scanner.stop();
    },
  };
}

export async function confirmView(ctx, text) {
  const payload = parseQrPayload(text);
  const root = h("div", { class: "view" }, h("a", { href: "#/", class: "back" }, `‹ ${t("back")}`), h("h1", {}, t("partner_confirm")));
  if (!payload) {
    add(root, h("p", { class: "banner error" }, t("qr_not_ours")));
    return { name: "confirm", el: root };
  }
  const a = await db.getAssignment(payload.assignment_id);
  const existing = await db.getAttestation(payload.visit_id);
  // Reached from the pull's list (online path): the server told us the visit's date and summary too.
  const listed = ((await db.getMeta("to_attest")) || []).find((w) => w.visit_id === payload.visit_id);
  const me = ctx.device.user.id;
  const onTeam = !a || (a.team || []).some((m) => m.user_id === me);
  const head = headOf(a);
  const summary = a ? `${head ? head.name : ""} · ${a.case_number}` : t("unknown_household");
  const serverBox = h("p", { class: "muted", id: "server-check" }, navigator.onLine ? t("checking_server") : t("offline_sign_ok"));

  add(root, h("section", { class: "card" },
    h("dl", {},
      h("dt", {}, t("household")), h("dd", { id: "confirm-household" }, summary),
      a ? [h("dt", {}, t("address")), h("dd", {}, `${a.community} ${a.address || ""}`)] : null,
      a ? [h("dt", {}, t("members")), h("dd", {}, (a.members || []).map((m) => m.name).join("、"))] : null,
      listed ? [h("dt", {}, t("visit_on")), h("dd", {}, listed.visit_on)] : null,
      listed && listed.summary ? [h("dt", {}, t("summary_label")), h("dd", { id: "confirm-summary" }, listed.summary)] : null,
      h("dt", {}, t("hash_short")), h("dd", { class: "mono big", id: "confirm-hash" }, shortHash(payload.content_hash)),
      h("dt", {}, t("visit_id")), h("dd", { class: "mono small" }, payload.visit_id)),
    h("p", {}, t("compare_hash")), serverBox));

  let blocked = false;
  if (!onTeam) {
    add(root, h("p", { class: "banner error" }, t("not_on_team")));
    blocked = true;
  }
  if (navigator.onLine) {
    try {
      const r = await api.getVisit(payload.visit_id);
      if (r.status === 200 && r.body.content_hash !== payload.content_hash) {
        serverBox.textContent = t("server_hash_differs");
        serverBox.className = "banner error";
        blocked = true;
      } else if (r.status === 200) {
        serverBox.textContent = t("server_hash_same");
        serverBox.className = "ok";
      } else {
        serverBox.textContent = t("server_not_yet");
      }
    } catch (ex) {
      if (!(ex instanceof NetworkError)) throw ex;
      serverBox.textContent = t("offline_sign_ok");
    }
  }

  if (existing) {
    add(root, h("p", { class: "banner info", id: "already-signed" }, t("already_signed")));
  } else if (!blocked) {
    const button = h("button", { type: "button", class: "btn primary big", id: "confirm-sign", onclick: async () => {
      button.disabled = true;
      try {
        const device = await db.getMeta("device");
        const signature = await signVisit(device.private_key, payload.visit_id, payload.content_hash);
        await db.putAttestation({ ...payload, signature, summary, status: "pending", created_at: Date.now(), attempts: 0 });
        toast(t("signed_ok"));
        await ctx.requestBackgroundSync();
        if (navigator.onLine) await ctx.syncNow(true);
        ctx.go("#/");
      } finally {
        button.disabled = false;
      }
    } }, t("confirm_and_sign"));
    add(root, h("p", {}, t("confirm_explain")), button);
  }
  return { name: "confirm", el: root };
}
