"""Error handling and small helpers shared by every blueprint's views."""
from __future__ import annotations

import logging

from flask import g, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from admission.errors import AdmissionError

from .errors import DomainError
from .i18n import UnsupportedLanguage, label, unsupported_message, use_lang
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


def init_app(app) -> None:
    @app.errorhandler(AdmissionError)  # every DomainError too
    def _domain(exc: AdmissionError):
        if wants_json():
            return jsonify(exc.to_json()), exc.status
        return render_template("core/error.html", code=exc.code, message=exc.localized(),
                               status=exc.status), exc.status

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

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.error("unhandled error", exc_info=exc, extra={"event": "unhandled_error"})
        rid = getattr(g, "request_id", "")
        message = _("An unexpected error happened and was logged (reference %(rid)s). Please try "
                    "again later.", rid=rid)
        return render_error("internal_error", message, 500)
