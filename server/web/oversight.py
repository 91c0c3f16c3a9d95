"""Console pages: oversight."""

from server.web import bp  # noqa: F401
