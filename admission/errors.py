"""The one error family of the whole system: a stable code, a message, an HTTP-style status
and optional details.

It lives here, below the server, so the admission core and the turnstile refuse input the
same way the server does; ``core.errors.DomainError`` and its kinds (ValidationError,
NotFound...) derive from it, and the server's error handlers answer any of them.

The message is a lazy gettext text (``_l("There is no site '%(site_id)s'.", site_id=site_id)``
from admission.text): rendered in the language of the request that shows it, and in English
outside a request (CLI, logs, the turnstile).
"""
from __future__ import annotations

import sys


class AdmissionError(Exception):
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

    def __reduce__(self):
        # Errors cross process boundaries (the model workers of core.inference): rebuild
        # them from their state, since subclasses' __init__ take other arguments.
        return _rebuild, (type(self), self.code, dict(self.__dict__))

    def localized(self, lang: str | None = None) -> str:
        """The message in ``lang``, or in the current request's language."""
        babel = sys.modules.get("flask_babel")  # the server's; the turnstile has none
        if lang is None or babel is None:
            return str(self.message)
        with babel.force_locale(lang):
            return str(self.message)

    def to_json(self, lang: str | None = None) -> dict:
        body = {"error": self.code, "message": self.localized(lang)}
        if self.details:
            body["details"] = self.details
        return body


def _rebuild(cls, code, state):
    err = cls.__new__(cls)
    Exception.__init__(err, code)
    err.__dict__.update(state)
    return err
