// The device key and attestations: a non-extractable ECDSA P-256 key made on the phone and kept
// in IndexedDB as a CryptoKey; the public half is sent once, as a JWK, at enrolment. An
// attestation signs sync/protocol.py's attestation_message(visit_id, content_hash); WebCrypto's
// ECDSA signature is already the raw 64-byte r||s the server expects, sent base64url.

import { attestationMessage, isContentHash, isVisitId } from "./protocol.js";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };

export async function generateDeviceKey() {
  // extractable = false: the private key can sign but never leave this browser profile.
  return crypto.subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);
}

export async function publicJwk(publicKey) {
  const jwk = await crypto.subtle.exportKey("jwk", publicKey);
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

export function base64url(buffer) {
  let s = "";
  for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The base64url raw r||s signature of (visit id, content hash) by the device's private key. */
export async function signVisit(privateKey, visitId, contentHash) {
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, attestationMessage(visitId, contentHash));
  return base64url(signature);
}

// --- the QR a finalised visit shows to the partner -------------------------------------------------
// "RUHU2|<visit id>|<content hash>|<assignment id>|<digest>": the digest is base64url(UTF-8 JSON)
// {"m": [members' names], "i": "<6-month income total, yuan>", "r": "<recommendation value>"}, so a
// partner's phone offline shows what the record says (not its own copy of the assignment). "RUHU1|…"
// (four parts, no digest) from older phones is still read.

const PREFIX = "RUHU1";
const PREFIX2 = "RUHU2";

function toBase64url(text) {
  return base64url(new TextEncoder().encode(text));
}

function fromBase64url(text) {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

const cents = (v) => {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(v ?? "").trim());
  return m ? Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0")) : 0;
};

/** What matters in a record's answers, for the partner to read before signing: members (name,
 *  relation), the total of every income source over the months listed, the recommendation, the summary. */
export function recordDigest(answers) {
  const a = answers || {};
  const members = Array.isArray(a.members) ? a.members.filter((m) => m && m.name).map((m) => ({ name: String(m.name), relation: m.relation || "" })) : [];
  let total = 0;
  let months = 0;
  for (const values of Object.values(a.income || {})) {
    if (!Array.isArray(values)) continue;
    months = Math.max(months, values.length);
    for (const v of values) total += cents(v);
  }
  const findings = a.findings || {};
  return {
    members, income_total: a.income ? `${Math.floor(total / 100)}.${String(total % 100).padStart(2, "0")}` : null, months,
    recommendation: findings.recommendation || null, summary: findings.summary || null,
  };
}

export function qrPayload(visitId, contentHash, assignmentId, digest = null) {
  if (!digest) return [PREFIX, visitId, contentHash, String(assignmentId)].join("|");
  const compact = { m: digest.members.map((m) => m.name), i: digest.income_total, r: digest.recommendation };
  return [PREFIX2, visitId, contentHash, String(assignmentId), toBase64url(JSON.stringify(compact))].join("|");
}

export function parseQrPayload(text) {
  const parts = String(text || "").trim().split("|");
  const v2 = parts.length === 5 && parts[0] === PREFIX2;
  if (!(v2 || (parts.length === 4 && parts[0] === PREFIX))) return null;
  const [, visitId, contentHash, assignment] = parts;
  if (!isVisitId(visitId) || !isContentHash(contentHash) || !/^[1-9][0-9]{0,15}$/.test(assignment)) return null;
  const out = { visit_id: visitId, content_hash: contentHash, assignment_id: Number(assignment), digest: null };
  if (v2) {
    try {
      const d = JSON.parse(fromBase64url(parts[4]));
      if (!d || !Array.isArray(d.m) || !d.m.every((n) => typeof n === "string")) return null;
      out.digest = { members: d.m.map((name) => ({ name, relation: "" })), income_total: typeof d.i === "string" ? d.i : null,
        recommendation: typeof d.r === "string" ? d.r : null, summary: null };
    } catch {
      return null;
    }
  }
  return out;
}

/** The first 4+4 hex digits of a hash, grouped, for two people to compare by eye. */
export function shortHash(hash) {
  return `${hash.slice(0, 4)} ${hash.slice(4, 8)}`.toUpperCase();
}
