"""The baseline for the sync benchmark: a bare Flask endpoint inserting one row per request into SQLite with
``synchronous=FULL`` (one durable commit per request), served by gunicorn like the real app."""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, request

app = Flask(__name__)
_PATH = os.environ.get("BENCH_BARE_DB", "/tmp/ruhu-bench-bare.sqlite3")
_local = threading.local()


def _conn() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(_PATH, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        _local.conn = conn
    return conn


@app.post("/insert")
def insert():
    _conn().execute("INSERT INTO rows (body) VALUES (?)", (request.get_data(as_text=True),))
    return {"ok": True}, 201
