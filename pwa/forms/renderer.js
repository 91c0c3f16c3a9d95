// Renders a declarative form definition (pwa/forms/*.json, as the server hands it out in a pull)
// into phone-sized controls, keeps the raw values the investigator typed, and turns them into the
// answers of the visit envelope. Field types: text, integer, money, money6, boolean, choice,
// multi, date, id_number; repeating sections; show_if. Validation is forms/validate.js.

import { h } from "../ui/dom.js";
import { t, pick } from "../ui/i18n.js";
import { MONTHS, shown } from "./validate.js";
import { normaliseIdNumber, parseIdNumber } from "../idnumber.js";

const WIDE_TEXT = 100; // longer texts get a textarea

function blankRaw(field) {
  if (field.type === "money6") return Array(MONTHS).fill("");
  if (field.type === "multi") return [];
  if (field.type === "boolean" || field.type === "choice") return null;
  return "";
}

function emptyItem(section) {
  return Object.fromEntries(section.fields.map((f) => [f.id, blankRaw(f)]));
}

/** Raw values for a new visit; members come from the assignment (the household as registered). */

// As Chinese users type numbers: full-width digits and punctuation (１２００．５０, ，), thousands separators
// ("1,200" — only where they group by three), a leading ¥ and a trailing 元 are read as the plain number; an
// ID number loses full-width forms and inner spaces. Anything else is left for the validator to name.
const GROUPED = /^-?\d{1,3}(,\d{3})+(\.\d+)?$/;

export function normaliseTyped(type, raw) {
  if (typeof raw !== "string") return raw;
  let s = raw.normalize("NFKC").trim();
  if (type === "id_number") return s.replace(/\s+/g, "");
  if (type === "money" || type === "money6" || type === "integer") {
    s = s.replace(/^¥\s*/, "").replace(/\s*元$/, "").replace(/\s+/g, "");
    if (GROUPED.test(s)) s = s.replaceAll(",", "");
  }
  return s;
}

export function emptyValues(form, assignment) {
  const values = {};
  for (const section of form.sections) {
    if (!section.repeat) {
      values[section.id] = emptyItem(section);
      continue;
    }
    const items = [];
    if (section.id === "members" && assignment && Array.isArray(assignment.members)) {
      const ids = new Set(section.fields.map((f) => f.id));
      for (const m of assignment.members) {
        const item = emptyItem(section);
        for (const key of ["name", "id_number", "relation", "co_residing"]) {
          if (ids.has(key) && m[key] !== undefined && m[key] !== null) item[key] = m[key];
        }
        items.push(item);
      }
    }
    while (items.length < section.min) items.push(emptyItem(section));
    values[section.id] = items;
  }
  return values;
}

function convert(field, raw) {
  switch (field.type) {
    case "text":
      return typeof raw === "string" && raw.trim() ? raw : null;
    case "integer": {
      const s = normaliseTyped("integer", String(raw ?? ""));
      if (!s) return null;
      if (/^-?[0-9]+$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s);
      return s; // the validator reports "must be a whole number"
    }
    case "money":
      return normaliseTyped("money", String(raw ?? "")) || null;
    case "date":
      return String(raw ?? "").trim() || null;
    case "id_number": {
      const s = normaliseTyped("id_number", String(raw ?? ""));
      return s ? normaliseIdNumber(s) : null;
    }
    case "money6": {
      const months = Array.isArray(raw) ? raw.map((m) => normaliseTyped("money6", String(m ?? ""))) : [];
      return months.some((m) => m) ? months : null;
    }
    case "boolean":
      return typeof raw === "boolean" ? raw : null;
    case "choice":
      return typeof raw === "string" && raw ? raw : null;
    case "multi":
      return Array.isArray(raw) && raw.length ? [...raw] : null;
    default:
      return null;
  }
}

function itemAnswers(fields, raw) {
  const byId = Object.fromEntries(fields.map((f) => [f.id, f]));
  const converted = {};
  for (const f of fields) converted[f.id] = convert(f, raw[f.id]);
  const out = {};
  for (const f of fields) {
    const value = converted[f.id];
    if (value === null || !shown(f, converted, byId)) continue; // hidden fields are left out
    out[f.id] = value;
  }
  return out;
}

/** The envelope's answers: typed values, blanks and hidden fields left out. */
export function toAnswers(form, values) {
  const answers = {};
  for (const section of form.sections) {
    const raw = values[section.id];
    if (section.repeat) answers[section.id] = (Array.isArray(raw) ? raw : []).map((item) => itemAnswers(section.fields, item || {}));
    else answers[section.id] = itemAnswers(section.fields, raw || {});
  }
  return answers;
}

