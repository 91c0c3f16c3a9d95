"""Console pages: boards."""

from server.web import bp  # noqa: F401
