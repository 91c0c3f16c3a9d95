"""Ruhu (入户): the dibao casework server.

This package's ``__init__`` stays light on purpose: the pure cores (``server.domain``, ``server.rules``)
must import without Flask or SQLAlchemy, so the application itself lives in ``server.app`` and is
reached through the thin functions below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")  # China has no daylight saving time


def create_app(overrides: dict | None = None) -> Any:
    """Build the Flask application (see ``server.app.create_app``)."""
    from server.app import create_app as build

    return build(overrides)


def services() -> Any:
    """The running app's rules profiles and calendar (``server.app.Services``)."""
    from flask import current_app

    return current_app.extensions["ruhu"]


def today() -> dt.date:
    """Today's date in China (tests and demos may pin it with the RUHU_TODAY setting)."""
    from flask import current_app

    pinned = current_app.config.get("RUHU_TODAY")
    if pinned:
        return pinned if isinstance(pinned, dt.date) else dt.date.fromisoformat(pinned)
    return dt.datetime.now(CHINA).date()
