"""Alembic migrations build exactly the schema the models describe, down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from server.extensions import db


def _diff(app):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, db.metadata)


def test_migrated_schema_matches_the_models(app):
    with app.app_context():
        assert _diff(app) == []
        tables = set(inspect(db.engine).get_table_names())
        assert {"units", "users", "households", "members", "cases", "case_events", "audit_entries",
                "alembic_version"} <= tables


def test_downgrade_to_base_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        db.engine.dispose()
        assert inspect(db.engine).get_table_names() == ["alembic_version"] or \
            set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()
        assert _diff(app) == []
