"""Error handling and small helpers shared by every blueprint's views."""
from __future__ import annotations

import logging
import sqlite3

from flask import g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from admission.errors import AdmissionError

from .db import ROW_ID_MAX
from .errors import DomainError
from .i18n import UnsupportedLanguage, label, unsupported_message, use_lang
from .serving import Busy
from .text import _l

log = logging.getLogger("scenic.errors")

# Werkzeug's own HTTP errors mapped to stable codes.
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
              429: "too_many_requests"}


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def invalid_json() -> DomainError:
    return DomainError("invalid_json",
                       _l("Send a JSON object with Content-Type application/json."), 400)


def json_body(required: bool = True) -> dict:
    """The request's JSON object, or a clear 400. JSON APIs declare a body model with
    ``core.contracts.contract`` instead; this stays for views that read JSON by hand."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        if not required and not request.data:
            return {}
        raise invalid_json()
    return data


def render_error(code: str, message: str, status: int):
    if wants_json():
        return jsonify({"error": code, "message": message}), status
    return render_template("core/error.html", code=code, message=message, status=status), status


FORWARDING_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO",
                      "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX",
                      "HTTP_X_FORWARDED_BY")


class TrustedProxy:
    """WSGI middleware: werkzeug's ProxyFix with ``TRUSTED_PROXY_HOPS`` hops, read per request
    (0, the default: off, and forwarding headers are dropped, so a client cannot forge its
    address with X-Forwarded-For). Behind a TLS proxy set it to the number of proxies: rate
    limits then key on each visitor's own address instead of the proxy's. X-Forwarded-For
    and -Proto are trusted; the Host header is taken as the proxy passes it. The app decides
    this under any WSGI server (scripts/serve.py tells waitress to pass the headers on)."""

    def __init__(self, app):
        self.app = app
        self.wrapped = app.wsgi_app
        self.fixes = {}

    def __call__(self, environ, start_response):
        hops = self.app.config["TRUSTED_PROXY_HOPS"]
        # Whether a proxy passed this request on, even where its headers are dropped below
        # (/metrics serves the loopback only when no proxy did: core.metrics).
        environ["scenic.forwarded"] = any(name in environ for name in FORWARDING_HEADERS)
        if not hops:
            for name in FORWARDING_HEADERS:
                environ.pop(name, None)
            return self.wrapped(environ, start_response)
        fix = self.fixes.get(hops)
        if fix is None:
            fix = self.fixes[hops] = ProxyFix(self.wrapped, x_for=hops, x_proto=hops)
        return fix(environ, start_response)


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: a row id SQLite can hold (64-bit). A longer number matches
    no route (404) instead of reaching SQLite, which cannot bind it (a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", ROW_ID_MAX)
        super().__init__(map, *args, **kwargs)


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLite's "database is locked" / "database table is locked" / "database is busy"."""
    text = str(exc)
    return "locked" in text or "busy" in text


def db_busy() -> DomainError:
    return Busy("db_busy", _l("The site is very busy just now; nothing was saved. Please try "
                              "again in a moment."), retry_after=2)


def domain_response(exc: AdmissionError):
    """The answer to any refusal: JSON under /api/, a localised error page elsewhere; a
    ``Retry-After`` header when the refusal says when to retry (rate limits)."""
    if wants_json():
        resp = jsonify(exc.to_json())
    else:
        resp = make_response(render_template("core/error.html", code=exc.code,
                                             message=exc.localized(), status=exc.status))
    resp.status_code = exc.status
    retry = exc.details.get("retry_after_s") if exc.details else None
    if isinstance(retry, int):
        resp.headers["Retry-After"] = str(retry)
    return resp


def init_app(app) -> None:
    from .ratelimit import RateLimitExceeded, box_refusal, request_refusal

    @app.errorhandler(AdmissionError)  # every DomainError too
    def _domain(exc: AdmissionError):
        resp = domain_response(exc)
        if exc.code == "rate_limited" and exc.status == 429:  # request limits counted in a view
            box_refusal(resp, exc.details["retry_after_s"])
        return resp

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded):
        refusal = request_refusal(exc)
        resp = domain_response(refusal)
        box_refusal(resp, refusal.details["retry_after_s"])
        return resp

    @app.errorhandler(UnsupportedLanguage)
    def _lang(exc: UnsupportedLanguage):
        use_lang(app.config["DEFAULT_LANG"])
        return render_error("unsupported_language", unsupported_message(exc.lang), 400)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        code = HTTP_CODES.get(status, "http_error")
        key = f"error.{code}"
        message = label(key)
        if message == key:
            message = exc.description or code
        if isinstance(exc, RequestEntityTooLarge):
            message = _("The upload is too large.")
        return render_error(code, message, status)

    @app.errorhandler(sqlite3.OperationalError)
    def _database(exc: sqlite3.OperationalError):
        """A database or the rate-limit file stayed locked past its busy timeout: the site is
        overloaded, and the transaction was rolled back, so the visitor may simply retry."""
        if not is_busy(exc):
            return _unexpected(exc)
        log.warning("database busy", extra={"event": "db_busy", "error": str(exc)})
        return domain_response(db_busy())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.error("unhandled error", exc_info=exc, extra={"event": "unhandled_error"})
        rid = getattr(g, "request_id", "")
        message = _("An unexpected error happened and was logged (reference %(rid)s). Please try "
                    "again later.", rid=rid)
        return render_error("internal_error", message, 500)
