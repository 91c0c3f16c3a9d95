// The phone's storage: the ONLY module that opens IndexedDB. Everything the investigator enters
// lives here from the moment it is typed, so reloads, closed browsers and restarts lose nothing.
//
// Upgrade ladder: each step N runs once, in order, for a database older than N. Never edit a step
// that has shipped; add the next one.
//   1  meta (key/value: device, cursor, settings), assignments, forms, visits (drafts and finalised
//      records), blobs (photos and signatures), attestations (a partner's signatures of others' visits)
//   2  visits.by_status index, log (the sync log shown on the settings page)

import { openDB } from "./vendor/idb/build/index.js";

export const DB_NAME = "ruhu";
export const DB_VERSION = 2;

const LADDER = {
  1(db) {
    db.createObjectStore("meta");
    db.createObjectStore("assignments", { keyPath: "assignment_id" });
    db.createObjectStore("forms", { keyPath: "key" });
    const visits = db.createObjectStore("visits", { keyPath: "visit_id" });
    visits.createIndex("by_assignment", "assignment_id");
    const blobs = db.createObjectStore("blobs", { keyPath: "id" });
    blobs.createIndex("by_visit", "visit_id");
    db.createObjectStore("attestations", { keyPath: "visit_id" });
  },
  2(db, tx) {
    tx.objectStore("visits").createIndex("by_status", "status");
    db.createObjectStore("log", { keyPath: "seq", autoIncrement: true });
  },
};

let opening = null;

export function open() {
  if (!opening) {
    opening = openDB(DB_NAME, DB_VERSION, {
      upgrade(db, oldVersion, newVersion, tx) {
        for (let step = oldVersion + 1; step <= newVersion; step += 1) LADDER[step](db, tx);
      },
      blocking() {
        // A newer version of the app (another tab, or the next deploy) wants to upgrade: let it.
        opening?.then((db) => db.close());
        opening = null;
      },
    });
  }
  return opening;
}

// --- meta -------------------------------------------------------------------------------------

export async function getMeta(key) {
  return (await open()).get("meta", key);
}

export async function setMeta(key, value) {
  return (await open()).put("meta", value, key);
}

export async function deleteMeta(key) {
  return (await open()).delete("meta", key);
}

// --- assignments and forms ----------------------------------------------------------------------

export async function listAssignments() {
  return (await open()).getAll("assignments");
}

export async function getAssignment(id) {
  return (await open()).get("assignments", Number(id));
}

/** Apply a pull: store its assignments and forms, drop the revoked ones (kept, marked, while a
 *  local record of it exists), remember the cursor — one transaction. */
export async function applyPull(body, keepIds) {
  const db = await open();
  const tx = db.transaction(["assignments", "forms", "meta"], "readwrite");
  const store = tx.objectStore("assignments");
  if (body.full) {
    const fresh = new Set(body.assignments.map((a) => a.assignment_id));
    for (const key of await store.getAllKeys()) {
      if (!fresh.has(key)) {
        if (keepIds.has(key)) await store.put({ ...(await store.get(key)), revoked: true });
        else await store.delete(key);
      }
    }
  }
  for (const a of body.assignments) await store.put({ ...a, pulled_at: Date.now() });
  for (const id of body.revoked || []) {
    if (keepIds.has(id)) {
      const old = await store.get(id);
      if (old) await store.put({ ...old, revoked: true });
    } else {
      await store.delete(id);
    }
  }
  for (const form of body.forms || []) await tx.objectStore("forms").put({ ...form, key: `${form.id}@${form.version}` });
  if (body.forms_version) await tx.objectStore("meta").put(body.forms_version, "forms_version");
  // Visits of partners waiting for this investigator's signature (the online attestation path).
  await tx.objectStore("meta").put(Array.isArray(body.to_attest) ? body.to_attest : [], "to_attest");
  await tx.objectStore("meta").put(body.cursor, "cursor");
  await tx.objectStore("meta").put(Date.now(), "last_pull");
  await tx.done;
}

export async function getForm(id, version) {
  const row = await (await open()).get("forms", `${id}@${version}`);
  if (!row) return undefined;
  const { key: _key, ...form } = row;
  return form;
}

// --- visits ----------------------------------------------------------------------------------

export async function getVisit(id) {
  return (await open()).get("visits", id);
}

export async function listVisits() {
  return (await open()).getAll("visits");
}

export async function putVisit(visit) {
  return (await open()).put("visits", { ...visit, updated_at: Date.now() });
}

/** Read-modify-write of one visit in one transaction; `change(visit)` returns the new record
 *  (or undefined to leave it). */
export async function updateVisit(id, change) {
  const db = await open();
  const tx = db.transaction("visits", "readwrite");
  const current = await tx.store.get(id);
  if (!current) {
    await tx.done;
    return undefined;
  }
  const next = change(structuredClone(current));
  if (next) await tx.store.put({ ...next, updated_at: Date.now() });
  await tx.done;
  return next || current;
}

/** Delete a visit and its photos and signatures. */
export async function deleteVisit(id) {
  const db = await open();
  const tx = db.transaction(["visits", "blobs"], "readwrite");
  await tx.objectStore("visits").delete(id);
  const blobs = tx.objectStore("blobs");
  for (const key of await blobs.index("by_visit").getAllKeys(id)) await blobs.delete(key);
  await tx.done;
}

// --- blobs -----------------------------------------------------------------------------------

export async function putBlob(row) {
  return (await open()).put("blobs", row);
}

export async function getBlob(id) {
  return (await open()).get("blobs", id);
}

export async function deleteBlob(id) {
  return (await open()).delete("blobs", id);
}

export async function blobsOfVisit(visitId) {
  return (await open()).getAllFromIndex("blobs", "by_visit", visitId);
}

// --- a partner's attestations of others' visits --------------------------------------------------

export async function listAttestations() {
  return (await open()).getAll("attestations");
}

export async function getAttestation(visitId) {
  return (await open()).get("attestations", visitId);
}

export async function putAttestation(row) {
  return (await open()).put("attestations", { ...row, updated_at: Date.now() });
}

export async function deleteAttestation(visitId) {
  return (await open()).delete("attestations", visitId);
}

// --- the sync log ----------------------------------------------------------------------------

const LOG_KEEP = 200;

export async function log(entry) {
  const db = await open();
  const tx = db.transaction("log", "readwrite");
  await tx.store.add({ at: Date.now(), ...entry });
  const count = await tx.store.count();
  if (count > LOG_KEEP) {
    let cursor = await tx.store.openCursor();
    for (let i = 0; i < count - LOG_KEEP && cursor; i += 1) {
      await cursor.delete();
      cursor = await cursor.continue();
    }
  }
  await tx.done;
}

export async function recentLog(n = 30) {
  const all = await (await open()).getAll("log");
  return all.slice(-n).reverse();
}

/** Forget everything on this phone (after a revoked device is re-enrolled as someone else). */
export async function wipe() {
  const db = await open();
  const names = [...db.objectStoreNames];
  const tx = db.transaction(names, "readwrite");
  await Promise.all(names.map((n) => tx.objectStore(n).clear()));
  await tx.done;
}
