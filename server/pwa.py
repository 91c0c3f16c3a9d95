"""Serving the investigators' phone app (the PWA in pwa/) at /app/."""

from flask import Blueprint

bp = Blueprint("pwa", __name__)
