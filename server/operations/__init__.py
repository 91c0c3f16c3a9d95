"""Operations: one function per use case.  Each loads rows, calls the pure core, persists and audits
in one transaction.  Views and CLI commands only parse input, call an operation and render."""

from __future__ import annotations


class OperationError(Exception):
    """A refused request, with a machine code, messages in Chinese and English and an HTTP status."""

    def __init__(self, code: str, message: str, message_en: str, status: int = 422, **details):
        self.code, self.message, self.message_en, self.status, self.details = (
            code, message, message_en, status, details)
        super().__init__(f"{code}: {message_en}")
