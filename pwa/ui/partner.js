// The partner's side of the two-person attestation: scan the QR on the other investigator's
// phone (camera, or a photo of the screen), see which household and which revision it is, and sign
// it with this phone's own key — offline; the attestation goes out with the next sync. Online, the
// phone first asks the server whether it holds that visit with the same content hash.

import * as db from "../db.js";
import * as api from "../sync-client.js";
import { NetworkError } from "../sync-client.js";
import { parseQrPayload, qrPayload, recordDigest, signVisit, shortHash } from "../attest.js";
import { contentHash } from "../protocol.js";
import { h, add, toast } from "./dom.js";
import { t, pick, has } from "./i18n.js";
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

/** The label of a choice option in a form definition (findings/recommendation and the like). */
function optionLabel(form, sectionId, fieldId, value) {
  const section = ((form && form.sections) || []).find((x) => x.id === sectionId);
  const field = ((section && section.fields) || []).find((f) => f.id === fieldId);
  const option = ((field && field.options) || []).find((o) => o.value === value);
  return option ? pick(option.label) : value;
}

/** Every answered top-level field of a record, as label: value in words (choices and yes/no as their
 *  labels, long texts cut), and repeating sections as a count — for forms other than the household survey. */
function answersInWords(form, answers) {
  const rows = [];
  for (const section of (form && form.sections) || []) {
    const value = (answers || {})[section.id];
    if (section.repeat) {
      if (Array.isArray(value) && value.length) rows.push([pick(section.title), t("items_n", { n: value.length })]);
      continue;
    }
    for (const field of section.fields || []) {
      const v = (value || {})[field.id];
      if (v === undefined || v === null || v === "") continue;
      let text;
      if (field.type === "boolean") text = v ? t("yes") : t("no");
      else if (field.type === "choice") text = optionLabel(form, section.id, field.id, v);
      else if (field.type === "multi" && Array.isArray(v)) text = v.map((x) => optionLabel(form, section.id, field.id, x)).join("、");
      else if (Array.isArray(v)) text = v.join(" / ");
      else text = String(v).length > 120 ? `${String(v).slice(0, 120)}…` : String(v);
      rows.push([pick(field.label), text]);
    }
  }
  return rows;
}

function relationText(rel) {
  return rel && has(`rel_${rel}`) ? t(`rel_${rel}`) : rel || "";
}

/** The confirm screen. `via` is how the record reached this phone: "qr" (scanned) or "list" (the
 *  server's to_attest list) — said as it is. What is shown comes from the record itself: the envelope
 *  from the list (after this phone recomputes its content hash) or the digest inside the QR; never
 *  the partner's own copy of the assignment. */
