"""The admission core's one error: a stable code with an English and a Chinese message.

Its shape matches the server's ``core.errors.DomainError`` (``code``, ``message``,
``status``, ``message_zh``, ``details``), so the server turns it into one with
``DomainError.from_error`` and the turnstile prints it as it is.
"""
from __future__ import annotations


class AdmissionError(Exception):
    status = 400

    def __init__(self, code: str, message: str, status: int | None = None, *,
                 message_zh: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.details = details or {}
        if status is not None:
            self.status = status
