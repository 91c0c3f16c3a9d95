// The phone's copy of sync/validate.py: answers and attachments against a form definition.
// Same paths and codes as the server, so what the phone lets through the server accepts.
// Pure: no DOM, no storage. Problems are {path, code, message, message_en}.

import { parseIdNumber, normaliseIdNumber } from "../idnumber.js";

export const MONTHS = 6;
export const DEFAULT_TEXT_MAX = 2000;
const AMOUNT = /^[0-9]{1,9}(\.[0-9]{1,2})?$/;
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

export function isInt(v) {
  return typeof v === "number" && Number.isInteger(v);
}

export function blank(v) {
  return v === null || v === undefined || (typeof v === "string" && !v.trim()) || (Array.isArray(v) && v.length === 0);
}

// server.domain.declaration: thousands grouping is the only place a comma may stand.
const GROUPED_AMOUNT = /^[0-9]{1,3}(,[0-9]{3}){1,2}(\.[0-9]{1,2})?$/;
export const BAD_AMOUNT = ["金额无效（应为不小于0、最多两位小数的数字）", "not a valid amount (0 or more, at most 2 decimals)"];
export const BAD_COMMA = ["金额中的逗号只能用作千位分隔符（如1,200或12,345.60），小数点请用“.”",
  "a comma may only group thousands (1,200 or 12,345.60); write decimals with a point"];

function normalisedAmount(text) {
  return String(text ?? "").normalize("NFKC").trim();
}

/** server.domain.declaration.amount: a non-blank amount; a comma only groups thousands ("1,200", not "12,50"). */
export function isAmount(text) {
  const t = normalisedAmount(text);
  return AMOUNT.test(t) || GROUPED_AMOUNT.test(t);
}

/** server.domain.declaration.amount_problem: [zh, en] for why a non-blank text is not an amount, else null. */
export function amountProblem(text) {
  const t = normalisedAmount(text);
  if (t === "" || isAmount(t)) return null;
  // a comma out of place in what would otherwise be an amount ("12,50", "1,80"): say so, never drop it
  return t.includes(",") && AMOUNT.test(t.replaceAll(",", "")) ? BAD_COMMA : BAD_AMOUNT;
}

/** server.domain.declaration.partial_months_message: a six-month income filled in only partly. */
export function partialMonthsMessage(label, blanks) {
  return [`“${label.zh}”${blanks.map((m) => `第${m}个月`).join("、")}未填写：6个月须全部填写（没有收入的月份填0），或全部留空（没有此项收入）`,
    `${label.en}: month ${blanks.join(", ")} left blank; fill in all 6 months (0 for a month without income) or leave all 6 blank (no income of this kind)`];
}

function strictlyEqual(a, b) {
  return typeof a === typeof b && a === b;
}

export function shown(field, item, byId) {
  const cond = field.show_if;
  if (!cond) return true;
  const target = byId[cond.field];
  return shown(target, item, byId) && strictlyEqual(item[target.id], cond.equals);
}

