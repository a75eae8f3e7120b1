"""The one error family of the whole system: a stable code with an English and a Chinese
message, an HTTP-style status and optional details.

It lives here, below the server, so the admission core and the turnstile refuse input the
same way the server does; ``core.errors.DomainError`` and its kinds (ValidationError,
NotFound...) derive from it, and the server's error handlers answer any of them.
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

    def localized(self, lang: str) -> str:
        if lang == "zh" and self.message_zh:
            return self.message_zh
        return self.message

    def to_json(self, lang: str = "en") -> dict:
        body = {"error": self.code, "message": self.localized(lang)}
        if self.details:
            body["details"] = self.details
        return body
