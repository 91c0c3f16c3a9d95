// The outbox: everything finalised on this phone goes to the server in the contract's order —
// attachments first (PUT by hash), then the visit (POST with Idempotency-Key), then the
// attestation — each step remembered in IndexedDB as soon as the server confirms it, so a
// dropped request, a closed app or a dead battery only repeats an idempotent call.
//
// Runs in the page (app start, the `online` event, a timer, the "立即同步" button) and in the
// service worker (Background Sync); a Web Lock keeps two runs from overlapping. No DOM here.

import * as db from "./db.js";
import * as api from "./sync-client.js";
import { NetworkError } from "./sync-client.js";
import { due, nextAttemptAt } from "./backoff.js";

export const KEEP_MS = 7 * 24 * 3600 * 1000; // a confirmed record stays, read-only, this long
export const CHANNEL = "ruhu-sync";
export const SYNC_TAG = "ruhu-outbox";

class AuthError extends Error {}

const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;
const listeners = new Set();

export function onProgress(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(message) {
  for (const fn of listeners) fn(message);
  if (channel) channel.postMessage({ ...message, from: typeof document === "undefined" ? "worker" : "page" });
}

const transient = (status) => status >= 500 || status === 408 || status === 429 || status === 0;
/** The answer to send again later: a transient status, or someone else changing the same record just then. */
const tryLater = (r) => transient(r.status) || (r.status === 409 && (r.body || {}).error === "edited_meanwhile");

function problemOf(body, status) {
  return {
    status,
    code: body.error || `http_${status}`,
    message: body.message || `服务器返回 ${status}`,
    message_en: body.message_en || `the server answered ${status}`,
    problems: Array.isArray(body.problems) ? body.problems : [],
  };
}

// The outbox has no DOM and no message table (it also runs in the service worker): its own two texts.
const RECORD_EXISTS = {
  zh: "这户已有一份调查记录（编号 {id}，由同组人员上传），服务器不接受第二份独立记录。本记录已保留在本机，不会自动重发：请与同组人员核对；需要补充时，在那份记录上修改，或联系经办人。",
  en: "This household already has a record (id {id}, sent by a teammate); the server does not take a second independent record. This record stays on this phone and is not resent: check with your teammate; to add something, amend that record or ask the caseworker.",
};

/** The visit id of the record already standing for the assignment, from a 409 answer, or null. */
function existingRecord(body, v) {
  const id = body && (body.existing_visit_id || body.visit_id);
  return typeof id === "string" && id !== v.visit_id ? id : null;
}

export function visitProgress(v) {
  const atts = v.attachments || [];
  const total = atts.length + 2;
  const done = atts.filter((a) => a.uploaded).length + (v.posted ? 1 : 0) + (v.own_attested ? 1 : 0);
  return { done: v.status === "synced" ? total : done, total };
}

async function save(v, changes) {
  const next = await db.updateVisit(v.visit_id, (cur) => ({ ...cur, ...changes }));
  if (next.supersedes && next.server && next.server.status === "accepted") {
    // The amendment was accepted (attested by the team): only now does it replace the record it amends.
    await db.updateVisit(next.supersedes, (old) => (old.server && old.server.status === "superseded" ? undefined
      : { ...old, server: { ...(old.server || {}), status: "superseded" } }));
  }
  emit({ type: "visit", visit_id: v.visit_id, status: next.status, server_status: (next.server || {}).status || "", progress: visitProgress(next) });
  return next;
}

async function backoff(v, reason) {
  const attempts = (v.attempts || 0) + 1;
  await db.log({ kind: "retry", visit_id: v.visit_id, reason });
  return save(v, { status: "ready", attempts, next_attempt_at: nextAttemptAt(attempts), last_error: reason });
}

async function attention(v, problem) {
  await db.log({ kind: "attention", visit_id: v.visit_id, code: problem.code });
  return save(v, { status: "attention", error: problem, next_attempt_at: null });
}

/** The first push of a visit: the visit, its files and this phone's attestation in one request. Answers
 * `{ v }` (the saved visit, to go on with) or `{ done }` (a finished outcome: backoff / attention). Too large for one request (413), or a
 * server without it (415): the visit is marked to go file by file. */
async function pushBundle(v, device) {
  const files = [];
  for (const att of v.attachments) {
    if (att.uploaded) continue;
    const row = await db.getBlob(att.id);
    if (!row) return { done: await attention(v, BLOB_MISSING) };
    files.push({ sha256: att.sha256, blob: row.blob, type: att.type });
  }
  const attestation = v.own_attested ? null : { content_hash: v.content_hash, device_id: device.device_id, signature: v.own_signature };
  const r = await api.postVisitBundle(v.envelope, files, attestation);
  if (r.status === 401) throw new AuthError();
  if (r.status === 413 || r.status === 415) return { v: await save(v, { bundle: false }) };
  if (r.status === 200 || r.status === 201) {
    const missing = new Set(r.body.missing_attachments || []);
    const answer = r.body.attestation || {};
    return { v: await save(v, {
      posted: true, server: r.body, error: null,
      own_attested: v.own_attested || answer.http_status === 200 || answer.http_status === 201,
      attachments: v.attachments.map((a) => ({ ...a, uploaded: !missing.has(a.sha256) })),
    }) };
  }
  if (transient(r.status)) return { done: await backoff(v, `POST visit ${r.status}`) };
  return { done: await refused(v, r) };
}

/** A refused visit POST: the teammate's record already there (409 record_exists), or a problem to show. */
function refused(v, r) {
  const other = r.status === 409 && existingRecord(r.body, v);
  if (other) {
    // One record per assignment: a teammate's record is already there. Keep this one, stop, say so.
    return attention(v, { ...problemOf(r.body, r.status), code: "record_exists", existing_visit_id: other,
      message: RECORD_EXISTS.zh.replace("{id}", other.slice(0, 8)), message_en: RECORD_EXISTS.en.replace("{id}", other.slice(0, 8)) });
  }
  return attention(v, problemOf(r.body, r.status));
}

const BLOB_MISSING = { code: "blob_missing", message: "本机上的照片或签字文件丢失", message_en: "a photo or signature is missing on this phone", problems: [] };

/** Push one finalised visit as far as it goes. */
async function pushVisit(v, device) {
  v = await save(v, { status: "syncing" });
  if (!v.posted && v.bundle !== false) {
    const out = await pushBundle(v, device);
    if (out.done) return out.done;
    v = out.v;
  }
  for (let round = 0; round < 2; round += 1) {
    for (const att of v.attachments) {
      if (att.uploaded) continue;
      const row = await db.getBlob(att.id);
      if (!row) return attention(v, BLOB_MISSING);
      const r = await api.putAttachment(att.sha256, row.blob, att.type);
      if (r.status === 401) throw new AuthError();
      if (r.status === 200 || r.status === 201) {
        v = await save(v, { attachments: v.attachments.map((a) => (a.id === att.id ? { ...a, uploaded: true } : a)) });
      } else if (transient(r.status)) {
        return backoff(v, `PUT ${r.status}`);
      } else {
        return attention(v, { ...problemOf(r.body, r.status), attachment: att.id });
      }
    }
    if (!v.posted || (v.server && v.server.missing_attachments && v.server.missing_attachments.length)) {
      const r = await api.postVisit(v.envelope);
      if (r.status === 401) throw new AuthError();
      if (r.status === 200 || r.status === 201) {
        const missing = new Set(r.body.missing_attachments || []);
        v = await save(v, {
          posted: true, server: r.body, error: null,
          attachments: v.attachments.map((a) => (missing.has(a.sha256) ? { ...a, uploaded: false } : a)),
        });
        if (missing.size) continue; // the server lost or never got some: send them again
      } else if (transient(r.status)) {
        return backoff(v, `POST visit ${r.status}`);
      } else {
        return refused(v, r);
      }
    }
    break;
  }
  if (!v.own_attested) {
    const r = await api.postAttestation({ visit_id: v.visit_id, content_hash: v.content_hash, device_id: device.device_id, signature: v.own_signature });
    if (r.status === 401) throw new AuthError();
    if (r.status === 200 || r.status === 201) {
      v = await save(v, { own_attested: true, server: { ...(v.server || {}), status: r.body.status } });
    } else if (tryLater(r) || r.status === 404) {
      return backoff(v, `POST attestation ${r.status}`);
    } else {
      return attention(v, problemOf(r.body, r.status));
    }
  }
  if (v.attachments.every((a) => a.uploaded) && v.posted && v.own_attested) {
    const now = Date.now();
    await db.log({ kind: "synced", visit_id: v.visit_id });
    v = await save(v, { status: "synced", synced_at: now, keep_until: now + KEEP_MS, attempts: 0, next_attempt_at: null, error: null });
  }
  return v;
}

/** A partner's attestation of someone else's visit; waits (404) until that visit is on the server. */
async function pushAttestation(a, device) {
  const r = await api.postAttestation({ visit_id: a.visit_id, content_hash: a.content_hash, device_id: device.device_id, signature: a.signature });
  if (r.status === 401) throw new AuthError();
  let next;
  if (r.status === 200 || r.status === 201) {
    const now = Date.now();
    next = { ...a, status: "synced", synced_at: now, keep_until: now + KEEP_MS, server_status: r.body.status, error: null, next_attempt_at: null };
    await db.log({ kind: "attested", visit_id: a.visit_id });
  } else if (tryLater(r) || (r.status === 404 && r.body.error === "visit_unknown")) {
    const attempts = (a.attempts || 0) + 1;
    next = { ...a, status: r.status === 404 ? "waiting" : "pending", attempts, next_attempt_at: nextAttemptAt(attempts) };
  } else {
    next = { ...a, status: "attention", error: problemOf(r.body, r.status), next_attempt_at: null };
  }
  await db.putAttestation(next);
  emit({ type: "attestation", visit_id: a.visit_id, status: next.status });
  return next;
}

async function pullAssignments() {
  const since = await db.getMeta("cursor");
  const r = await api.pull(since, await db.getMeta("forms_version"));
  if (r.status === 401) throw new AuthError();
  if (r.status !== 200) return false;
  const keep = new Set((await db.listVisits()).filter((v) => v.status !== "synced").map((v) => v.assignment_id));
  await db.applyPull(r.body, keep);
  emit({ type: "pulled", count: r.body.assignments.length });
  return true;
}

async function refreshStatuses() {
  // What became of confirmed visits (waiting for the partner, accepted into the case).
  for (const v of await db.listVisits()) {
    if (v.status !== "synced" || (v.server && ["accepted", "superseded"].includes(v.server.status))) continue;
    const r = await api.getVisit(v.visit_id);
    if (r.status === 200) await save(v, { server: r.body });
  }
}

async function purge(now = Date.now()) {
  for (const v of await db.listVisits()) {
    if (v.status === "synced" && v.keep_until && v.keep_until < now) await db.deleteVisit(v.visit_id);
  }
  for (const a of await db.listAttestations()) {
    if (a.status === "synced" && a.keep_until && a.keep_until < now) await db.deleteAttestation(a.visit_id);
  }
}

async function run({ force, pull }) {
  const device = await db.getMeta("device");
  if (!device) return { pending: 0 };
  emit({ type: "start" });
  let offline = false;
  try {
    for (const v of await db.listVisits()) {
      if (!["ready", "syncing"].includes(v.status) || !due(v, Date.now(), force)) continue;
      try {
        await pushVisit(v, device);
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
        offline = true;
        await backoff(await db.getVisit(v.visit_id), "network");
      }
    }
    for (const a of await db.listAttestations()) {
      if (!["pending", "waiting"].includes(a.status) || !due(a, Date.now(), force)) continue;
      try {
        await pushAttestation(a, device);
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
        offline = true;
        const attempts = (a.attempts || 0) + 1;
        await db.putAttestation({ ...a, attempts, next_attempt_at: nextAttemptAt(attempts) });
      }
    }
    if (pull) {
      try {
        await pullAssignments();
        await refreshStatuses();
        await db.setMeta("last_sync", Date.now());
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
        offline = true;
      }
    }
    await db.deleteMeta("auth_failed");
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    await db.setMeta("auth_failed", Date.now());
    emit({ type: "auth_failed" });
  }
  await purge();
  const pending = await pendingCount();
  emit({ type: "done", pending, offline });
  return { pending, offline };
}

export async function pendingCount() {
  const visits = (await db.listVisits()).filter((v) => ["ready", "syncing"].includes(v.status)).length;
  const atts = (await db.listAttestations()).filter((a) => ["pending", "waiting"].includes(a.status)).length;
  return visits + atts;
}

let running = null;

/** One sync run: push what is due (everything when forced), then pull. Concurrent calls share a run. */
export function sync({ force = false, pull = true } = {}) {
  if (running) return running;
  const body = () => run({ force, pull });
  const locked = typeof navigator !== "undefined" && navigator.locks
    ? navigator.locks.request("ruhu-outbox", body)
    : body();
  running = locked.finally(() => {
    running = null;
  });
  return running;
}

/** Ask for a Background Sync where the browser has it (Chrome on Android); elsewhere the page's
 *  own triggers (online event, timer, app start, the button) do the work. */
export async function requestBackgroundSync() {
  try {
    if (!navigator.serviceWorker) return false;
    // .ready never settles on a page without a service worker: do not wait for it long.
    const reg = await Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(() => r(null), 1500))]);
    if (reg && reg.sync) await reg.sync.register(SYNC_TAG);
    return Boolean(reg && reg.sync);
  } catch {
    return false;
  }
}
