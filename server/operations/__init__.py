"""Operations: one function per use case.  Each loads rows, calls the pure core, persists and audits
in one transaction.  Views and CLI commands only parse input, call an operation and render."""

from __future__ import annotations


class OperationError(Exception):
    """A refused request, with a machine code, messages in Chinese and English and an HTTP status."""

    def __init__(self, code: str, message: str, message_en: str, status: int = 422, details: dict | None = None,
                 **more):
        self.code, self.message, self.message_en, self.status = code, message, message_en, status
        self.details = {**(details or {}), **more}
        super().__init__(f"{code}: {message_en}")


def check_length(value: str, limit: int, *, field: str, zh: str, en: str) -> str:
    """A typed text, refused (422, naming the field and the limit) when longer than ``limit`` — never cut."""
    if len(value) > limit:
        raise OperationError(f"{field}_too_long", f"{zh}不能超过{limit}个字（现有{len(value)}个）",
                             f"{en} must not exceed {limit} characters (it has {len(value)})", field=field, limit=limit)
    return value
