"""The phone's pure modules, run in Chromium against the vectors the server is tested with: canonical JSON
and content hashes (tests/fixtures/sync_envelopes.json), the attestation message, ID numbers
(tests/fixtures/id_numbers.json), the form validation (paths and codes as sync.validate reports them),
the backoff and the answers the renderer builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.protocol import attestation_message
from tests.browser.test_pwa_flow import pwa_app, pwa_server  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def app_page(browser, pwa_server):  # noqa: F811
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(pwa_server + "/app/")
    page.wait_for_selector("body[data-ready='1']")
    yield page
    context.close()


def run(page, script: str, arg=None):
    return page.evaluate(f"async (arg) => {{ {script} }}", arg)


def test_canonical_json_and_hashes_match_the_server(app_page):
    vectors = json.loads((FIXTURES / "sync_envelopes.json").read_text(encoding="utf-8"))
    result = run(app_page, """
        const p = await import('./protocol.js');
        const out = {canonical: [], envelopes: []};
        for (const v of arg.canonical_vectors) {
          const text = p.canonicalJSON(v.input);
          out.canonical.push({text, sha: await p.sha256Hex(new TextEncoder().encode(text))});
        }
        for (const e of arg.envelopes) {
          try { out.envelopes.push(await p.contentHash(e.envelope)); }
          catch (err) { out.envelopes.push(err.name); }
        }
        return out;""", vectors)
    for got, want in zip(result["canonical"], vectors["canonical_vectors"], strict=True):
        assert got["text"] == want["canonical"], want["why"]
        assert got["sha"] == want["sha256"], want["why"]
    for got, want in zip(result["envelopes"], vectors["envelopes"], strict=True):
        assert got == (want["content_hash"] if want["content_hash"] is not None else "TypeError"), want["name"]


@pytest.mark.parametrize("expression, error", [
    ("({x: 1.5})", "TypeError"), ("({x: 2 ** 53})", "RangeError"), ("({x: NaN})", "TypeError"),
    ("({x: '\\ud800'})", "RangeError"), ("({'e\\u0301': 1, '\\u00e9': 2})", "RangeError"),
    ("({x: undefined})", "TypeError"), ("({x: new Date(0)})", "TypeError"), ("({x: null, y: [true, -0]})", None),
])
def test_what_canonical_json_refuses(app_page, expression, error):
    got = run(app_page, f"""
        const p = await import('./protocol.js');
        try {{ p.canonicalJSON({expression}); return null; }} catch (err) {{ return err.name; }}""")
    assert got == error


def test_attestation_message_bytes(app_page):
    visit_id, digest = "3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012", "ab" * 32
    got = run(app_page, """
        const p = await import('./protocol.js');
        return [...p.attestationMessage(arg[0], arg[1])];""", [visit_id, digest])
    assert bytes(got) == attestation_message(visit_id, digest)


def test_id_numbers_agree_with_the_server(app_page):
    vectors = json.loads((FIXTURES / "id_numbers.json").read_text(encoding="utf-8"))
    result = run(app_page, """
        const ids = await import('./idnumber.js');
        return {
          valid: arg.valid.map(v => ids.parseIdNumber(v.input, arg.today)),
          invalid: arg.invalid.map(v => ids.parseIdNumber(v.input, arg.today)),
        };""", vectors)
    for got, want in zip(result["valid"], vectors["valid"], strict=True):
        assert got["ok"] and got["number"] == want["normalised"], want["why"]
        assert got["birth_date"] == want["birth_date"] and got["sex"] == want["sex"], want["why"]
    for got, want in zip(result["invalid"], vectors["invalid"], strict=True):
        assert not got["ok"] and got["code"] == want["code"], want["why"]
        assert got["message"] and got["message_en"]


def test_form_validation_reports_what_the_server_reports(app_page):
    vectors = json.loads((FIXTURES / "sync_envelopes.json").read_text(encoding="utf-8"))
    forms = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (ROOT / "pwa" / "forms").glob("*.json")}
    cases = [e for e in vectors["envelopes"] if e["visit_problems"] is not None]
    result = run(app_page, """
        const v = await import('./forms/validate.js');
        return arg.cases.map(e => v.validateVisit(arg.forms[e.envelope.form_id], e.envelope, arg.today)
          .map(p => [p.path, p.code]));""", {"cases": cases, "forms": forms, "today": vectors["today"]})
    assert len(cases) >= 2
    for got, want in zip(result, cases, strict=True):
        assert {tuple(p) for p in got} == {(p["path"], p["code"]) for p in want["visit_problems"]}, want["name"]


def test_amounts_and_six_month_incomes_are_read_as_the_server_reads_them(app_page):
    """tests/fixtures/amounts.json, the table tests/unit/test_declaration_amounts.py runs on the server: a comma
    only groups thousands ("12,50" is refused, never 1250) and a six-month income is all typed or all blank."""
    table = json.loads((FIXTURES / "amounts.json").read_text(encoding="utf-8"))
    form = json.loads((ROOT / "pwa" / "forms" / "household_survey.json").read_text(encoding="utf-8"))
    got = run(app_page, """
        const v = await import('./forms/validate.js');
        const problem = (t) => { const p = v.amountProblem(t); return p === v.BAD_COMMA ? 'comma' : p === v.BAD_AMOUNT ? 'amount' : p; };
        return {
          amounts: arg.table.amounts.map(r => [v.isAmount(r.text), problem(r.text)]),
          money6: arg.table.money6.map(r => v.validateAnswers(arg.form, {income: {wages: r.months}}, '2026-11-22')
            .filter(p => p.path.startsWith('income')).map(p => [p.path, p.code, p.message, p.message_en])),
        };""", {"table": table, "form": form})
    for (ok, problem), row in zip(got["amounts"], table["amounts"], strict=True):
        assert (ok, problem) == (row["value"] is not None, row["problem"]), row["text"]
    for problems, row in zip(got["money6"], table["money6"], strict=True):
        assert [(p[0], p[1]) for p in problems] == [(f"income/wages{path}", code) for path, code in row["codes"]], row
    # the same words as the server's (sync.validate)
    from sync.validate import validate_answers
    for problems, row in zip(got["money6"], table["money6"], strict=True):
        server = [p for p in validate_answers(form, {"income": {"wages": row["months"]}}, today=None)
                  if p.path.startswith("income")]
        assert [[p.path, p.code, p.message, p.message_en] for p in server] == problems, row


def test_answers_leave_out_blanks_and_hidden_fields(app_page):
    form = json.loads((ROOT / "pwa" / "forms" / "household_survey.json").read_text(encoding="utf-8"))
    answers = run(app_page, """
        const r = await import('./forms/renderer.js');
        const values = r.emptyValues(arg, {members: [{name: '王', id_number: ' 11010519491231002x ', relation: 'head', co_residing: true}]});
        Object.assign(values.members[0], {disabled: false, disability_grade: '2', student: true, school: '一中', health: 'healthy'});
        values.income.wages = ['100', '', '', '', '', ''];
        values.property.vehicles_count = ' 3 ';
        values.living.conditions = ['adequate'];
        return r.toAnswers(arg, values);""", form)
    member = answers["members"][0]
    assert member["id_number"] == "11010519491231002X"
    assert "disability_grade" not in member and member["school"] == "一中"   # hidden is left out, shown kept
    assert answers["income"] == {"wages": ["100", "", "", "", "", ""]}
    assert answers["property"] == {"vehicles_count": 3}
    assert answers["living"] == {"conditions": ["adequate"]}


def test_backoff_is_exponential_capped_and_jittered(app_page):
    got = run(app_page, """
        const b = await import('./backoff.js');
        const low = [1, 2, 3, 4, 10, 50].map(n => b.delay(n, {random: () => 0}));
        const high = [1, 2, 3, 4, 10, 50].map(n => b.delay(n, {random: () => 0.999999}));
        return {low, high, cap: b.CAP_MS, base: b.BASE_MS,
                due: [b.due({next_attempt_at: 10}, 5), b.due({next_attempt_at: 10}, 5, true), b.due({}, 5)]};""")
    base, cap = got["base"], got["cap"]
    assert got["low"][:4] == [base // 2, base, base * 2, base * 4]
    assert got["high"][:4] == [base, base * 2, base * 4, base * 8]
    assert got["low"][-1] == cap // 2 and got["high"][-1] == cap and got["high"][-2] == cap
    assert got["due"] == [False, True, True]


def test_qr_payload_round_trip(app_page):
    got = run(app_page, """
        const a = await import('./attest.js');
        const text = a.qrPayload('3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012', 'ab'.repeat(32), 41);
        return [text, a.parseQrPayload(text), a.parseQrPayload('RUHU1|x|y|1'), a.parseQrPayload('hello')];""")
    assert got[1] == {"visit_id": "3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012", "content_hash": "ab" * 32, "assignment_id": 41,
                      "digest": None}
    assert got[2] is None and got[3] is None


def test_qr_payload_carries_the_records_digest(app_page):
    """The partner's phone reads, offline, the record's members, income total and recommendation from the QR."""
    got = run(app_page, """
        const a = await import('./attest.js');
        const answers = {members: [{name: '张建国', relation: 'head'}, {name: '李小宝', relation: 'grandchild'}],
                         income: {wages: ['300', '300', '0', '450.50', '300', '0'], pensions: ['0.5', '0', '0', '0', '0', '0']},
                         findings: {summary: '情况属实', recommendation: 'eligible'}};
        const digest = a.recordDigest(answers);
        const text = a.qrPayload('3f1c2b9e-7d4a-4c1e-9b2f-5a6d7e8f9012', 'ab'.repeat(32), 41, digest);
        const bad = text.slice(0, -4) + '!!!!';
        return [digest, text, a.parseQrPayload(text), a.parseQrPayload(bad), a.recordDigest({})];""")
    digest, text, parsed, bad, empty = got
    assert digest["income_total"] == "1351.00" and digest["months"] == 6 and digest["recommendation"] == "eligible"
    assert [m["name"] for m in digest["members"]] == ["张建国", "李小宝"] and digest["summary"] == "情况属实"
    assert text.startswith("RUHU2|") and len(text) < 300
    assert parsed["digest"] == {"members": [{"name": "张建国", "relation": ""}, {"name": "李小宝", "relation": ""}],
                                "income_total": "1351.00", "recommendation": "eligible", "summary": None}
    assert bad is None
    assert empty["members"] == [] and empty["income_total"] is None


def test_exif_capture_time_and_position_are_read(app_page):
    """The camera's DateTimeOriginal/OffsetTimeOriginal and GPS, as the envelope carries them; junk gives nulls."""
    import base64
    import io

    from PIL import Image

    img = Image.new("RGB", (64, 48), (10, 20, 30))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:11:20 09:15:07"
    exif.get_ifd(0x8769)[0x9011] = "+08:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (34.0, 30.0, 0.0), "W", (113.0, 15.0, 0.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    plain = io.BytesIO()
    img.save(plain, "JPEG")
    got = run(app_page, f"""
        const e = await import('./exif.js');
        const bytes = (b64) => Uint8Array.from(atob(b64), c => c.charCodeAt(0)).buffer;
        return [e.readExif(bytes('{base64.b64encode(buf.getvalue()).decode()}')),
                e.readExif(bytes('{base64.b64encode(plain.getvalue()).decode()}')),
                e.readExif(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0, 4, 1, 2]).buffer), e.UNSTATED_ACCURACY];""")
    assert got[0] == {"captured_at": "2026-11-20T09:15:07+08:00",
                      "position": {"lat": "-34.500000", "lon": "-113.250000", "accuracy": got[3]}}
    assert got[1] == {"captured_at": None, "position": None} and got[2] == {"captured_at": None, "position": None}


