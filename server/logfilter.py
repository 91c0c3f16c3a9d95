"""No ID numbers in any log.

- SQL: the engine runs with ``hide_parameters`` (``server/config.py``), so a failed statement's
  traceback shows ``[SQL parameters hidden due to hide_parameters=True]`` instead of the ID numbers,
  names and phone numbers it carried.
- Access logs: the console's case search posts its query and redirects to ``/cases?s=<random key>``
  (``server/web/cases.py``), so what staff type never becomes part of a URL.  Behind that,
  :class:`MaskQueryNumbers` is installed on the access loggers of Werkzeug (``make run``) and gunicorn
  (``gunicorn.access``): in every logged line, the value of any query parameter that holds an ID-,
  phone- or account-number-like run (read by :mod:`server.domain.numberguard`, after percent-decoding:
  ``410104%E3%80%80195205…`` is caught too) is replaced by ``[redacted]``.  Paths are left alone (a
  case id, a SHA-256 or a board token is not a person's number).

A reverse proxy keeps its own access log: the console never puts typed numbers into URLs, and
docs/operations.md shows how to keep query strings out of nginx's log as well.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from server.domain import numberguard

REDACTED = "[redacted]"
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")

_QUERY = re.compile(r"\?([^ \t\r\n\"']*)")   # Werkzeug logs the query decoded: U+3000 is not an end


def _mask_query(match: re.Match) -> str:
    parts = []
    for pair in match.group(1).split("&"):
        name, eq, value = pair.partition("=")
        if eq and numberguard.find(unquote_plus(value)):
            value = REDACTED
        parts.append(name + eq + value)
    return "?" + "&".join(parts)


def mask(line: str) -> str:
    """The line with every number-like query value redacted."""
    return _QUERY.sub(_mask_query, line) if "?" in line else line


class MaskQueryNumbers(logging.Filter):
    """Rewrites an access-log record so that no query value carries an ID or phone number."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install() -> None:
    """Add the filter to the access loggers (once per process, however many apps are created)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskQueryNumbers) for f in logger.filters):
            logger.addFilter(MaskQueryNumbers())