function realDate(s) {
  if (!DATE.test(s)) return false;
  const [y, m, d] = s.split("-").map(Number);
  const dt = new Date(Date.UTC(2000, 0, 1));
  dt.setUTCFullYear(y, m - 1, d);
  return y >= 1 && dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

class Checker {
  constructor(today) {
    this.today = today;
    this.problems = [];
  }

  add(path, code, message, message_en) {
    this.problems.push({ path, code, message, message_en });
  }

  wrongType(path, label, zh, en) {
    this.add(path, "wrong_type", `“${label.zh}”应为${zh}`, `${label.en}: must be ${en}`);
  }

  section(section, value, path) {
    const title = section.title;
    if (!section.repeat) {
      if (value === null || value === undefined) value = {};
      if (typeof value !== "object" || Array.isArray(value)) {
        this.add(path, "wrong_type", `“${title.zh}”应为对象`, `${title.en}: must be an object`);
        return;
      }
      this.item(section.fields, value, path);
      return;
    }
    if (value === null || value === undefined) value = [];
    if (!Array.isArray(value)) {
      this.add(path, "wrong_type", `“${title.zh}”应为列表`, `${title.en}: must be a list`);
      return;
    }
    if (value.length < section.min) this.add(path, "too_few", `“${title.zh}”至少需要${section.min}项`, `${title.en}: at least ${section.min} needed`);
    if (value.length > section.max) this.add(path, "too_many", `“${title.zh}”最多${section.max}项`, `${title.en}: at most ${section.max} allowed`);
    value.forEach((item, i) => {
      if (item && typeof item === "object" && !Array.isArray(item)) this.item(section.fields, item, `${path}/${i}`);
      else this.add(`${path}/${i}`, "wrong_type", `“${title.zh}”第${i + 1}项应为对象`, `${title.en}, item ${i + 1}: must be an object`);
    });
    for (const field of section.fields) if (field.unique) this.unique(field, value, path);
  }

  unique(field, items, path) {
    const seen = new Set();
    items.forEach((item, i) => {
      let value = item && typeof item === "object" ? item[field.id] : null;
      if (blank(value) || !(typeof value === "string" || isInt(value))) return;
      if (field.type === "id_number" && typeof value === "string") value = normaliseIdNumber(value);
      else if (typeof value === "string") value = value.trim().normalize("NFC");
      const key = `${typeof value}:${value}`;
      if (seen.has(key)) {
        this.add(`${path}/${i}/${field.id}`, "duplicate", `“${field.label.zh}”与前面的某一项重复`, `${field.label.en}: the same as an earlier item`);
      }
      seen.add(key);
    });
  }

  item(fields, item, path) {
    const byId = Object.fromEntries(fields.map((f) => [f.id, f]));
    for (const key of Object.keys(item)) {
      if (!byId[key]) this.add(`${path}/${key}`, "unknown_field", "表单中没有这一项", `Not a field of this form: '${key}'`);
    }
    for (const field of fields) {
      const value = item[field.id];
      const at = `${path}/${field.id}`;
      const label = field.label;
      if (!shown(field, item, byId)) {
        if (value !== null && value !== undefined) {
          this.add(at, "not_shown", `“${label.zh}”在当前情况下不应填写`, `${label.en}: must be left empty, as the field does not apply`);
        }
        continue;
      }
      if (blank(value)) {
        if (field.required) this.add(at, "required", `“${label.zh}”为必填项`, `${label.en} is required`);
        continue;
      }
      this.value(field, value, at);
    }
  }

  value(field, value, path) {
    const label = field.label;
    switch (field.type) {
      case "text": {
        if (typeof value !== "string") return this.wrongType(path, label, "文字", "text");
        const limit = field.max_length ?? DEFAULT_TEXT_MAX;
        if ([...value].length > limit) this.add(path, "too_long", `“${label.zh}”不能超过${limit}个字`, `${label.en}: at most ${limit} characters`);
        return;
      }
      case "integer":
        if (!isInt(value)) return this.wrongType(path, label, "整数", "a whole number");
        if (field.min !== undefined && value < field.min) this.add(path, "too_small", `“${label.zh}”不能小于${field.min}`, `${label.en}: at least ${field.min}`);
        if (field.max !== undefined && value > field.max) this.add(path, "too_large", `“${label.zh}”不能大于${field.max}`, `${label.en}: at most ${field.max}`);
        return;
      case "money":
        return this.money(value, path, label, "");
      case "money6":
        if (!Array.isArray(value)) return this.wrongType(path, label, `${MONTHS}个月的金额列表`, `a list of ${MONTHS} monthly amounts`);
        if (value.length !== MONTHS) {
          this.add(path, "wrong_length", `“${label.zh}”应填写${MONTHS}个月的金额，现在是${value.length}个`, `${label.en}: needs ${MONTHS} monthly amounts, has ${value.length}`);
        }
        {
          const blanks = [];
          value.forEach((month, i) => { if (typeof month === "string" && !month.trim()) blanks.push(i + 1); });
          if (blanks.length === MONTHS && value.length === MONTHS) { // all six blank: no income of this kind
            if (field.required) this.add(path, "required", `“${label.zh}”为必填项`, `${label.en} is required`);
            return;
          }
          if (blanks.length && value.length === MONTHS) {
            const [zh, en] = partialMonthsMessage(label, blanks);
            this.add(path, "partial_months", zh, en);
          }
          value.forEach((month, i) => { if (!blanks.includes(i + 1)) this.money(month, `${path}/${i}`, label, `第${i + 1}个月`); });
          return;
        }
      case "boolean":
        if (typeof value !== "boolean") this.wrongType(path, label, "“是”或“否”", "true or false");
        return;
      case "choice":
        if (typeof value !== "string") return this.wrongType(path, label, "选项之一", "one of the options");
        if (!field.options.some((o) => o.value === value)) this.add(path, "invalid_choice", `“${label.zh}”不是可选的选项`, `${label.en}: not one of the options`);
        return;
      case "multi": {
        if (!Array.isArray(value)) return this.wrongType(path, label, "选项列表", "a list of options");
        const allowed = field.options.map((o) => o.value);
        const seen = [];
        value.forEach((choice, i) => {
          if (typeof choice !== "string" || !allowed.includes(choice)) this.add(`${path}/${i}`, "invalid_choice", `“${label.zh}”不是可选的选项`, `${label.en}: not one of the options`);
          else if (seen.includes(choice)) this.add(`${path}/${i}`, "duplicate", `“${label.zh}”重复选择了同一项`, `${label.en}: the same option twice`);
          seen.push(choice);
        });
        return;
      }
      case "date":
        if (typeof value !== "string") return this.wrongType(path, label, "日期", "a date");
        if (!realDate(value)) this.add(path, "invalid_date", `“${label.zh}”应为有效日期（年-月-日，如2026-01-31）`, `${label.en}: must be a real date written YYYY-MM-DD`);
        return;
      case "id_number": {
        if (typeof value !== "string") return this.wrongType(path, label, "身份证号码", "an ID number");
        const r = parseIdNumber(value, this.today);
        if (!r.ok) this.add(path, `id_number_${r.code}`, `“${label.zh}”：${r.message}`, `${label.en}: ${r.message_en}`);
        return;
      }
      default:
        throw new Error(`unknown field type ${field.type}`);
    }
  }

  money(value, path, label, monthZh) {
    if (typeof value !== "string") return this.wrongType(path, label, "金额（字符串）", "an amount written as a string");
    if (!isAmount(value)) {
      const [zh, en] = amountProblem(value) || BAD_AMOUNT;
      const month = monthZh.replace(/[^0-9]/g, "");
      this.add(path, "invalid_amount", `“${label.zh}”${monthZh}的${zh}`, `${label.en}${month ? `, month ${month}` : ""}: ${en}`);
    }
  }
}

/** Every problem of answers against the form; paths relative to the answers. today: "YYYY-MM-DD". */
export function validateAnswers(form, answers, today) {
  const check = new Checker(today);
  if (!answers || typeof answers !== "object" || Array.isArray(answers)) {
    check.add("", "wrong_type", "答案应为对象", "The answers must be an object");
    return check.problems;
  }
  const ids = new Set(form.sections.map((s) => s.id));
  for (const key of Object.keys(answers)) {
    if (!ids.has(key)) check.add(key, "unknown_field", "表单中没有这一部分", `Not a section of this form: '${key}'`);
  }
  for (const section of form.sections) check.section(section, answers[section.id], section.id);
  return check.problems;
}

/** Attachments ({slot, role}) against the form's slots; paths relative to the envelope. */
export function validateAttachments(form, attachments) {
  const problems = [];
  const slots = Object.fromEntries((form.slots || []).map((s) => [s.id, s]));
  const counts = Object.fromEntries(Object.keys(slots).map((k) => [k, 0]));
  attachments.forEach((a, i) => {
    const slot = slots[a.slot];
    if (!slot) {
      problems.push({ path: `attachments/${i}/slot`, code: "unknown_slot", message: "表单中没有这个照片或签字栏", message_en: `The form has no slot '${a.slot}'` });
      return;
    }
    counts[a.slot] += 1;
    if (!slot.roles.includes(a.role)) {
      problems.push({ path: `attachments/${i}/role`, code: "role_not_allowed", message: `“${slot.label.zh}”栏不接受这类文件`, message_en: `${slot.label.en}: does not take a ${a.role}` });
    }
  });
  for (const [id, slot] of Object.entries(slots)) {
    if (counts[id] < slot.min) problems.push({ path: "attachments", slot: id, code: "slot_too_few", message: `“${slot.label.zh}”至少需要${slot.min}个`, message_en: `${slot.label.en}: at least ${slot.min} needed` });
    if (counts[id] > slot.max) problems.push({ path: "attachments", slot: id, code: "slot_too_many", message: `“${slot.label.zh}”最多${slot.max}个`, message_en: `${slot.label.en}: at most ${slot.max} allowed` });
  }
  return problems;
}

/** The envelope's problems against its form, paths relative to the envelope (answers/..., attachments/...). */
export function validateVisit(form, envelope, today) {
  const problems = validateAnswers(form, envelope.answers, today).map((p) => ({ ...p, path: p.path ? `answers/${p.path}` : "answers" }));
  return problems.concat(validateAttachments(form, envelope.attachments));
}
