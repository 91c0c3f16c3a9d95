"""Console pages: rosters."""

from server.web import bp  # noqa: F401
