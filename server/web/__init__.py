"""The console blueprint (staff, desktop browsers) and the health check."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from server.web import boards, cases, devices, imports, oversight, rosters, views  # noqa: E402,F401
