// One visit: the form with autosave of every change, photos, signatures, GPS, the investigators;
// finalising locks it, computes the content hash, signs it with this phone's key and shows the QR
// the partner scans. A finalised record is read-only and shows its sync progress and problems.

import * as db from "../db.js";
import { h, add, clear, toast, uuid } from "./dom.js";
import { t, pick } from "./i18n.js";
import { renderForm, toAnswers } from "../forms/renderer.js";
import { validateAnswers, validateAttachments } from "../forms/validate.js";
import { contentHash, isoWithOffset, localDate, sha256Hex } from "../protocol.js";
import { signVisit, qrPayload, recordDigest, shortHash } from "../attest.js";
import { downscale } from "../photo.js";
import { readExif, EXIF_BYTES } from "../exif.js";
import { SignatureBox } from "../signature.js";
import { drawQr } from "./qr.js";
import { locate, forEnvelope } from "./gps.js";
import { statusBadge, deadlineText } from "./home.js";
import { visitProgress } from "../outbox.js";

// --- saving: every change goes to IndexedDB at once, in order --------------------------------------

let queue = Promise.resolve();
let pending = 0;
let failure = null; // the last failed save, until a full re-save succeeds: "已保存" is never shown meanwhile
let onFailure = null; // the open view's handler (shows the persistent warning)

/** Is this the browser saying the storage is full? */
export function isQuotaError(err) {
  const names = [err && err.name, err && err.inner && err.inner.name, err && err.cause && err.cause.name];
  return names.includes("QuotaExceededError") || /quota/i.test(String((err && err.message) || ""));
}

function enqueue(task, visitId = null) {
  pending += 1;
  document.body.dataset.pendingSaves = String(pending);
  queue = queue.then(task).catch((err) => {
    failure = { quota: isQuotaError(err), at: Date.now(), visit_id: visitId || (failure && failure.visit_id) || null };
    document.body.dataset.saveFailed = "1";
    toast(failure.quota ? t("save_failed_quota_toast") : t("save_failed_toast"), "error");
    if (onFailure) onFailure(failure);
  })
    .finally(() => {
      pending -= 1;
      document.body.dataset.pendingSaves = String(pending);
      const mark = document.getElementById("saved");
      if (mark && !pending) {
        mark.textContent = failure ? t("not_saved") : t("saved_at", { time: new Date().toLocaleTimeString() });
        mark.className = failure ? "err" : "muted";
      }
    });
  return queue;
}

function persist(visitId, change) {
  return enqueue(() => db.updateVisit(visitId, change), visitId);
}

/** Wait for every pending save (used before navigating away and by the tests). */
export function flushSaves() {
  return queue;
}

// --- attachments of a draft ------------------------------------------------------------------------

function signers(slot, visit, team) {
  if (!slot.roles.includes("signature")) return [];
  if (slot.id === "investigators") {
    return visit.investigators.map((uid) => ({ key: `investigators:${uid}`, label: (team.find((m) => m.user_id === uid) || {}).name || `#${uid}` }));
  }
  return [{ key: slot.id, label: pick(slot.label) }];
}

/** The attachments the envelope lists: photos (and fingerprints), then signatures. */
export function attachmentsOf(visit, form) {
  const out = [];
  for (const p of visit.photos) {
    const item = { id: p.id, sha256: p.sha256, size: p.size, type: p.type, role: p.role, slot: p.slot };
    // When and where the picture was taken (signed with the record; absent on photos made before this existed).
    if (p.captured_at) item.captured_at = p.captured_at;
    if (p.position) item.position = p.position;
    out.push(item);
  }
  const slotIds = (form.slots || []).map((s) => s.id);
  for (const [key, s] of Object.entries(visit.signatures)) {
    if (!s.blob_id) continue;
    if (key.startsWith("investigators:") && !visit.investigators.includes(Number(key.split(":")[1]))) continue;
    if (!slotIds.includes(s.slot)) continue;
    out.push({ id: s.blob_id, sha256: s.sha256, size: s.size, type: "image/png", role: "signature", slot: s.slot });
  }
  return out;
}