def test_numbers_as_chinese_users_type_them(app_page):
    """Full-width digits, thousands separators, ¥ and 元 become the plain amount; anything else is left for the
    validator to name; an ID number loses full-width forms and spaces."""
    got = run(app_page, """
        const r = await import('./forms/renderer.js');
        return [['money6', '１２００'], ['money6', '1,200'], ['money', '１，２００．５０'], ['money', '¥300元'],
                ['money6', '12,00'], ['money6', ' 45 0 '], ['integer', '２'], ['id_number', '４１０１０４ １９６２０５０１０１１Ｘ'],
                ['text', '１２']].map(([type, raw]) => r.normaliseTyped(type, raw));""")
    assert got == ["1200", "1200", "1200.50", "300", "12,00", "450", "2", "41010419620501011X", "12"]


def test_a_closed_assignment_is_worded_for_what_happened(app_page):
    got = run(app_page, """
        const { revokedText } = await import('./ui/home.js');
        return [revokedText({}, {status: 'synced'}), revokedText({records: [{status: 'accepted'}]}, null),
                revokedText({}, {status: 'ready'}), revokedText({}, null)];""")
    assert got[0] == "此任务已完成：记录已上传" and got[1] == "此任务已完成：同组人员的记录已记入案件"
    assert got[2] == got[3] and "已完成、撤销或改派" in got[2]
    assert all("此任务已被撤销或改派" != text for text in got)
