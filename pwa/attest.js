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
// "RUHU1|<visit id>|<content hash>|<assignment id>": short enough for a QR that a phone camera
// reads at arm's length; the assignment id only lets the partner's phone show which household it is.

const PREFIX = "RUHU1";

export function qrPayload(visitId, contentHash, assignmentId) {
  return [PREFIX, visitId, contentHash, String(assignmentId)].join("|");
}

export function parseQrPayload(text) {
  const parts = String(text || "").trim().split("|");
  if (parts.length !== 4 || parts[0] !== PREFIX) return null;
  const [, visitId, contentHash, assignment] = parts;
  if (!isVisitId(visitId) || !isContentHash(contentHash) || !/^[1-9][0-9]{0,15}$/.test(assignment)) return null;
  return { visit_id: visitId, content_hash: contentHash, assignment_id: Number(assignment) };
}

/** The first 4+4 hex digits of a hash, grouped, for two people to compare by eye. */
export function shortHash(hash) {
  return `${hash.slice(0, 4)} ${hash.slice(4, 8)}`.toUpperCase();
}