function blobUrl(blob, urls) {
  const url = URL.createObjectURL(blob);
  urls.push(url);
  return url;
}

// --- the view --------------------------------------------------------------------------------------

export async function visitView(ctx, visitId) {
  let visit = await db.getVisit(visitId);
  const urls = [];
  const pads = [];
  if (!visit) {
    return { name: "visit", el: h("div", { class: "view" }, h("p", { class: "empty" }, t("visit_gone")), h("a", { href: "#/", class: "btn secondary" }, t("back"))) };
  }
  const assignment = (await db.getAssignment(visit.assignment_id)) || visit.assignment_copy ||
    { team: [], members: [], case_number: "", community: "", kind: "home_visit" };
  const form = await db.getForm(visit.form_id, visit.form_version);
  const team = assignment.team || [];
  const me = ctx.device.user.id;
  const locked = visit.status !== "draft";
  const today = localDate();
  const root = h("div", { class: "view visit", dataset: { visit: visit.visit_id, status: visit.status, server: (visit.server || {}).status || "" } });
  if (!form) {
    add(root, h("p", { class: "banner error" }, t("form_missing")));
    return { name: "visit", el: root };
  }

  const problemsBox = h("div", { class: "problems", id: "problems", role: "alert" });
  // A failed save: a warning that stays (not a toast) with what to do, and a full re-save of everything
  // on the screen (the in-memory record is whole even when a write was lost).
  const failBox = h("div", { id: "save-failed-box" });
  const showFailure = (f) => {
    clear(failBox, h("div", { class: "banner error", id: "save-failed", role: "alert" },
      h("strong", {}, f.quota ? t("save_failed_quota") : t("save_failed_other")),
      h("p", {}, t("save_failed_what")),
      h("div", { class: "row" },
        h("button", { type: "button", class: "btn small", id: "save-again", onclick: async () => {
          failure = null;
          delete document.body.dataset.saveFailed;
          await persist(visit.visit_id, (v) => ({ ...v, values: structuredClone(visit.values),
            investigators: visit.investigators, photos: visit.photos, fingerprint: visit.fingerprint,
            signatures: mergeSignatures(v.signatures, visit.signatures), gps: { ...v.gps, ...visit.gps } }));
          // signature images whose write may have been lost: made again from the strokes on screen
          for (const pad of pads) if (pad.strokes.length && pad.onChange) pad.onChange(pad.strokes);
          await flushSaves();
          if (!failure) {
            clear(failBox);
            toast(t("saved_again"));
          }
        } }, t("save_again")),
        navigator.onLine ? h("button", { type: "button", class: "btn small", onclick: () => ctx.syncNow(true) }, t("sync_now")) : null,
        h("a", { href: "#/settings", class: "btn small secondary" }, t("export_title")))));
  };
  if (!locked) {
    onFailure = showFailure;
    if (failure && (!failure.visit_id || failure.visit_id === visit.visit_id)) showFailure(failure);
  }
  const saved = h("span", { class: "muted", id: "saved" }, locked ? "" : t("autosave_on"));

  // header
  add(root, 
    h("a", { href: `#/a/${visit.assignment_id}`, class: "back" }, `‹ ${t("back")}`),
    h("h1", {}, pick(form.title)),
    // a locked record: the partner's QR first, so it is on screen without scrolling
    locked ? await lockedPanel(ctx, visit, form, urls) : null,
    h("div", { class: "row" }, h("span", {}, `${assignment.case_number} · ${assignment.community} ${assignment.address || ""}`), statusBadge(visit.status)),
    assignment.deadline ? h("p", { class: "muted" }, deadlineText(assignment)) : null,
    visit.supersedes ? h("p", { class: "banner info", id: "amends" }, t("amends_record", { id: visit.supersedes.slice(0, 8) }),
      !locked ? [" ", t("amend_sign_again")] : null) : null,
    saved);

  add(root, failBox);
  add(root, problemsBox);

  // GPS
  const gpsText = (pos) => (!pos ? t("gps_pending") : pos.refused ? (pos.reason === "unavailable" ? t("gps_unavailable") : t("gps_refused"))
    : t("gps_at", { lat: pos.lat, lon: pos.lon, acc: Math.round(Number(pos.accuracy)) }));
  const gpsStart = h("span", { id: "gps-start" }, gpsText(visit.gps.start));
  const gpsBox = h("section", { class: "card gps" }, h("h2", {}, t("gps_title")),
    h("p", {}, `${t("gps_start")}：`, gpsStart),
    locked ? h("p", {}, `${t("gps_finish")}：`, gpsText(visit.gps.finish)) : null,
    !locked ? h("button", { type: "button", class: "btn secondary", onclick: async () => {
      gpsStart.textContent = t("gps_pending");
      const start = await locate();
      visit.gps.start = start;
      gpsStart.textContent = gpsText(start);
      persist(visit.visit_id, (v) => ({ ...v, gps: { ...v.gps, start } }));
    } }, t("gps_retry")) : null);
  add(root, gpsBox);
  const onGps = async (e) => {
    if (e.detail.visit_id !== visit.visit_id) return;
    const fresh = await db.getVisit(visit.visit_id);
    visit.gps.start = fresh.gps.start;
    gpsStart.textContent = gpsText(visit.gps.start);
  };
  document.addEventListener("ruhu-gps", onGps);
  if (!locked && !visit.gps.start) {
    locate().then((start) => {
      if (visit.gps.start) return;
      visit.gps.start = start;
      gpsStart.textContent = gpsText(start);
      persist(visit.visit_id, (v) => (v.gps.start ? undefined : { ...v, gps: { ...v.gps, start } }));
    });
  }

  // investigators
  const slotsBox = h("div", { class: "slots" });
  const invBox = h("section", { class: "card investigators" }, h("h2", {}, t("investigators")),
    h("p", { class: "hint" }, t("investigators_hint", { n: assignment.min_team || 2 })),
    team.map((m) => h("label", { class: "check" },
      h("input", {
        type: "checkbox", name: "investigator", value: m.user_id, checked: visit.investigators.includes(m.user_id),
        disabled: locked || m.user_id === me,
        onchange: (e) => {
          const set = new Set(visit.investigators);
          if (e.target.checked) set.add(m.user_id); else set.delete(m.user_id);
          visit.investigators = team.map((x) => x.user_id).filter((uid) => set.has(uid));
          persist(visit.visit_id, (v) => ({ ...v, investigators: visit.investigators }));
          drawSlots();
        },
      }),
      h("span", {}, m.name, m.user_id === me ? ` (${t("me")})` : ""))));
  add(root, invBox);

  // the form
  // The values the form edits (a refused finalise re-reads `visit` from storage: a different object).
  const validateNow = (values) => {
    const answers = toAnswers(form, values);
    return validateAnswers(form, answers, today);
  };
  // What the server said about this record (a 422) stays on each field until that field is edited.
  const serverProblems = (visit.error && visit.error.problems) || visit.reopened_problems || [];
  let answerProblems = serverProblems.filter((p) => p.path.startsWith("answers/")).map((p) => ({ ...p, path: p.path.slice(8) }));
  const rendered = renderForm(form, visit.values, {
    readOnly: locked, today,
    onChange: (values, path) => {
      persist(visit.visit_id, (v) => ({ ...v, values: structuredClone(values) }));
      answerProblems = answerProblems.filter((p) => p.path !== path && !p.path.startsWith(`${path}/`));
      rendered.showProblems([...answerProblems, ...validateNow(values)]);
    },
  });
  add(root, rendered.el);
  if (answerProblems.length) rendered.showProblems(answerProblems, true);

  // photos and signatures
  function photoSlot(slot, role) {
    const mine = visit.photos.filter((p) => p.slot === slot.id && p.role === role);
    const input = h("input", {
      type: "file", accept: "image/*", capture: "environment", multiple: true, class: "visually-hidden",
      id: `file-${slot.id}-${role}`, dataset: { slot: slot.id, role },
      onchange: async (e) => {
        const files = [...e.target.files];
        e.target.value = "";
        for (const file of files) await addPhoto(slot, role, file);
        drawSlots();
      },
    });
    return h("div", { class: "photos", dataset: { slot: slot.id, role } },
      h("div", { class: "thumbs" }, mine.map((p) => h("figure", { class: "thumb", dataset: { photo: p.id, sha256: p.sha256 } },
        h("img", { alt: pick(slot.label), dataset: { blob: p.thumb_id || p.id } }),
        p.captured_at ? h("figcaption", { class: "small muted", dataset: { capturedAt: p.captured_at } },
          `${p.captured_at.slice(5, 16).replace("T", " ")}${p.facts_from && p.facts_from.time === "camera" ? "" : ` ${t("time_from_phone")}`}`) : null,
        !locked ? h("button", { type: "button", class: "link danger", "aria-label": t("remove"), onclick: async () => {
          if (!confirm(t("remove_photo_q"))) return;
          visit.photos = visit.photos.filter((x) => x.id !== p.id);
          await persist(visit.visit_id, (v) => ({ ...v, photos: visit.photos }));
          await db.deleteBlob(p.id);
          if (p.thumb_id) await db.deleteBlob(p.thumb_id);
          drawSlots();
        } }, "✕") : null))),
      !locked && mine.length < slot.max ? [h("label", { class: "btn secondary", for: input.id }, role === "fingerprint" ? t("add_fingerprint") : t("add_photo")), input] : null);
  }

  async function addPhoto(slot, role, file) {
    const count = visit.photos.filter((p) => p.slot === slot.id).length;
    if (count >= slot.max) {
      toast(t("slot_full", { n: slot.max }), "warn");
      return;
    }
    try {
      // The camera's own time and place first (the downscale below drops EXIF); the phone's clock and
      // a fresh position only when the camera wrote none.
      const facts = readExif(await file.slice(0, EXIF_BYTES).arrayBuffer()); // APP1 is at most 64 KB, near the start
      const phoneTime = isoWithOffset();
      const where = facts.position ? null : locate();
      const { blob, thumb } = await downscale(file);
      const sha256 = await sha256Hex(blob);
      if (visit.photos.some((p) => p.sha256 === sha256 && p.role === role)) {
        toast(t("photo_duplicate"), "warn");
        return;
      }
      const id = uuid();
      const thumbId = uuid();
      await db.putBlob({ id, visit_id: visit.visit_id, blob, type: "image/jpeg", sha256, size: blob.size });
      await db.putBlob({ id: thumbId, visit_id: visit.visit_id, blob: thumb, type: "image/jpeg", thumb: true });
      const position = facts.position || forEnvelope(await where);
      visit.photos.push({ id, thumb_id: thumbId, slot: slot.id, role, sha256, size: blob.size, type: "image/jpeg", added_at: Date.now(),
        captured_at: facts.captured_at || phoneTime, position, facts_from: { time: facts.captured_at ? "camera" : "phone", place: facts.position ? "camera" : "phone" } });
      await persist(visit.visit_id, (v) => ({ ...v, photos: visit.photos }));
    } catch (err) {
      toast(isQuotaError(err) ? t("save_failed_quota_toast") : t("photo_failed"), "error");
      if (isQuotaError(err)) {
        failure = { quota: true, at: Date.now() };
        showFailure(failure);
      }
    }
  }

  function signatureBox(slot, signer) {
    const sig = visit.signatures[signer.key];
    if (locked) {
      return h("figure", { class: "signature done", dataset: { signature: signer.key } },
        sig && sig.blob_id ? h("img", { alt: signer.label, dataset: { blob: sig.blob_id } }) : h("span", { class: "muted" }, t("not_signed")),
        h("figcaption", {}, signer.label));
    }
    const canvas = h("canvas", { class: "pad", "aria-label": t("sign_here", { name: signer.label }) });
    const box = h("div", { class: "signature", dataset: { signature: signer.key } },
      h("div", { class: "row" }, h("span", {}, t("sign_here", { name: signer.label })),
        h("button", { type: "button", class: "link", onclick: async () => {
          pad.clear();
          const old = visit.signatures[signer.key];
          delete visit.signatures[signer.key];
          await persist(visit.visit_id, (v) => ({ ...v, signatures: visit.signatures }));
          if (old && old.blob_id) await db.deleteBlob(old.blob_id);
        } }, t("clear"))),
      canvas);
    const pad = new SignatureBox(canvas, {
      onChange: (strokes) => {
        const entry = { ...(visit.signatures[signer.key] || {}), slot: slot.id, strokes };
        visit.signatures[signer.key] = entry;
        // The strokes first (nothing drawn is lost), then the PNG that will be sent.
        persist(visit.visit_id, (v) => ({ ...v, signatures: { ...v.signatures, [signer.key]: { ...(v.signatures[signer.key] || {}), slot: slot.id, strokes } } }));
        enqueue(async () => {
          const png = await pad.png();
          if (!png) return;
          const sha256 = await sha256Hex(png);
          const id = uuid();
          await db.putBlob({ id, visit_id: visit.visit_id, blob: png, type: "image/png", sha256, size: png.size });
          const old = visit.signatures[signer.key] && visit.signatures[signer.key].blob_id;
          visit.signatures[signer.key] = { ...visit.signatures[signer.key], blob_id: id, sha256, size: png.size };
          await db.updateVisit(visit.visit_id, (v) => ({ ...v, signatures: { ...v.signatures, [signer.key]: { ...v.signatures[signer.key], blob_id: id, sha256, size: png.size } } }));
          if (old && old !== id) await db.deleteBlob(old);
          box.dataset.signed = "1";
        }, visit.visit_id);
      },
    });
    pads.push(pad);
    requestAnimationFrame(() => {
      pad.resize();
      if (sig && sig.strokes) pad.load(sig.strokes);
      // strokes kept but their image lost (a failed write): make the image again
      if (!locked && sig && sig.strokes && sig.strokes.length && !sig.blob_id) pad.onChange(pad.strokes);
    });
    if (sig && sig.blob_id) box.dataset.signed = "1";
    return box;
  }

  function drawSlots() {
    for (const p of pads.splice(0)) p.destroy();
    clear(slotsBox, (form.slots || []).map((slot) => {
      const parts = [];
      if (slot.roles.includes("photo")) parts.push(photoSlot(slot, "photo"));
      const people = signers(slot, visit, team);
      const fingerprintMode = slot.roles.includes("fingerprint") && (visit.fingerprint || {})[slot.id];
      if (slot.roles.includes("fingerprint") && !locked) {
        parts.push(h("label", { class: "check" }, h("input", { type: "checkbox", checked: Boolean(fingerprintMode), onchange: async (e) => {
          visit.fingerprint = { ...(visit.fingerprint || {}), [slot.id]: e.target.checked };
          await persist(visit.visit_id, (v) => ({ ...v, fingerprint: visit.fingerprint }));
          drawSlots();
        } }), h("span", {}, t("cannot_write"))));
      }
      if (fingerprintMode || visit.photos.some((p) => p.slot === slot.id && p.role === "fingerprint")) parts.push(photoSlot(slot, "fingerprint"));
      if (!fingerprintMode) for (const signer of people) parts.push(signatureBox(slot, signer));
      return h("section", { class: "card slot", dataset: { slot: slot.id } },
        h("h2", {}, pick(slot.label), slot.min > 0 ? h("span", { class: "req" }, " *") : null),
        h("p", { class: "err", role: "alert" }), parts);
    }));
    loadImages(slotsBox);
  }

  async function loadImages(container) {
    for (const img of container.querySelectorAll("img[data-blob]")) {
      const row = await db.getBlob(img.dataset.blob);
      if (row) img.src = blobUrl(row.blob, urls);
    }
  }

  add(root, slotsBox);
  drawSlots();

  // finalise
  async function finalise(button) {
    await flushSaves();
    visit = await db.getVisit(visit.visit_id);
    const answers = toAnswers(form, visit.values);
    const attachments = attachmentsOf(visit, form);
    const problems = validateAnswers(form, answers, today).map((p) => ({ ...p, path: `answers/${p.path}` }));
    problems.push(...validateAttachments(form, attachments));
    const minTeam = assignment.min_team || 2;
    if (visit.investigators.length < minTeam) {
      problems.push({ path: "investigators", code: "team_too_small", message: t("team_too_small", { n: minTeam }), message_en: t("team_too_small", { n: minTeam }) });
    }
    if ((form.slots || []).some((s) => s.id === "investigators")) {
      for (const uid of visit.investigators) {
        const s = visit.signatures[`investigators:${uid}`];
        if (!s || !s.blob_id) {
          const name = (team.find((m) => m.user_id === uid) || {}).name || uid;
          problems.push({ path: "attachments", slot: "investigators", code: "unsigned", message: t("investigator_unsigned", { name }), message_en: t("investigator_unsigned", { name }) });
        }
      }
    }
    showProblems(problems);
    if (problems.length) {
      rendered.showProblems(problems.filter((p) => p.path.startsWith("answers/")).map((p) => ({ ...p, path: p.path.slice(8) })), true);
      toast(t("fix_first", { n: problems.length }), "error");
      (rendered.firstInvalid() || problemsBox).scrollIntoView({ block: "center" });
      return;
    }
    if (!confirm(t("finalise_q"))) return;
    button.disabled = true;
    try {
      const finish = await locate();
      const envelope = {
        protocol: 1, visit_id: visit.visit_id, assignment_id: visit.assignment_id, case_id: visit.case_id,
        form_id: visit.form_id, form_version: visit.form_version, base_version: visit.base_version, supersedes: visit.supersedes || null,
        answers, attachments: attachments.map(({ id: _id, ...a }) => a), investigators: [...visit.investigators],
        gps: { start: forEnvelope(visit.gps.start), finish: forEnvelope(finish) },
        started_at: visit.started_at, finished_at: isoWithOffset(),
      };
      const hash = await contentHash(envelope);
      const signature = await signVisit(ctx.device.private_key, visit.visit_id, hash);
      await persist(visit.visit_id, (v) => ({
        ...v, status: "ready", envelope, content_hash: hash, own_signature: signature, finalised_at: Date.now(),
        gps: { ...v.gps, finish }, attachments: attachments.map((a) => ({ ...a, uploaded: false })),
        posted: false, own_attested: false, attempts: 0, next_attempt_at: null, error: null, reopened_problems: null,
      }));
      await flushSaves();
      await ctx.requestBackgroundSync();
      ctx.route();
      if (navigator.onLine) ctx.syncNow(false);
    } finally {
      button.disabled = false;
    }
  }

  function showProblems(problems) {
    clear(problemsBox, problems.length ? h("div", { class: "banner error" }, h("strong", {}, t("problems_title", { n: problems.length })),
      h("ul", {}, problems.map((p) => h("li", { dataset: { path: p.path, code: p.code } }, pick({ zh: p.message, en: p.message_en }))))) : null);
    for (const box of slotsBox.querySelectorAll("section.slot")) {
      const err = box.querySelector(":scope > .err");
      const mine = problems.filter((p) => p.slot === box.dataset.slot);
      err.textContent = mine.map((p) => pick({ zh: p.message, en: p.message_en })).join("；");
    }
  }

  if (!locked) {
    const button = h("button", { type: "button", class: "btn primary big", id: "finalise", onclick: (e) => finalise(e.currentTarget) }, t("finalise"));
    add(root, h("div", { class: "actions finish" }, button));
  }
  if (visit.status === "attention" && visit.error) showServerError(visit, problemsBox);

  return {
    name: locked ? "visit-locked" : "visit-edit",
    el: root,
    cleanup() {
      if (onFailure === showFailure) onFailure = null;
      document.removeEventListener("ruhu-gps", onGps);
      for (const p of pads) p.destroy();
      for (const u of urls) URL.revokeObjectURL(u);
    },
  };
}

