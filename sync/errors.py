"""Problems found in what a phone sent, reported all at once — pure.

A ``Problem`` names where (``path``: JSON-pointer-like, segments joined by "/" without a leading
slash, list positions counted from 0, e.g. ``attachments/2/sha256`` or ``members/0/id_number``;
"" is the whole document), what (``code``, a short machine-readable reason) and why, in Chinese
(``message``, for the people using the phone) and English (``message_en``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["EnvelopeError", "Problem", "join_path"]


@dataclass(frozen=True)
class Problem:
    path: str
    code: str
    message: str  # Chinese
    message_en: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message, "message_en": self.message_en}


class EnvelopeError(ValueError):
    """The envelope is malformed; ``problems`` lists every problem found, never just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        if not self.problems:
            raise ValueError("EnvelopeError needs at least one problem")
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first.path or '<envelope>'}: {first.message_en}{more}")


def join_path(path: str, segment: str | int) -> str:
    """``path`` extended by one segment; "/" and "~" in a segment are escaped as in RFC 6901."""
    text = str(segment).replace("~", "~0").replace("/", "~1")
    return f"{path}/{text}" if path else text
