"""CSRF protection for every form and cookie-authenticated API call.

A per-session random token must come back on unsafe methods, as the form field
``csrf_token`` or the ``X-CSRF-Token`` header. Requests authenticated by a bearer
token carry no ambient authority and are exempt; so are views marked with
``csrf_exempt`` (signed webhooks, anonymous JSON APIs).
"""
from __future__ import annotations

import hmac
import secrets

from flask import current_app, request, session

from .errors import DomainError
from .text import _l

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_exempt(view):
    view._csrf_exempt = True
    return view


def _is_exempt() -> bool:
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return True
    view = current_app.view_functions.get(request.endpoint)
    return bool(view is not None and getattr(view, "_csrf_exempt", False))


def protect() -> None:
    if request.method not in UNSAFE or request.endpoint is None or _is_exempt():
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not expected or not sent or not hmac.compare_digest(str(sent), expected):
        raise DomainError("csrf_failed", _l("The form expired or did not come from this site. "
                                            "Reload the page and try again."), 400)
