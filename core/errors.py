"""One error family for every domain.

A DomainError (admission.errors.AdmissionError underneath) carries a stable machine code
and a message: a lazy gettext text (``_l(...)`` from core.text), rendered in the language of
the request that shows it. APIs answer ``{"error": code, "message": ...}``; pages show the
message. Outside a request (CLI, logs) the message is English.
"""
from __future__ import annotations

from admission.errors import AdmissionError


class DomainError(AdmissionError):
    """A refusal raised by the server's code. The admission core raises its base class,
    AdmissionError, which the handlers in core.web answer the same way."""


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
