"""Every documented setting is read: the ones production depends on, through what they change."""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

from PIL import Image

from server.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def test_attachments_go_where_ruhu_attachments_says(monkeypatch, migrated_url, tmp_path):
    target = tmp_path / "backed-up" / "attachments"
    monkeypatch.setenv("RUHU_ATTACHMENTS", str(target))
    from server import create_app
    from server.operations.attachments import store

    app = create_app({"SQLALCHEMY_DATABASE_URI": migrated_url, "SECRET_KEY": "x", "TESTING": True,
                      "RUHU_CALENDAR": "/nonexistent"})
    with app.app_context():
        ingested = store().ingest(_png(), declared_type="image/png")
        db.engine.dispose()
    sha = getattr(ingested, "sha256", None) or ingested[0]
    stored = [p for p in target.rglob("*") if p.is_file()]
    assert stored and any(sha in p.name or sha in str(p) for p in stored)
    assert not (Path(app.instance_path) / "attachments" / "originals").exists() or \
        not any(sha in str(p) for p in (Path(app.instance_path) / "attachments").rglob("*"))


def test_production_extra_brings_gunicorn_and_redis():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", dep, maxsplit=1)[0] for dep in extras["production"]}
    assert {"gunicorn", "redis"} <= names
    ops = (ROOT / "docs" / "operations.md").read_text()
    assert "ruhu[production]" in ops


def test_every_documented_setting_is_read_by_the_code():
    """Each RUHU_* name in the README's settings table and in docs/operations.md appears in server code."""
    documented = set(re.findall(r"`(RUHU_[A-Z_]+)`", (ROOT / "README.md").read_text()))
    documented |= set(re.findall(r"\b(RUHU_[A-Z_]+)=", (ROOT / "docs" / "operations.md").read_text()))
    documented -= {"RUHU_TEST_DATABASE_URL", "RUHU_TEST_POSTGRES_URL", "RUHU_REQUIRE_POSTGRES"}
    code = "\n".join(p.read_text() for p in (ROOT / "server").rglob("*.py"))
    unread = sorted(name for name in documented if f'"{name}"' not in code and f"'{name}'" not in code)
    assert documented and unread == []
