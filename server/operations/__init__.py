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