export async function confirmView(ctx, text, via = "qr") {
  const payload = parseQrPayload(text);
  const root = h("div", { class: "view" }, h("a", { href: "#/", class: "back" }, `‹ ${t("back")}`), h("h1", {}, t("partner_confirm")));
  if (!payload) {
    add(root, h("p", { class: "banner error" }, t("qr_not_ours")));
    return { name: "confirm", el: root };
  }
  const a = await db.getAssignment(payload.assignment_id);
  const existing = await db.getAttestation(payload.visit_id);
  const listed = ((await db.getMeta("to_attest")) || []).find((w) => w.visit_id === payload.visit_id);
  const me = ctx.device.user.id;
  const onTeam = !a || (a.team || []).some((m) => m.user_id === me);
  let blocked = false;

  // The record itself: the full envelope when the server listed it and its hash is the one signed.
  let digest = payload.digest;
  let source = via === "list" ? "list_envelope" : payload.digest ? "qr_digest" : "none";
  let form = null;
  if (listed && listed.envelope) {
    const hash = await contentHash(listed.envelope);
    if (hash === payload.content_hash && hash === listed.content_hash) {
      digest = recordDigest(listed.envelope.answers);
      source = via === "list" ? "list_envelope" : "qr_envelope";
      form = await db.getForm(listed.envelope.form_id, listed.envelope.form_version);
    } else {
      add(root, h("p", { class: "banner error", id: "envelope-mismatch" }, t("envelope_mismatch")));
      blocked = true;
      digest = null;
    }
  } else if (via === "list") {
    source = "list_only";
    digest = listed && listed.summary ? { members: [], income_total: null, recommendation: null, summary: listed.summary } : null;
  }
  if (!form && a) form = await db.getForm(a.form_id, a.form_version);

  // Forms without members or income (appraisal, spot check, two-rates survey): their answers in words.
  const words = listed && listed.envelope && digest && form && !(listed.envelope.answers || {}).members
    ? answersInWords(form, listed.envelope.answers) : [];
  const recordHead = digest && digest.members.length ? (digest.members.find((m) => m.relation === "head") || digest.members[0]) : null;
  const head = recordHead || headOf(a);
  const summary = head || a ? `${head ? head.name : ""}${a ? ` · ${a.case_number}` : ""}` : t("unknown_household");
  const serverBox = h("p", { class: "muted", id: "server-check" }, navigator.onLine ? t("checking_server") : t("offline_sign_ok"));

  // Members the record lists that this phone's copy of the assignment does not (and the reverse).
  let diff = null;
  if (a && digest && digest.members.length) {
    const mine = new Set((a.members || []).map((m) => m.name));
    const theirs = new Set(digest.members.map((m) => m.name));
    const added = [...theirs].filter((n) => !mine.has(n));
    const gone = [...mine].filter((n) => !theirs.has(n));
    if (added.length || gone.length) {
      diff = h("p", { class: "banner warn", id: "confirm-member-diff" },
        [added.length ? t("members_added", { names: added.join("、") }) : "", gone.length ? t("members_missing", { names: gone.join("、") }) : ""].filter(Boolean).join("；"));
    }
  }

  add(root, h("section", { class: "card" },
    h("p", { class: "banner info", id: "confirm-via", dataset: { via, source } }, t(`via_${source}`)),
    h("dl", {},
      h("dt", {}, t("household")), h("dd", { id: "confirm-household" }, summary),
      a ? [h("dt", {}, t("address")), h("dd", {}, `${a.community} ${a.address || ""}`)] : null,
      listed ? [h("dt", {}, t("visit_on")), h("dd", {}, listed.visit_on)] : null,
      digest && digest.members.length ? [h("dt", {}, t("members_n", { n: digest.members.length })), h("dd", { id: "confirm-members" },
        digest.members.map((m) => (m.relation ? `${m.name}（${relationText(m.relation)}）` : m.name)).join("、"))] : null,
      digest && digest.income_total !== null ? [h("dt", {}, t("income_total", { n: digest.months || 6 })), h("dd", { id: "confirm-income" }, t("yuan", { amount: digest.income_total }))] : null,
      digest && digest.recommendation ? [h("dt", {}, t("recommendation_label")), h("dd", { id: "confirm-recommendation" }, optionLabel(form, "findings", "recommendation", digest.recommendation))] : null,
      digest && digest.summary ? [h("dt", {}, t("summary_label")), h("dd", { id: "confirm-summary" }, digest.summary)]
        : source === "qr_digest" ? [h("dt", {}, t("summary_label")), h("dd", { class: "muted" }, t("summary_on_partner_phone"))] : null,
      h("dt", {}, t("hash_short")), h("dd", { class: "mono big", id: "confirm-hash" }, shortHash(payload.content_hash)),
      h("dt", {}, t("visit_id")), h("dd", { class: "mono small" }, payload.visit_id)),
    diff,
    words.length ? h("dl", { id: "confirm-answers" }, words.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])) : null,
    !digest ? h("p", { class: "banner warn", id: "confirm-no-content" }, t("no_record_content")) : null,
    h("p", {}, via === "qr" ? t("compare_hash") : t("compare_hash_list")), serverBox));

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
        serverBox.textContent = via === "qr" ? t("server_hash_same") : t("server_hash_same_list");
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
        const { digest: _d, ...row } = payload;
        await db.putAttestation({ ...row, signature, summary, via, status: "pending", created_at: Date.now(), attempts: 0 });
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

/** The confirm screen for a record the server listed (no QR scanned). */
export async function confirmListed(ctx, visitId) {
  const w = ((await db.getMeta("to_attest")) || []).find((x) => x.visit_id === visitId);
  if (!w) {
    return { name: "confirm", el: h("div", { class: "view" }, h("a", { href: "#/", class: "back" }, `‹ ${t("back")}`),
      h("p", { class: "empty" }, t("listed_gone"))) };
  }
  return confirmView(ctx, qrPayload(w.visit_id, w.content_hash, w.assignment_id), "list");
}
