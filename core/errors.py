"""One error family for every domain.

A DomainError carries a stable machine code, an English message and an optional
Chinese one. APIs answer ``{"error": code, "message": ...}``; pages show the
message in the visitor's language.
"""
from __future__ import annotations


class DomainError(Exception):
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

    @classmethod
    def from_error(cls, exc) -> "DomainError":
        """The same refusal from a library outside the server that speaks this shape
        (``code``, ``message``, ``status``, ``message_zh``, ``details``), such as
        ``admission.errors.AdmissionError``."""
        return cls(exc.code, exc.message, exc.status, message_zh=exc.message_zh,
                   details=dict(exc.details) or None)

    def localized(self, lang: str) -> str:
        if lang == "zh" and self.message_zh:
            return self.message_zh
        return self.message

    def to_json(self, lang: str = "en") -> dict:
        body = {"error": self.code, "message": self.localized(lang)}
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class ConfigError(Exception):
    """Bad configuration: stops start-up with a message naming the key."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"setting {key}: {problem}")
        self.key = key
