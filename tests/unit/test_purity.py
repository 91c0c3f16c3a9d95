"""The cores stay pure: nothing in server/domain or sync imports Flask, SQLAlchemy or the app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "flask_sqlalchemy", "flask_wtf", "flask_migrate", "flask_babel", "sqlalchemy", "alembic",
             "werkzeug", "server.models", "server.operations", "server.web", "server.extensions")
CORE_FILES = sorted([*ROOT.joinpath("server", "domain").rglob("*.py"), *ROOT.joinpath("sync").rglob("*.py")])


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            names.add("." * node.level + (node.module or ""))
    return names


def offending(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)
                  or n == "server" or n.startswith(".."))


def test_there_are_core_files():
    assert any(p.name == "workflow.py" for p in CORE_FILES)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_is_pure(path):
    assert offending(imported_modules(path)) == []


@pytest.mark.parametrize("source, bad", [
    ("import flask", ["flask"]),
    ("from sqlalchemy.orm import Session", ["sqlalchemy.orm"]),
    ("from server.models import Case", ["server.models"]),
    ("from server import today", ["server"]),
    ("from ..web import views", ["..web"]),
    ("import datetime\nfrom server.domain import calendar", []),
])
def test_the_checker_catches_impure_imports(tmp_path, source, bad):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert offending(imported_modules(path)) == bad


def test_cores_import_without_flask_or_sqlalchemy():
    """Importing every core module in a fresh interpreter loads neither Flask nor SQLAlchemy."""
    import subprocess
    import sys

    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in CORE_FILES
               if p.name != "__init__.py"] + ["server.rules"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'flask_sqlalchemy'))\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
