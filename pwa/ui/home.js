// The start screen (assignments, offline, with deadline and status; the partner's confirmations)
// and one assignment's details, where a visit is started.

import * as db from "../db.js";
import { h, toast, uuid } from "./dom.js";
import { t, pick, has } from "./i18n.js";
import { emptyValues } from "../forms/renderer.js";
import { isoWithOffset, localDate } from "../protocol.js";
import { recordDigest } from "../attest.js";
import { locate } from "./gps.js";
import { storageBanner } from "./settings.js";

export const STATUS = ["draft", "ready", "syncing", "synced", "attention"];

/** Why an assignment left the server's open list: done (this phone's own record was sent) or
 *  cancelled / reassigned. */
export function revokedText(a, v) {
  if (v && (v.status === "synced" || (v.server && v.server.status === "accepted"))) return t("assignment_done");
  if ((Array.isArray(a.records) ? a.records : []).some((r) => r && r.status === "accepted")) return t("assignment_done_by_team");
  return t("assignment_closed"); // the server only says it is no longer open: done, cancelled or reassigned
}

export function statusBadge(status) {
  return h("span", { class: `badge st-${status || "none"}`, dataset: { status: status || "none" } }, t(`status_${status || "none"}`));
}

function daysBetween(a, b) {
  return Math.round((Date.parse(b) - Date.parse(a)) / 86400000);
}

export function deadlineText(a) {
  if (!a.deadline) return t("no_deadline");
  const left = daysBetween(localDate(), a.deadline);
  const when = left < 0 ? t("overdue_days", { n: -left }) : t("days_left", { n: left });
  return `${t("deadline")} ${a.deadline}${a.deadline_provisional ? t("provisional") : ""} · ${when}`;
}

/** The household's head as the pull lists the members (or the first member); null without an assignment. */
export function headOf(a) {
  if (!a) return null;
  return (a.members || []).find((m) => m.relation === "head") || (a.members || [])[0] || null;
}

/** Records the server holds for this assignment that this phone did not make (a teammate's), still
 *  standing (not replaced). The pull's `records` may be absent (older server): then none. */
export function teammatesRecords(a, visits) {
  const mine = new Set(visits.map((v) => v.visit_id));
  return (Array.isArray(a && a.records) ? a.records : [])
    .filter((r) => r && r.visit_id && !mine.has(r.visit_id) && r.status !== "superseded");
}

function recordStatus(status) {
  return has(`rec_${status}`) ? t(`rec_${status}`) : t("rec_other");
}

function recordLine(r) {
  const who = Array.isArray(r.investigators) ? r.investigators.join("、") : "";
  // the server's time (any offset) shown in the phone's own time zone
  const at = r.received_at ? new Date(r.received_at) : null;
  const when = at && !Number.isNaN(at.getTime()) ? isoWithOffset(at).slice(0, 16).replace("T", " ") : "";
  return t("teammate_record", { who, when, status: recordStatus(r.status) });
}

/** Is this record the assignment's own (not an extra form such as the two-rates survey)? */
function isOwn(v, a) {
  return !v.form_id || v.form_id === a.form_id;
}

/** The record that stands for an assignment (its own form): an open one first, else the newest. */
export function currentVisit(visits, a) {
  const mine = visits.filter((v) => v.assignment_id === a.assignment_id && isOwn(v, a))
    .sort((x, y) => (y.created_at || 0) - (x.created_at || 0));
  return mine.find((v) => v.status !== "synced") || mine[0] || null;
}

function isIos() {
  return /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
}

