"""The Ruhu app for the sync benchmark under gunicorn (``bench.ruhu_app:app``): database and attachment
directory from BENCH_DB_URL and BENCH_ATTACHMENTS, rate limits off (the benchmark measures throughput)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from bench.sync_load import TODAY, app_config
from server import create_app

_config = app_config(os.environ["BENCH_DB_URL"], Path(os.environ["BENCH_ATTACHMENTS"]))
_config["RUHU_TODAY"] = TODAY if isinstance(TODAY, dt.date) else dt.date.fromisoformat(TODAY)
app = create_app(_config)