/** The stored signatures with the ones on screen laid over them (strokes kept; a PNG only where stored). */
function mergeSignatures(stored, shown) {
  const out = { ...(stored || {}) };
  for (const [key, sig] of Object.entries(shown || {})) out[key] = { ...(out[key] || {}), ...sig };
  return out;
}

function showServerError(visit, box) {
  const e = visit.error;
  add(box, h("div", { class: "banner error", id: "server-error" },
    h("strong", {}, pick({ zh: e.message, en: e.message_en })),
    e.problems && e.problems.length ? h("ul", {}, e.problems.map((p) => h("li", { dataset: { path: p.path, code: p.code } },
      `${p.path}: ${pick({ zh: p.message, en: p.message_en })}`))) : null));
}

async function lockedPanel(ctx, visit, form, urls) {
  const progress = visitProgress(visit);
  const server = visit.server || {};
  const panel = h("section", { class: "card locked" });
  if (visit.content_hash) {
    const canvas = h("canvas", { class: "qr", id: "attest-qr", "aria-label": t("qr_alt") });
    drawQr(canvas, qrPayload(visit.visit_id, visit.content_hash, visit.assignment_id, visit.envelope ? recordDigest(visit.envelope.answers) : null));
    add(panel, h("h2", {}, t("partner_confirm")), canvas,
      h("p", { class: "hash" }, t("hash_short"), h("strong", { class: "mono", id: "hash-short" }, shortHash(visit.content_hash))),
      h("p", { class: "small" }, t("qr_explain")),
      h("p", { class: "muted mono small", id: "content-hash" }, visit.content_hash));
  }
  const successor = (await db.listVisits()).find((v) => v.supersedes === visit.visit_id);
  // Replaced only once the amendment is accepted (attested); until then this record stays the case's.
  const superseded = server.status === "superseded" || Boolean(successor && successor.server && successor.server.status === "accepted");
  const replacing = !superseded && Boolean(successor && successor.posted);
  add(panel, 
    h("div", { class: "row" }, h("span", {}, t("sync_progress")),
      h("progress", { max: progress.total, value: progress.done, dataset: { progressFor: visit.visit_id } })),
    visit.status === "synced" ? h("p", { class: superseded ? "muted" : "ok", id: "server-status" }, superseded ? t("server_superseded")
      : replacing ? t("server_replacing")
      : server.status === "accepted" ? t("server_accepted")
        : t("server_waiting", { n: (server.attested_by || []).length })) : null,
    visit.status === "synced" && visit.keep_until ? h("p", { class: "muted" }, t("kept_until", { when: new Date(visit.keep_until).toLocaleDateString() })) : null,
    visit.last_error && visit.status === "ready" ? h("p", { class: "muted" }, t("will_retry", { when: new Date(visit.next_attempt_at || Date.now()).toLocaleTimeString() })) : null);
  // Editing after sending: a new record that names this one in `supersedes`; the server keeps both and
  // uses the new one, and the team confirms it again.
  if (visit.status === "synced" && !superseded) {
    add(panel, h("div", { class: "actions" }, successor
      ? h("a", { href: `#/v/${successor.visit_id}`, class: "btn secondary", id: "amend" }, t("amend_open"))
      : h("button", { type: "button", class: "btn secondary", id: "amend", onclick: () => amend(ctx, visit) }, t("amend"))));
  }
  if (visit.status === "attention") {
    add(panel, h("div", { class: "actions" },
      !visit.posted && (visit.error || {}).code !== "record_exists" ? h("button", { type: "button", class: "btn primary", id: "reopen", onclick: () => reopen(ctx, visit) }, t("reopen")) : null,
      h("button", { type: "button", class: "btn secondary", id: "retry", onclick: async () => {
        await db.updateVisit(visit.visit_id, (v) => ({ ...v, status: "ready", next_attempt_at: null, error: null }));
        await ctx.syncNow(true);
        ctx.route();
      } }, t("retry"))));
  }
  return panel;
}