export async function homeView(ctx) {
  const [assignments, visits, attestations, authFailed, toAttest] = await Promise.all([
    db.listAssignments(), db.listVisits(), db.listAttestations(), db.getMeta("auth_failed"), db.getMeta("to_attest")]);
  assignments.sort((x, y) => String(x.deadline || "9999").localeCompare(String(y.deadline || "9999")));
  const standalone = matchMedia("(display-mode: standalone)").matches || navigator.standalone;
  const lastPull = await db.getMeta("last_pull");

  const cards = assignments.map((a) => {
    const v = currentVisit(visits, a);
    const head = headOf(a);
    return h("a", { href: `#/a/${a.assignment_id}`, class: "card assignment", dataset: { assignment: a.assignment_id } },
      h("div", { class: "row" }, h("strong", {}, head ? head.name : a.case_number), statusBadge(v && v.status)),
      h("div", { class: "muted" }, `${a.case_number} · ${t(`kind_${a.kind}`)}`),
      h("div", {}, `${a.community} ${a.address || ""}`),
      h("div", { class: a.deadline_provisional ? "deadline provisional" : "deadline" }, deadlineText(a)),
      !v && teammatesRecords(a, visits).length ? h("div", { class: "banner info teammate" }, recordLine(teammatesRecords(a, visits)[0])) : null,
      a.revoked ? h("div", { class: "banner warn" }, revokedText(a, v)) : null);
  });

  // Records whose assignment left the phone (done, or cancelled while a record was kept).
  const known = new Set(assignments.map((a) => a.assignment_id));
  const orphans = [];
  for (const v of visits.filter((x) => !known.has(x.assignment_id))) {
    const form = await db.getForm(v.form_id, v.form_version);
    orphans.push(h("a", { href: `#/v/${v.visit_id}`, class: "card record-card", dataset: { visit: v.visit_id } },
      h("div", { class: "row" }, h("strong", {}, form ? pick(form.title) : v.form_id), statusBadge(v.status)),
      h("div", { class: "muted" }, new Date(v.created_at).toLocaleString())));
  }

  // The online path of the two-person rule: partners' uploaded visits that still lack my signature.
  const signedHere = new Set(attestations.map((x) => x.visit_id));
  const waiting = (toAttest || []).filter((w) => !signedHere.has(w.visit_id)).map((w) => {
    const a = assignments.find((x) => x.assignment_id === w.assignment_id);
    const fromRecord = w.envelope ? recordDigest(w.envelope.answers).members : [];
    const head = fromRecord.find((m) => m.relation === "head") || fromRecord[0] || headOf(a);
    return h("a", { href: `#/attest/${w.visit_id}`, class: "card to-attest", dataset: { visit: w.visit_id } },
    h("div", { class: "row" }, h("strong", {}, head ? head.name : (a ? a.case_number : t("unknown_household"))),
      h("span", { class: "badge st-ready" }, t("confirm_and_sign"))),
    h("div", { class: "muted" }, `${a ? `${a.case_number} · ` : ""}${t("visit_on")} ${w.visit_on}`),
    w.summary ? h("div", { class: "summary" }, w.summary) : null);
  });

  const partner = attestations.sort((x, y) => (y.updated_at || 0) - (x.updated_at || 0)).map((a) =>
    h("div", { class: "card attestation", dataset: { visit: a.visit_id, status: a.status } },
      h("div", { class: "row" }, h("strong", {}, a.summary || a.visit_id.slice(0, 8)), h("span", { class: `badge st-${a.status}` }, t(`att_${a.status}`))),
      h("div", { class: "muted mono" }, a.visit_id),
      a.error ? h("p", { class: "err" }, pick({ zh: a.error.message, en: a.error.message_en })) : null));

  return {
    name: "home",
    el: h("div", { class: "view" },
      authFailed ? h("div", { class: "banner error", id: "auth-banner" }, t("auth_failed"), " ", h("a", { href: "#/enrol" }, t("enrol_again"))) : null,
      await storageBanner(),
      isIos() && !standalone ? h("div", { class: "banner info" }, t("ios_hint")) : null,
      h("h1", {}, t("my_assignments")),
      lastPull ? h("p", { class: "muted" }, t("last_pull", { when: new Date(lastPull).toLocaleString() })) : h("p", { class: "muted" }, t("never_pulled")),
      cards.length ? h("div", { class: "list", id: "assignments" }, cards) : h("p", { class: "empty" }, t("no_assignments")),
      orphans.length ? [h("h2", {}, t("other_records")), h("div", { class: "list", id: "other-records" }, orphans)] : null,
      h("h2", {}, t("partner_title")),
      waiting.length ? [h("h3", {}, t("to_attest_title")), h("p", { class: "hint" }, t("to_attest_hint")),
        h("div", { class: "list", id: "to-attest" }, waiting)] : null,
      h("a", { href: "#/scan", class: "btn secondary big", id: "open-scan" }, t("scan_partner")),
      partner.length ? h("div", { class: "list", id: "partner-list" }, partner) : null),
  };
}

async function startVisit(ctx, a, ref = { form_id: a.form_id, form_version: a.form_version }) {
  const form = await db.getForm(ref.form_id, ref.form_version);
  if (!form) {
    toast(t("form_missing"), "error");
    return;
  }
  const me = ctx.device.user.id;
  const team = (a.team || []).map((m) => m.user_id);
  const visit = {
    visit_id: uuid(), assignment_id: a.assignment_id, case_id: a.case_id, form_id: ref.form_id, form_version: ref.form_version,
    base_version: a.base_version, supersedes: null, status: "draft", created_at: Date.now(),
    values: emptyValues(form, a), investigators: team.includes(me) ? team : [me, ...team],
    photos: [], signatures: {}, gps: { start: null, finish: null }, started_at: isoWithOffset(),
    assignment_copy: a, // what the record was made for, kept with it after the assignment leaves the phone
  };
  await db.putVisit(visit);
  ctx.go(`#/v/${visit.visit_id}`);
  const start = await locate();
  await db.updateVisit(visit.visit_id, (v) => ({ ...v, gps: { ...v.gps, start } }));
  document.dispatchEvent(new CustomEvent("ruhu-gps", { detail: { visit_id: visit.visit_id } }));
}

