// The ONLY module that talks to the server: the sync contract of docs/api.md (/api/v1).
// Every call answers {status, body} or throws NetworkError (no answer: offline, dropped, timed out).

import { getMeta } from "./db.js";

const API = new URL("../api/v1/", new URL(".", self.location.href)).href; // /app/ -> /api/v1/
const TIMEOUT_MS = 60000;

export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = "NetworkError";
  }
}

async function token() {
  const device = await getMeta("device");
  return device ? device.token : null;
}

async function call(method, path, { json, body, contentType, headers = {}, auth = true } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (auth) {
    const t = await token();
    if (!t) return { status: 401, body: { error: "not_enrolled" } };
    h.Authorization = `Bearer ${t}`;
  }
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    h["Content-Type"] = "application/json";
  } else if (contentType) {
    h["Content-Type"] = contentType;
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  try {
    response = await fetch(API + path, { method, headers: h, body: payload, cache: "no-store", credentials: "omit", signal: controller.signal });
  } catch (err) {
    throw new NetworkError(String(err && err.message ? err.message : err));
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // A proxy's HTML error page, or a body cut off: the status still tells what happened.
    if (response.status < 500 && response.ok) throw new NetworkError("unreadable answer");
  }
  return { status: response.status, body: data || {} };
}

export const enroll = (code, deviceName, publicKey) =>
  call("POST", "devices/enroll", { json: { code, device_name: deviceName, public_key: publicKey }, auth: false });

export const me = () => call("GET", "me");

export const pull = (since, forms) => {
  const query = new URLSearchParams();
  if (since) query.set("since", since);
  if (forms) query.set("forms", forms); // the forms version held: unchanged forms are not sent again
  return call("GET", "sync/pull" + (query.size ? `?${query}` : ""));
};

export const putAttachment = (sha256, blob, type) => call("PUT", `attachments/${sha256}`, { body: blob, contentType: type });

export const postVisit = (envelope) => call("POST", "visits", { json: envelope, headers: { "Idempotency-Key": envelope.visit_id } });

/** The visit, the files not yet on the server and this phone's own attestation in one request (multipart):
 * one round trip instead of one per photo. `files`: [{sha256, blob, type}]; `attestation` may be null. */
export const postVisitBundle = (envelope, files, attestation) => {
  const form = new FormData();
  form.append("envelope", new Blob([JSON.stringify(envelope)], { type: "application/json" }), "envelope.json");
  for (const f of files) form.append(f.sha256, new Blob([f.blob], { type: f.type }), f.sha256);
  if (attestation) form.append("attestation", new Blob([JSON.stringify(attestation)], { type: "application/json" }), "attestation.json");
  return call("POST", "visits", { body: form, headers: { "Idempotency-Key": envelope.visit_id } });
};

export const getVisit = (visitId) => call("GET", `visits/${encodeURIComponent(visitId)}`);

export const postAttestation = (attestation) => call("POST", "attestations", { json: attestation });
