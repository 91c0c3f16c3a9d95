"""Public pages for residents (no sign-in): notice boards, objections, certificate checks."""

from flask import Blueprint

bp = Blueprint("public", __name__)