/** Start an amendment of a record the server holds: a draft with the same answers, photos and signatures
 *  (copied, so each record owns its files), the same start time, and `supersedes` naming the old record. */
async function amend(ctx, visit) {
  if (!confirm(t("amend_q"))) return;
  const rows = await db.blobsOfVisit(visit.visit_id);
  const have = new Set(rows.map((r) => r.id));
  const needed = [...visit.photos.map((p) => p.id), ...Object.values(visit.signatures).map((s) => s.blob_id).filter(Boolean)];
  if (needed.some((id) => !have.has(id))) {
    toast(t("amend_blobs_missing"), "error");
    return;
  }
  const id = uuid();
  const renamed = {};
  // An amendment is a new statement: the drawn signatures of the old record are NOT carried over (the
  // applicant and every investigator sign the changed record again); photos and fingerprints are.
  const signatureBlobs = new Set(Object.values(visit.signatures).map((s) => s.blob_id).filter(Boolean));
  for (const row of rows) {
    if (signatureBlobs.has(row.id)) continue;
    renamed[row.id] = uuid();
    await db.putBlob({ ...row, id: renamed[row.id], visit_id: id });
  }
  const assignment = (await db.getAssignment(visit.assignment_id)) || visit.assignment_copy || null;
  const signatures = {};
  await db.putVisit({
    visit_id: id, assignment_id: visit.assignment_id, case_id: visit.case_id, form_id: visit.form_id, form_version: visit.form_version,
    base_version: assignment ? assignment.base_version : visit.base_version, supersedes: visit.visit_id, status: "draft",
    created_at: Date.now(), values: structuredClone(visit.values), investigators: [...visit.investigators],
    photos: visit.photos.map((p) => ({ ...p, id: renamed[p.id], thumb_id: p.thumb_id ? renamed[p.thumb_id] : undefined })),
    signatures, fingerprint: visit.fingerprint, gps: { start: visit.gps.start, finish: null }, started_at: visit.started_at,
    assignment_copy: visit.assignment_copy || assignment,
  });
  ctx.go(`#/v/${id}`);
}

/** A record the server refused (never stored there) goes back to being a draft, under a new visit
 *  id: the refused id is never reused with other content. */
async function reopen(ctx, visit) {
  if (!confirm(t("reopen_q"))) return;
  const id = uuid();
  const { envelope: _e, content_hash: _h, own_signature: _s, attachments: _a, ...rest } = visit;
  await db.putVisit({ ...rest, visit_id: id, status: "draft", error: null, reopened_problems: (visit.error && visit.error.problems) || [], posted: false, own_attested: false });
  for (const row of await db.blobsOfVisit(visit.visit_id)) await db.putBlob({ ...row, visit_id: id });
  await db.deleteVisit(visit.visit_id); // its photos and signatures now belong to the new record
  ctx.go(`#/v/${id}`);
}
