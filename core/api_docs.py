"""The OpenAPI document of the JSON APIs (public: vendors integrate from it) and its
browsable form for staff (Swagger UI, vendored under static/vendor; no inline script)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from .auth import role_required
from .contracts import contract
from .openapi import document
from .schemas import OpenApiDocument

bp = Blueprint("api_docs", __name__)


@bp.get("/api/openapi.json")
@contract(returns=OpenApiDocument)
def openapi_json():
    """This document: OpenAPI 3.1, generated from the views' contracts."""
    return jsonify(document(current_app))


@bp.get("/docs/api")
@role_required("staff")
def api_docs():
    return render_template("core/api_docs.html")
