"""Route x identity x unit: every route of the URL map, anonymous and each role, against objects of
the user's own office, a sibling office and another district — the allowed set is asserted."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_token, sign_in
from tests.integration.test_console import START, Console, on, register

IDENTITIES = ["gc_case", "gc_lead", "gc_dir", "gc_inv1", "gc_inv2", "gc_bureau", "gc_admin",
              "other_case", "yj_case", "yj_bureau"]
PUBLIC_PREFIXES = ("public.", "pwa.", "api.")
PUBLIC_ENDPOINTS = {"static", "web.index", "web.login", "web.login_form", "web.healthz"}
MISSING = 999_999   # an id no row has


def _fill(rule, case_id: int) -> str:
    def value(match):
        conv, name = match.group(1), match.group(2)
        if name == "case_id":
            return str(case_id)
        if name in ("action",):
            return "accept"
        if name == "doc":
            return "approval_form"
        if name == "fmt":
            return "csv"
        if name == "chart":
            return "stages"
        if name == "sha":
            return "0" * 64
        if name == "variant":
            return "display"
        if name == "filename":
            return "console.css"
        if conv == "int":
            return str(MISSING)
        return "nothing"
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", value, rule.rule)


@pytest.fixture
def world(app, org):
    on(app, START)
    own = register(app, Console(app, "gc_case"), org)
    sibling = register(app, Console(app, "other_case"), org, unit="oc", region="410105")
    return {"own": own, "sibling": sibling}


ROLE = {"gc_case": "caseworker", "gc_lead": "leader", "gc_dir": "director", "gc_inv1": "investigator",
        "gc_inv2": "investigator", "gc_bureau": "bureau_supervisor", "gc_admin": "admin",
        "other_case": "caseworker", "yj_case": "caseworker", "yj_bureau": "bureau_supervisor"}
OFFICE = {"caseworker", "leader", "director"}
EVERYONE = set(ROLE.values())
# The console's areas, most specific first: which roles may enter at all.
AREAS = [("/cases/new", {"caseworker"}), ("/cases", EVERYONE), ("/boards", OFFICE), ("/devices", {"caseworker"}), ("/imports", {"caseworker"}),
         ("/dynamic", OFFICE), ("/oversight", {"bureau_supervisor"}), ("/rosters/bureau", {"bureau_supervisor"}),
         ("/rosters", OFFICE | {"bureau_supervisor"}), ("/files", EVERYONE)]
# Who may read a case of each unit: its office's staff and the district's supervisor.
CASE_READERS = {"own": {"gc_case", "gc_lead", "gc_dir", "gc_bureau"}, "sibling": {"other_case", "gc_bureau"}}
# The least-privilege view of investigators (their own assignments only) is issue 13's privacy half;
# here they are held to their unit: never a case of another office.
LEAST_PRIVILEGE_ELSEWHERE = {"gc_inv1", "gc_inv2"}
SKIP = {"web.logout", "web.login", "public.report_submit"}   # sign-out ends the session; the rest are rate-limited


def _area_roles(path: str) -> set[str] | None:
    for prefix, roles in AREAS:
        if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "."):
            return roles
    return None


def _problems(endpoint, method, path, where, who, status, has_case, has_missing_id):
    public = endpoint.startswith(PUBLIC_PREFIXES) or endpoint in PUBLIC_ENDPOINTS
    if status >= 500:
        return "server error"
    if public:
        return None
    if who == "anonymous":
        ok = {302} if method == "GET" else {400, 302}
        return None if status in ok else f"anonymous got {status}"
    roles = _area_roles(path)
    assert roles is not None, f"no area for {path}: add it to AREAS"
    if ROLE[who] not in roles:
        return None if status in (403, 404) else f"role outside the area got {status}"
    if has_missing_id:
        return None if status in (403, 404) else f"a missing object answered {status}"
    if has_case:
        readers = CASE_READERS[where]
        if who in LEAST_PRIVILEGE_ELSEWHERE and where == "own":
            return None
        if who not in readers:
            return None if status in (403, 404) else f"out of scope got {status}"
        if method == "GET" and endpoint in ("web.case_detail", "web.case_print"):
            return None if status == 200 else f"in-scope reader got {status}"
    return None


def test_route_role_unit_matrix(app, org, world):
    clients = {"anonymous": app.test_client()}
    for who in IDENTITIES:
        c = app.test_client()
        assert sign_in(c, who).status_code == 302
        clients[who] = c
    tokens = {who: csrf_token(c) for who, c in clients.items()}
    wrong, sent, routes = [], 0, set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        routes.add(rule.rule)
        has_case = "case_id" in rule.arguments
        has_missing_id = any(a != "case_id" and isinstance(rule._converters.get(a), type(app.url_map.converters["int"]))
                             for a in rule.arguments) or "sha" in rule.arguments
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for where, case_id in world.items():
                if where == "sibling" and not has_case:
                    continue
                path = _fill(rule, case_id)
                for who, c in clients.items():
                    data = {"csrf_token": tokens[who]} if method == "POST" else None
                    response = c.open(path, method=method, data=data)
                    status = response.status_code
                    response.close()
                    sent += 1
                    problem = _problems(rule.endpoint, method, path, where, who, status, has_case, has_missing_id)
                    if problem:
                        wrong.append((method, path, who, problem))
    assert len(routes) >= 80 and sent >= 1000
    assert wrong == []
