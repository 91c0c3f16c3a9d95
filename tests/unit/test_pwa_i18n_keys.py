"""The phone app's message tables (pwa/ui/i18n.js): Chinese and English have the same keys, and every
key the app's code asks ``t()`` for is in them.

i18n.js is read as text by a small, strict reader of the one object literal ``MESSAGES`` (identifier or
quoted keys, string values, nested tables, comments): anything else in it stops the test with the line,
so a key can never be skipped silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PWA = ROOT / "pwa"
I18N = PWA / "ui" / "i18n.js"
LANGS = ("zh", "en")

# t() calls whose argument is not a string literal, and the keys each needs.  A new call of this kind
# fails test_every_call_of_t_is_known until it is listed here.
KNOWN_EXPRESSIONS = {
    "r.sex": ("male", "female"),   # forms/renderer.js: idnumber.js parses the sex as "male" / "female"
}


class JsSyntaxError(ValueError):
    pass


class _Reader:
    """Reads one JS object literal whose values are strings or further object literals."""

    _IDENT = re.compile(r"[A-Za-z_$][\w$]*")
    _ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}

    def __init__(self, text: str, pos: int):
        self.text, self.pos = text, pos

    def fail(self, what: str):
        line = self.text.count("\n", 0, self.pos) + 1
        raise JsSyntaxError(f"{I18N.name} line {line}: {what} (near {self.text[self.pos:self.pos + 30]!r})")

    def skip(self) -> None:
        """White space and comments."""
        while self.pos < len(self.text):
            if self.text[self.pos].isspace():
                self.pos += 1
            elif self.text.startswith("//", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif self.text.startswith("/*", self.pos):
                end = self.text.find("*/", self.pos + 2)
                if end < 0:
                    self.fail("unterminated comment")
                self.pos = end + 2
            else:
                return

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos:self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            self.fail(f"expected {char!r}")
        self.pos += 1

    def string(self) -> str:
        quote = self.peek()
        if quote not in ("'", '"'):
            self.fail("expected a string literal")
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == quote:
                self.pos += 1
                return "".join(out)
            if ch == "\n":
                self.fail("line break inside a string")
            if ch == "\\":
                nxt = self.text[self.pos + 1:self.pos + 2]
                if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", self.text[self.pos + 2:self.pos + 6]):
                    out.append(chr(int(self.text[self.pos + 2:self.pos + 6], 16)))
                    self.pos += 6
                    continue
                out.append(self._ESCAPES.get(nxt, nxt))
                self.pos += 2
                continue
            out.append(ch)
            self.pos += 1
        self.fail("unterminated string")

    def key(self) -> str:
        if self.peek() in ("'", '"'):
            return self.string()
        match = self._IDENT.match(self.text, self.pos)
        if not match:
            self.fail("expected a key")
        self.pos = match.end()
        return match.group(0)

    def obj(self) -> dict:
        """An object literal; a key written twice (JS would keep the last silently) is an error."""
        self.expect("{")
        out: dict = {}
        while self.peek() != "}":
            start = self.pos
            key = self.key()
            if key in out:
                self.pos = start
                self.fail(f"key {key!r} written twice")
            self.expect(":")
            out[key] = self.obj() if self.peek() == "{" else self.string()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "}":
                self.fail("expected ',' or '}'")
        self.pos += 1
        return out


def read_messages(text: str) -> dict[str, dict[str, str]]:
    match = re.search(r"\bexport\s+const\s+MESSAGES\s*=\s*", text)
    assert match, f"no `export const MESSAGES = {{...}}` in {I18N}"
    tables = _Reader(text, match.end()).obj()
    assert set(tables) == set(LANGS), f"MESSAGES has tables {sorted(tables)}, expected {list(LANGS)}"
    for lang, table in tables.items():
        nested = [k for k, v in table.items() if not isinstance(v, str)]
        assert not nested, f"MESSAGES.{lang} has non-string values: {nested}"
    return tables


@pytest.fixture(scope="module")
def messages() -> dict[str, dict[str, str]]:
    return read_messages(I18N.read_text(encoding="utf-8"))


# --- the calls of t() in the app's own code -------------------------------------------------------

_CALL = re.compile(r"(?<![\w$.])t\(\s*")
_LITERAL = re.compile(r"""(["'])((?:\\.|(?!\1)[^\\\n])*)\1\s*[,)]""")
_TEMPLATE = re.compile(r"`([^`$\\]*)\$\{")
_EXPRESSION = re.compile(r"([^,()]+?)\s*[,)]")


def app_sources() -> list[Path]:
    skip = {"node_modules", "vendor"}
    return sorted(p for pattern in ("*.js", "*.mjs") for p in PWA.rglob(pattern)
                  if not skip & set(p.relative_to(PWA).parts))


def calls_of_t(text: str) -> tuple[set[str], set[str], set[str]]:
    """(literal keys, prefixes of template-literal keys, other argument expressions) of t() calls."""
    literal, prefixes, other = set(), set(), set()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("//", "*", "/*")))
    for call in _CALL.finditer(code):
        if re.search(r"\bfunction\s*$", code[max(0, call.start() - 20):call.start()]):
            continue   # the definition itself
        if m := _LITERAL.match(code, call.end()):
            literal.add(m.group(2))
        elif m := _TEMPLATE.match(code, call.end()):
            prefixes.add(m.group(1))
        elif m := _EXPRESSION.match(code, call.end()):
            other.add(m.group(1))
        else:
            other.add(code[call.end():call.end() + 40])
    return literal, prefixes, other