export async function assignmentView(ctx, id) {
  const a = await db.getAssignment(id);
  if (!a) return { name: "assignment", el: h("div", { class: "view" }, h("p", { class: "empty" }, t("assignment_gone")), h("a", { href: "#/", class: "btn secondary" }, t("back"))) };
  const visits = (await db.listVisits()).filter((v) => v.assignment_id === id).sort((x, y) => (y.created_at || 0) - (x.created_at || 0));
  const open = visits.find((v) => isOwn(v, a) && v.status === "draft");
  const others = teammatesRecords(a, await db.listVisits());
  const titles = {};
  for (const ref of [a, ...(a.extra_forms || [])]) {
    const form = await db.getForm(ref.form_id, ref.form_version);
    titles[ref.form_id] = form ? pick(form.title) : ref.form_id;
  }
  const extras = (a.extra_forms || []).map((ref) => {
    const draft = visits.find((v) => v.form_id === ref.form_id && v.status === "draft");
    return draft ? h("a", { href: `#/v/${draft.visit_id}`, class: "btn secondary big", dataset: { extraForm: ref.form_id } },
      `${t("continue_visit")} · ${titles[ref.form_id]}`)
      : !a.revoked ? h("button", { type: "button", class: "btn secondary big", dataset: { extraForm: ref.form_id },
        onclick: () => startVisit(ctx, a, ref) }, t("start_extra", { form: titles[ref.form_id] })) : null;
  });
  const income = (a.declared && a.declared.income) || {};
  const property = (a.declared && a.declared.property) || {};
  // What the household declared, in words: each income source by its Chinese name with the six-month
  // total and the months oldest first; each property item by name (empty ones left out).
  const itemLabel = (kind, key) => (has(`decl_${kind}_${key}`) ? t(`decl_${kind}_${key}`) : t("decl_other_item"));
  const incomeRows = Object.entries(income).flatMap(([k, months]) => {
    const list = Array.isArray(months) ? months.map((m) => String(m ?? "")) : [String(months ?? "")];
    const cents = list.reduce((sum, m) => sum + Math.round(Number(m || 0) * 100), 0);
    return [h("dt", { dataset: { declared: `income/${k}` } }, itemLabel("income", k)),
      h("dd", {}, t("decl_income_line", { total: (cents / 100).toFixed(2), months: list.map((m, i) => `${t("decl_month", { n: list.length - i })} ${m}`).join("，") }))];
  });
  const propertyRows = Object.entries(property).filter(([, v]) => v !== null && v !== undefined && String(v).trim() !== "")
    .flatMap(([k, v]) => [h("dt", { dataset: { declared: `property/${k}` } }, itemLabel("property", k)),
      h("dd", {}, Array.isArray(v) ? v.join("、") : String(v))]);
  return {
    name: "assignment",
    el: h("div", { class: "view" },
      h("a", { href: "#/", class: "back" }, `‹ ${t("back")}`),
      h("h1", {}, `${a.case_number} · ${t(`kind_${a.kind}`)}`),
      h("section", { class: "card" },
        h("dl", {},
          h("dt", {}, t("address")), h("dd", {}, `${a.community} ${a.address || ""}`),
          h("dt", {}, t("deadline")), h("dd", { class: a.deadline_provisional ? "provisional" : "" }, deadlineText(a)),
          h("dt", {}, t("team")), h("dd", {}, (a.team || []).map((m) => m.name).join("、")))),
      h("section", { class: "card" }, h("h2", {}, t("members")),
        h("ul", { class: "members" }, (a.members || []).map((m) => h("li", {},
          h("strong", {}, m.name), ` ${has(`rel_${m.relation}`) ? t(`rel_${m.relation}`) : m.relation} · `, h("span", { class: "mono" }, m.id_number),
          m.co_residing === false ? ` · ${t("not_co_residing")}` : "")))),
      incomeRows.length || propertyRows.length ? h("section", { class: "card", id: "declared" }, h("h2", {}, t("declared")),
        incomeRows.length ? [h("h3", {}, t("decl_income_title")), h("dl", {}, incomeRows)] : null,
        propertyRows.length ? [h("h3", {}, t("decl_property_title")), h("dl", {}, propertyRows)] : null) : null,
      visits.length ? h("section", { class: "card" }, h("h2", {}, t("records")),
        visits.map((v) => h("a", { href: `#/v/${v.visit_id}`, class: "row record", dataset: { visit: v.visit_id } },
          h("span", {}, `${titles[v.form_id] || ""} ${new Date(v.created_at).toLocaleString()}`), statusBadge(v.status)))) : null,
      others.length ? h("section", { class: "card", id: "teammate-records" }, h("h2", {}, t("teammate_records")),
        h("ul", {}, others.map((r) => h("li", { dataset: { visit: r.visit_id } }, recordLine(r)))),
        !open ? h("p", { class: "banner warn" }, t("one_record_hint")) : null) : null,
      a.revoked ? h("p", { class: "banner warn", id: "revoked" }, revokedText(a, currentVisit(visits, a))) : null,
      open ? h("a", { href: `#/v/${open.visit_id}`, class: "btn primary big", id: "continue-visit" }, t("continue_visit"))
        : !a.revoked && others.length ? h("button", { type: "button", class: "btn secondary", id: "start-visit", onclick: () => {
          if (confirm(t("second_record_q"))) startVisit(ctx, a);
        } }, t("start_second_record"))
          : !a.revoked ? h("button", { type: "button", class: "btn primary big", id: "start-visit", onclick: () => startVisit(ctx, a) }, t("start_visit")) : null,
      extras),
  };
}
