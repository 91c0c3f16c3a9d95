"""The application for a WSGI server: ``gunicorn 'server.wsgi:app'`` (docs/operations.md).

A setting, rules profile or calendar that cannot be used stops the process with its message in Chinese and
English on standard error and exit status 3, which gunicorn reads as "the worker failed to boot" and stops
(``gunicorn 'server:create_app()'`` still works; it prints the same refusal at the end of a traceback)."""

from __future__ import annotations

import sys

from server import create_app
from server.config import ConfigError
from server.domain.calendar import CalendarOverrideError
from server.rules import ProfileError

BOOT_FAILED = 3   # gunicorn's WORKER_BOOT_ERROR: the arbiter halts instead of starting the worker again

try:
    app = create_app()
except (ConfigError, ProfileError, CalendarOverrideError) as exc:
    print(f"错误：{exc.message}\nerror: {exc.message_en}", file=sys.stderr)
    sys.exit(BOOT_FAILED)
