// The sync protocol on the phone: canonical JSON, content hashes and the attestation message.
// Byte for byte the recipe of sync/protocol.py (its module docstring); the shared vectors are
// tests/fixtures/sync_envelopes.json and a browser test checks them. Pure: no DOM, no storage.

export const PROTOCOL_VERSION = 1;
export const ATTESTATION_PURPOSE = "ruhu-visit-attestation";
export const SIGNED_KEYS = [
  "protocol", "visit_id", "assignment_id", "case_id", "form_id", "form_version", "base_version",
  "supersedes", "answers", "attachments", "investigators", "gps", "started_at", "finished_at",
];

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(s) {
  return typeof s.isWellFormed === "function" ? s.isWellFormed() : !LONE_SURROGATE.test(s);
}

function quote(s, path) {
  if (!wellFormed(s)) throw new RangeError(`not canonical JSON at ${path || "<root>"}: string with a lone surrogate`);
  // JSON.stringify escapes exactly as the recipe says: \" \\ \b \t \n \f \r, other controls as
  // lowercase \u00xx, everything else (DEL, U+2028, non-ASCII) as itself.
  return JSON.stringify(s.normalize("NFC"));
}

function isPlainObject(v) {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function write(value, path) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      if (Number.isInteger(value)) throw new RangeError(`not canonical JSON at ${path || "<root>"}: integer out of range`);
      throw new TypeError(`not canonical JSON at ${path || "<root>"}: only integers (amounts travel as strings)`);
    }
    return String(value === 0 ? 0 : value); // -0 is written 0, as Python's int has no -0
  }
  if (typeof value === "string") return quote(value, path);
  if (Array.isArray(value)) return "[" + value.map((v, i) => write(v, `${path}/${i}`)).join(",") + "]";
  if (isPlainObject(value)) {
    const entries = new Map();
    for (const key of Object.keys(value)) {
      if (!wellFormed(key)) throw new RangeError(`not canonical JSON at ${path}/${key}: key with a lone surrogate`);
      const nfc = key.normalize("NFC");
      if (entries.has(nfc)) throw new RangeError(`not canonical JSON at ${path}/${nfc}: two keys equal after NFC`);
      entries.set(nfc, value[key]);
    }
    // Default sort compares UTF-16 code units: exactly the canonical order. Walk the sorted keys
    // ourselves: index-like keys ("0", "17") would otherwise come first in property order.
    const keys = [...entries.keys()].sort();
    return "{" + keys.map((k) => quote(k, path) + ":" + write(entries.get(k), `${path}/${k}`)).join(",") + "}";
  }
  throw new TypeError(`not canonical JSON at ${path || "<root>"}: unsupported value ${typeof value}`);
}

/** The canonical JSON text of value (UTF-8 encode it for the bytes). Throws TypeError/RangeError. */
export function canonicalJSON(value) {
  return write(value, "");
}

export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalJSON(value));
}

export function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(data) {
  const bytes = data instanceof Blob ? await data.arrayBuffer() : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

/** Lowercase hex SHA-256 of the canonical JSON of the envelope's signed keys. */
export async function contentHash(envelope) {
  const signed = {};
  for (const key of SIGNED_KEYS) if (Object.hasOwn(envelope, key)) signed[key] = envelope[key];
  return sha256Hex(canonicalBytes(signed));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHA = /^[0-9a-f]{64}$/;
export const isVisitId = (v) => typeof v === "string" && UUID.test(v);
export const isContentHash = (v) => typeof v === "string" && SHA.test(v);

/** Exactly the bytes a device signs to attest a visit revision. */
export function attestationMessage(visitId, hash) {
  if (!isVisitId(visitId)) throw new RangeError("visit_id must be a lowercase canonical UUID");
  if (!isContentHash(hash)) throw new RangeError("content_hash must be 64 lowercase hex digits");
  return canonicalBytes({ protocol: PROTOCOL_VERSION, purpose: ATTESTATION_PURPOSE, visit_id: visitId, content_hash: hash });
}

/** An ISO 8601 date-time with seconds and the device's offset: 2026-11-20T09:15:00+08:00. */
export function isoWithOffset(date = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The device's local date as YYYY-MM-DD. */
export function localDate(date = new Date()) {
  return isoWithOffset(date).slice(0, 10);
}
