// 18-character resident ID numbers (GB 11643-1999): the phone's copy of server/domain/ids.py.
// Same checks in the same order (length, characters, region, birth_date, future_birth_date,
// checksum) and the same codes; the shared vectors are tests/fixtures/id_numbers.json.

const PROVINCES = new Set([
  ...range(11, 15), ...range(21, 23), ...range(31, 37), ...range(41, 46), ...range(50, 54), ...range(61, 65),
  "71", "81", "82",
]);
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";
// What Python's str.strip() removes (str.isspace()), which is not quite what String.trim() removes.
const SPACE = "[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const STRIP = new RegExp(`^${SPACE}+|${SPACE}+$`, "gu");

function range(a, b) {
  const out = [];
  for (let i = a; i <= b; i += 1) out.push(String(i));
  return out;
}

export function normaliseIdNumber(raw) {
  return String(raw).replace(STRIP, "").toUpperCase();
}

export function checkCharacter(first17) {
  let total = 0;
  for (let i = 0; i < 17; i += 1) total += Number(first17[i]) * WEIGHTS[i];
  return CHECK[total % 11];
}

const MESSAGES = {
  length_old: ["这是15位的旧身份证号码，请填写18位号码", "This is an old 15-digit ID number; enter the 18-character number"],
  length: ["身份证号码应为18位，现在是{n}位", "An ID number has 18 characters, this has {n}"],
  characters: ["身份证号码前17位只能是数字，最后一位是数字或X", "The first 17 characters must be digits; only the last may be a digit or X"],
  region: ["地址码不正确：前两位不是有效的省级行政区划代码", "Invalid region code: the first two digits are not a province-level code"],
  birth_date: ["出生日期不是有效日期", "The birth date is not a real calendar date"],
  birth_early: ["出生日期早于1900年1月1日", "The birth date is before 1900-01-01"],
  future_birth_date: ["出生日期晚于今天", "The birth date is after today"],
  checksum: ["校验码不符，号码可能填写有误，请核对", "The check character does not match; the number was probably mistyped"],
};

function fail(code, key, n) {
  const [zh, en] = MESSAGES[key || code];
  return { ok: false, code, message: zh.replace("{n}", n), message_en: en.replace("{n}", n) };
}

/** Validate and decode; `today` is "YYYY-MM-DD". {ok: true, number, birth_date, sex} or {ok: false, code, message, message_en}. */
export function parseIdNumber(raw, today) {
  const number = normaliseIdNumber(raw);
  const length = [...number].length;
  if (length !== 18) {
    if (length === 15 && /^[0-9]{15}$/.test(number)) return fail("length", "length_old");
    return fail("length", null, length);
  }
  if (!/^[0-9]{17}[0-9X]$/.test(number)) return fail("characters");
  if (!PROVINCES.has(number.slice(0, 2))) return fail("region");
  const y = Number(number.slice(6, 10));
  const m = Number(number.slice(10, 12));
  const d = Number(number.slice(12, 14));
  const date = new Date(Date.UTC(2000, 0, 1));
  date.setUTCFullYear(y, m - 1, d);
  if (y < 1 || m < 1 || m > 12 || d < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    return fail("birth_date");
  }
  const birth = number.slice(6, 10) + "-" + number.slice(10, 12) + "-" + number.slice(12, 14);
  if (birth < "1900-01-01") return fail("birth_date", "birth_early");
  if (birth > today) return fail("future_birth_date");
  if (checkCharacter(number.slice(0, 17)) !== number[17]) return fail("checksum");
  return { ok: true, number, birth_date: birth, sex: Number(number[16]) % 2 === 1 ? "male" : "female" };
}