@pytest.fixture(scope="module")
def used() -> dict[str, dict[str, set[str]]]:
    """kind -> key, prefix or expression -> the files that use it."""
    out: dict[str, dict[str, set[str]]] = {"literal": {}, "prefix": {}, "other": {}}
    for path in app_sources():
        rel = str(path.relative_to(ROOT))
        for kind, found in zip(out, calls_of_t(path.read_text(encoding="utf-8")), strict=True):
            for item in found:
                out[kind].setdefault(item, set()).add(rel)
    return out


# --- the tests ----------------------------------------------------------------------------------------

def test_zh_and_en_have_the_same_keys(messages):
    zh, en = set(messages["zh"]), set(messages["en"])
    assert not zh - en and not en - zh, (
        f"keys only in zh (missing in en): {sorted(zh - en)}; keys only in en (missing in zh): {sorted(en - zh)}")


def test_no_message_is_empty(messages):
    empty = [f"{lang}.{k}" for lang in LANGS for k, v in messages[lang].items() if not v.strip()]
    assert not empty, f"empty messages: {empty}"


def test_every_literal_key_exists(messages, used):
    assert used["literal"], "found no t(\"...\") call at all: the scan of pwa/ is broken"
    for lang in LANGS:
        missing = {k: sorted(files) for k, files in used["literal"].items() if k not in messages[lang]}
        assert not missing, f"t() keys missing from MESSAGES.{lang}: {missing}"


def test_every_template_prefix_has_keys(messages, used):
    """t(`status_${x}`) and the like: the value is known only at run time; the prefix must have keys."""
    assert used["prefix"], "found no t(`prefix_${...}`) call: the scan of pwa/ is broken"
    for lang in LANGS:
        bare = {p: sorted(files) for p, files in used["prefix"].items()
                if not p or not any(k.startswith(p) for k in messages[lang])}
        assert not bare, f"t(`prefix_${{...}}`) prefixes with no key in MESSAGES.{lang}: {bare}"


def known_values() -> dict[str, set[str]]:
    """Values the dynamic keys are built from, where the repository says what they can be."""
    relations = set()
    for form in (PWA / "forms").glob("*.json"):
        stack = [json.loads(form.read_text(encoding="utf-8"))]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if node.get("id") == "relation":
                    relations |= {o["value"] for o in node.get("options", ())}
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    logged = {m.group(1) for path in app_sources()
              for m in re.finditer(r"""\blog\(\{\s*kind:\s*["'](\w+)["']""", path.read_text(encoding="utf-8"))}
    from server.models.visits import VISIT_KINDS

    return {"rel_": relations, "log_": logged, "kind_": set(VISIT_KINDS)}


def test_dynamic_keys_cover_the_known_values(messages, used):
    """rel_ for every relation a form offers, log_ for every kind the outbox logs, kind_ for every
    assignment kind the server has."""
    values = known_values()
    assert all(values.values()), f"found no values for some prefixes: {values}"
    assert set(values) <= set(used["prefix"]), f"t(`prefix_${{...}}`) calls are gone: {sorted(set(values) - set(used['prefix']))}"
    for lang in LANGS:
        missing = sorted(p + v for p, vs in values.items() for v in vs if p + v not in messages[lang])
        assert not missing, f"MESSAGES.{lang} is missing {missing}"


def test_every_call_of_t_is_known(messages, used):
    unknown = {e: sorted(files) for e, files in used["other"].items() if e not in KNOWN_EXPRESSIONS}
    assert not unknown, f"t() called with an expression this test does not know (add it to KNOWN_EXPRESSIONS): {unknown}"
    for expression, keys in KNOWN_EXPRESSIONS.items():
        for lang in LANGS:
            missing = [k for k in keys if k not in messages[lang]]
            assert not missing, f"t({expression}) needs {missing} in MESSAGES.{lang}"


def test_the_reader_is_strict():
    table = read_messages('export const MESSAGES = {\n zh: { a: "x", // c\n "b": \'y\\\'s\', },\n en: { a: "1", b: "2" } };')
    assert table == {"zh": {"a": "x", "b": "y's"}, "en": {"a": "1", "b": "2"}}
    for bad in ('export const MESSAGES = { zh: { a: "x", a: "y" }, en: {} };',
                'export const MESSAGES = { zh: { a: x }, en: {} };',
                'export const MESSAGES = { zh: { a: "x" b: "y" }, en: {} };',
                'export const MESSAGES = { zh: { a: "x },\n en: {} };'):
        with pytest.raises(JsSyntaxError):
            read_messages(bad)


def test_the_scan_of_calls():
    literal, prefixes, other = calls_of_t(
        'x(t("a"), t( \'b\' , {n}), t(`c_${y}`), t(z.w), it("no"), o.t("no"), set("no"));\n'
        '// t("comment")\nexport function t(key, params = {}) {}')
    assert (literal, prefixes, other) == ({"a", "b"}, {"c_"}, {"z.w"})