/** "2025-05" … for the six months before the visit month, oldest first. */
export function monthLabels(today) {
  const [y, m] = today.split("-").map(Number);
  const out = [];
  for (let back = MONTHS; back >= 1; back -= 1) {
    const d = new Date(Date.UTC(y, m - 1 - back, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}

/**
 * Render the form. values: raw values (mutated in place); options: {readOnly, today, onChange(values)}.
 * Returns {el, showProblems(problems, all)}.
 */
export function renderForm(form, values, { readOnly = false, today, onChange = () => {} } = {}) {
  const touched = new Set();
  const wrappers = new Map(); // path -> field wrapper
  const sectionBoxes = new Map(); // section id -> section element
  let lastProblems = [];
  let showAll = false;
  const root = h("div", { class: "form" });

  const changed = (path) => {
    touched.add(path);
    onChange(values, path);
  };

  function control(field, item, path, refreshVisibility) {
    const raw = item[field.id];
    const dis = readOnly || undefined;
    const set = (value) => {
      item[field.id] = value;
      refreshVisibility();
      changed(path);
    };
    const label = pick(field.label);
    switch (field.type) {
      case "boolean":
        return h("div", { class: "seg", role: "radiogroup", "aria-label": label },
          [true, false].map((v) => h("label", { class: "seg-opt" },
            h("input", { type: "radio", name: path, value: String(v), checked: raw === v, disabled: dis, onchange: () => set(v) }),
            h("span", {}, v ? t("yes") : t("no")))));
      case "choice":
        if (field.options.length <= 5) {
          return h("div", { class: "seg wrap", role: "radiogroup", "aria-label": label },
            field.options.map((o) => h("label", { class: "seg-opt" },
              h("input", { type: "radio", name: path, value: o.value, checked: raw === o.value, disabled: dis, onchange: () => set(o.value) }),
              h("span", {}, pick(o.label)))));
        }
        return h("select", { name: path, disabled: dis, "aria-label": label, onchange: (e) => set(e.target.value || null) },
          h("option", { value: "" }, t("choose")),
          field.options.map((o) => { const opt = h("option", { value: o.value }, pick(o.label)); opt.selected = raw === o.value; return opt; }));
      case "multi":
        return h("div", { class: "checks" }, field.options.map((o) => h("label", { class: "check" },
          h("input", {
            type: "checkbox", name: path, value: o.value, checked: (raw || []).includes(o.value), disabled: dis,
            onchange: (e) => {
              const now = new Set(item[field.id] || []);
              if (e.target.checked) now.add(o.value); else now.delete(o.value);
              set(field.options.map((x) => x.value).filter((v) => now.has(v)));
            },
          }),
          h("span", {}, pick(o.label)))));
      case "money6": {
        const months = monthLabels(today);
        const arr = Array.isArray(raw) ? raw : Array(MONTHS).fill("");
        item[field.id] = arr;
        return h("div", { class: "months" }, months.map((label6, i) => h("label", { class: "month" },
          h("span", {}, label6),
          h("input", {
            type: "text", inputmode: "decimal", name: `${path}/${i}`, value: arr[i] ?? "", disabled: dis, autocomplete: "off",
            oninput: (e) => { arr[i] = e.target.value; changed(path); },
            onblur: (e) => {
              const clean = normaliseTyped("money6", e.target.value);
              if (clean !== e.target.value) { e.target.value = clean; arr[i] = clean; changed(path); }
              touched.add(path); render();
            },
          }))));
      }
      case "text":
        if ((field.max_length ?? 2000) > WIDE_TEXT) {
          return h("textarea", { name: path, rows: 3, disabled: dis, maxlength: field.max_length ?? 2000, "aria-label": label,
            oninput: (e) => { item[field.id] = e.target.value; changed(path); }, onblur: () => { touched.add(path); render(); } }, raw ?? "");
        }
      // fall through: a short text is an input
      default: {
        const attrs = { type: "text", name: path, value: raw ?? "", disabled: dis, autocomplete: "off", "aria-label": label };
        if (field.type === "integer") Object.assign(attrs, { inputmode: "numeric", pattern: "-?[0-9]*" });
        if (field.type === "money") attrs.inputmode = "decimal";
        if (field.type === "date") attrs.type = "date";
        if (field.type === "id_number") Object.assign(attrs, { autocapitalize: "characters", maxlength: 24, spellcheck: "false" });
        if (field.type === "text" && field.max_length) attrs.maxlength = field.max_length;
        const input = h("input", { ...attrs, oninput: (e) => { item[field.id] = e.target.value; changed(path); }, onblur: (e) => {
          if (["money", "integer", "id_number"].includes(field.type)) {
            const clean = normaliseTyped(field.type, e.target.value);
            if (clean !== e.target.value) { e.target.value = clean; item[field.id] = clean; changed(path); }
          }
          touched.add(path); render();
        } });
        if (field.type !== "id_number") return input;
        const info = h("span", { class: "hint id-info" });
        const describe = () => {
          const r = parseIdNumber(normaliseTyped("id_number", item[field.id] || ""), today);
          info.textContent = r.ok ? t("id_info", { birth: r.birth_date, sex: t(r.sex) }) : "";
        };
        input.addEventListener("input", describe);
        describe();
        return h("div", {}, input, info);
      }
    }
  }

  function fieldBox(field, item, path, refreshVisibility) {
    const box = h("div", { class: `field type-${field.type}`, dataset: { path, field: field.id } },
      h("div", { class: "label" }, pick(field.label), field.required ? h("span", { class: "req", "aria-label": t("required") }, " *") : null),
      field.help ? h("p", { class: "hint" }, pick(field.help)) : null,
      control(field, item, path, refreshVisibility),
      h("p", { class: "err", role: "alert" }));
    wrappers.set(path, box);
    return box;
  }

  function itemBlock(section, item, basePath) {
    const byId = Object.fromEntries(section.fields.map((f) => [f.id, f]));
    const boxes = [];
    const refresh = () => {
      const typed = {};
      for (const f of section.fields) typed[f.id] = convert(f, item[f.id]);
      for (const [f, box] of boxes) box.hidden = !shown(f, typed, byId);
    };
    for (const f of section.fields) boxes.push([f, fieldBox(f, item, `${basePath}/${f.id}`, refresh)]);
    refresh();
    return boxes.map(([, box]) => box);
  }

  function sectionBlock(section) {
    const box = h("section", { class: "card form-section", dataset: { section: section.id } });
    const head = h("h2", {}, pick(section.title));
    const err = h("p", { class: "err", role: "alert" });
    if (!section.repeat) {
      box.append(head, err, ...itemBlock(section, values[section.id] || (values[section.id] = emptyItem(section)), section.id));
      wrappers.set(section.id, box);
      return box;
    }
    const list = Array.isArray(values[section.id]) ? values[section.id] : (values[section.id] = []);
    const redraw = () => {
      const fresh = sectionBlock(section);
      box.replaceWith(fresh);
      sectionBoxes.set(section.id, fresh);
      render();
    };
    box.append(head, err);
    list.forEach((item, i) => {
      const remove = !readOnly && list.length > section.min
        ? h("button", { type: "button", class: "link danger", onclick: () => {
          if (!confirm(t("remove_item_q", { n: i + 1 }))) return;
          list.splice(i, 1);
          changed(section.id);
          redraw();
        } }, t("remove"))
        : null;
      box.append(h("fieldset", { class: "item", dataset: { index: i } },
        h("legend", {}, t("item_n", { title: pick(section.title), n: i + 1 })), remove,
        ...itemBlock(section, item, `${section.id}/${i}`)));
    });
    if (!readOnly && list.length < section.max) {
      box.append(h("button", { type: "button", class: "btn secondary add-item", dataset: { add: section.id }, onclick: () => {
        list.push(emptyItem(section));
        changed(section.id);
        redraw();
      } }, t("add_item", { title: pick(section.title) })));
    }
    wrappers.set(section.id, box);
    return box;
  }

  for (const section of form.sections) {
    const box = sectionBlock(section);
    sectionBoxes.set(section.id, box);
    root.append(box);
  }

  function target(path) {
    // month and multi-choice problems (income/wages/3, living/conditions/1) belong to their field
    if (wrappers.has(path)) return path;
    const parent = path.split("/").slice(0, -1).join("/");
    return wrappers.has(parent) ? parent : null;
  }

  function render() {
    for (const [, box] of wrappers) {
      const err = box.querySelector(":scope > .err");
      if (err) err.textContent = "";
      box.classList.remove("invalid");
    }
    for (const p of lastProblems) {
      const path = target(p.path);
      if (!path || !(showAll || touched.has(path))) continue;
      const box = wrappers.get(path);
      if (!box || !root.contains(box)) continue; // a wrapper of a since redrawn section
      const err = box.querySelector(":scope > .err");
      if (err && !err.textContent) err.textContent = pick({ zh: p.message, en: p.message_en });
      box.classList.add("invalid");
    }
  }

  return {
    el: root,
    /** problems: answers-relative paths. all: show them everywhere, not just where touched. */
    showProblems(problems, all = false) {
      lastProblems = problems;
      showAll = showAll || all;
      render();
    },
    firstInvalid() {
      return root.querySelector(".invalid");
    },
  };
}
