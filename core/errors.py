"""One error family for every domain.

A DomainError carries a stable machine code and a message: a lazy gettext string
(``_l("There is no site '%(site_id)s'.", site_id=site_id)`` from core.text), rendered in the
language of the request that shows it. APIs answer ``{"error": code, "message": ...}``;
pages show the message. Outside a request (CLI, logs) the message is English.
"""
from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, code: str, message, status: int | None = None, *,
                 details: dict | None = None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.details = details or {}
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return str(self.message)

    def localized(self, lang: str | None = None) -> str:
        """The message in ``lang``, or in the current request's language."""
        if lang is None:
            return str(self.message)
        from flask_babel import force_locale  # not at import: the gate client shares this
        with force_locale(lang):
            return str(self.message)

    def to_json(self, lang: str | None = None) -> dict:
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
