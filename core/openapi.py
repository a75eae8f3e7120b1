"""The OpenAPI 3.1 document of the JSON APIs, built from the views' contracts
(core.contracts) and the app's URL map when it is first asked for, then cached per app.

Pydantic v2 writes JSON Schema 2020-12, which is OpenAPI 3.1's own schema dialect, so
models go into ``components.schemas`` unchanged. Security comes from the guards a view
wears (``role_required``: the session cookie, plus the CSRF header on unsafe methods;
``token_required``: a gate's or a worker's bearer token), and every error answer is
listed with the codes the endpoint can return: its contract's, its fields', and its
guards'. Served at ``GET /api/openapi.json``; staff browse it at ``/docs/api``.
"""
from __future__ import annotations

import re
from http import HTTPStatus

from flask import Flask, current_app
from pydantic.json_schema import models_json_schema

from .contracts import Contract, contract_of, refusals
from .db import ROW_ID_MAX
from .i18n import languages

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PATH_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
# Ids in paths are slugs and numbers; saying so keeps generated calls on real routes.
PATH_STRING = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}
PATH_TYPES = {"int": {"type": "integer", "minimum": 0, "maximum": ROW_ID_MAX},  # RowIdConverter
              "float": {"type": "number", "minimum": 0}}

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "message"], "additionalProperties": False,
    "properties": {
        "error": {"type": "string", "description": "A stable code: clients branch on it."},
        "message": {"type": "string",
                    "description": "For people, in the request's language (?lang=zh|en, "
                                   "the lang cookie, or Accept-Language)."},
        "details": {"type": "object", "description": "Where it applies, e.g. "
                    "{\"field\": \"regions[0].name\"} or {\"holder\": 1}."}},
}

SECURITY_SCHEMES = {
    "staffSession": {
        "type": "apiKey", "in": "cookie", "name": "scenic_session",
        "description": "A staff or admin session: log in at /login. Routes marked admin "
                       "need the admin role; admins pass every staff check."},
    "csrfToken": {
        "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
        "description": "The session's CSRF token, required with the session cookie on "
                       "POST/PUT/DELETE: read it from the <meta name=\"csrf-token\"> of any "
                       "page of the same session."},
    "gateToken": {
        "type": "http", "scheme": "bearer",
        "description": "A ticket gate's device token (`flask --app app create-device NAME "
                       "--role gate`, or a gate registered on /gates/audit)."},
    "workerToken": {
        "type": "http", "scheme": "bearer",
        "description": "A crowd-counting worker's device token (`flask --app app "
                       "create-device NAME --role worker`)."},
}

DESCRIPTION = """\
The JSON APIs of the Mount Tai and Qufu smart scenic areas: sites, timed-entry tickets,
gates, crowd monitoring and the audio guide.

Every refusal answers `{"error": code, "message": ...}` with a stable `code` (listed per
endpoint and status) and a `message` in the request's language. Anonymous visitor calls
need no credentials; staff calls use the session cookie of /login and, on unsafe methods,
the `X-CSRF-Token` header; gates and workers send `Authorization: Bearer <token>`.
"""


def _lang_param() -> dict:
    return {"name": "lang", "in": "query", "required": False,
            "description": "Language of messages (also remembered in a cookie).",
            "schema": {"type": "string", "enum": list(languages())}}


def _auth(view, method: str) -> tuple[list, tuple[str, ...], set[str]]:
    """(security requirements, roles, the kinds of credential: "token", "session") of a
    view from its guards. A domain's own guard says what it asks for in ``_security``
    (and ``_security_schemes``)."""
    if getattr(view, "_security", None) is not None:
        return list(view._security), (), set()
    roles = tuple(getattr(view, "_required_roles", ()) or ())
    devices = tuple(getattr(view, "_device_roles", ()) or ())  # device_or_role_required
    if getattr(view, "_token_auth", False):
        devices = roles
    security, kinds = [], set()
    for role in devices:
        security.append({"workerToken" if role == "worker" else "gateToken": []})
        kinds.add("token")
    people = tuple(r for r in roles if r not in devices)
    if people:
        need = {"staffSession": []}
        if method in UNSAFE:
            need["csrfToken"] = []
        security.append(need)
        kinds.add("session")
    return security, people or roles, kinds


def error_codes(rule, view, c: Contract, method: str) -> dict[int, set[str]]:
    """status -> the codes an endpoint may refuse with: its contract's, its request
    fields', its guards', and those every request may meet."""
    cache = current_app.extensions.setdefault("scenic.error_codes", {})
    key = (rule.endpoint, method)
    if key not in cache:
        cache[key] = _error_codes(rule, view, c, method)
    return cache[key]


def _error_codes(rule, view, c: Contract, method: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}

    def add(status: int, *codes: str) -> None:
        out.setdefault(status, set()).update(codes)

    for status, codes in {**getattr(view, "_guard_errors", {})}.items():
        add(status, *codes)  # a domain guard's own refusals
    for status, codes in c.errors.items():
        add(status, *codes)
    for model in (c.body, c.query, c.headers):
        if model is not None:
            for path, refusal in refusals(model):
                exc = refusal(path)
                add(exc.status, exc.code)
    if c.body is not None:
        add(400, "invalid_json")
    if c.body is not None or c.upload is not None:
        add(413, "too_large")
    add(400, "unsupported_language")
    add(503, "db_busy")  # a database locked past its busy timeout (core.web)
    if rule.arguments:  # a path its converters refuse matches no route
        add(404, "not_found")
    _security, _roles, kinds = _auth(view, method)
    if "token" in kinds:
        add(401, "missing_token", "bad_token")
        add(403, "forbidden")
    if "session" in kinds:
        add(401, "login_required")
        add(403, "forbidden")
    if method in UNSAFE and not getattr(view, "_csrf_exempt", False):
        add(400, "csrf_failed")
    return out


def _path_of(rule) -> tuple[str, list[dict]]:
    params = []

    def swap(m):
        converter, name = m.group(1) or "default", m.group(2)
        params.append({"name": name, "in": "path", "required": True,
                       "schema": dict(PATH_TYPES.get(converter, PATH_STRING))})
        return "{" + name + "}"
    return PATH_ARG.sub(swap, rule.rule), params


def _params(where: str, defs, ref) -> list[dict]:
    schema = defs[ref.rsplit("/", 1)[1]]
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param = {"name": name, "in": where, "required": name in required,
                 "schema": {k: v for k, v in prop.items() if k not in ("title", "description")}}
        if prop.get("description"):
            param["description"] = prop["description"]
        out.append(param)
    return out


def _error_response(status: int, codes: set[str], api: bool) -> dict:
    schema = {"allOf": [{"$ref": "#/components/schemas/Error"},
                        {"properties": {"error": {"enum": sorted(codes)}}}]}
    content = {"application/json": {"schema": schema}}
    if not api:  # outside /api/ an error is the site's page unless JSON is asked for
        content["text/html"] = {"schema": {"type": "string"}}
    return {"description": f"{HTTPStatus(status).phrase}: " + ", ".join(f"`{c}`" for c in
                                                                       sorted(codes)),
            "content": content}


def _operation(rule, view, c: Contract, method: str, refs: dict, defs: dict) -> dict:
    security, roles, _kinds = _auth(view, method)
    doc = (view.__doc__ or "").strip()
    summary = c.summary or (doc.split("\n")[0].rstrip(".") if doc else rule.endpoint)
    path, params = _path_of(rule)
    op = {"operationId": rule.endpoint if method in ("GET", "POST") or len(
              rule.methods - {"HEAD", "OPTIONS"}) == 1 else f"{rule.endpoint}_{method.lower()}",
          "summary": summary, "tags": [view.__module__.split(".")[0]], "security": security,
          "x-roles": list(roles)}
    notes = [doc] if doc and "\n" in doc else []
    if roles:
        notes.append(f"Roles: {', '.join(roles)}" + (" (admins too)" if "staff" in roles
                                                   else "") + ".")
    if notes:
        op["description"] = "\n\n".join(notes)
    if c.query is not None:
        params += _params("query", defs, refs[(c.query, "validation")]["$ref"])
    if c.headers is not None:
        params += _params("header", defs, refs[(c.headers, "validation")]["$ref"])
    op["parameters"] = params + [{"$ref": "#/components/parameters/lang"}]
    if c.body is not None:
        op["requestBody"] = {"required": c.body_required, "content": {
            "application/json": {"schema": refs[(c.body, "validation")]}}}
    elif c.media is not None:
        content = {"schema": refs[(c.upload, "validation")]} if c.upload is not None else {}
        op["requestBody"] = {"required": True, "content": {c.media: content}}
    responses = {}
    for status, model in sorted(c.returns.items()):
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": refs[(model, "serialization")]}}}
    for status, codes in sorted(error_codes(rule, view, c, method).items()):
        responses[str(status)] = _error_response(status, codes, rule.rule.startswith("/api/"))
    op["responses"] = responses
    return op


def _contracts(app: Flask):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions.get(rule.endpoint)
        c = contract_of(view)
        if c is not None:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, view, c, method


def build(app: Flask) -> dict:
    """The OpenAPI 3.1 document of ``app`` (call inside an app context)."""
    models = set()
    for _rule, _view, c, _method in _contracts(app):
        models.update((m, "validation") for m in (c.body, c.query, c.headers, c.upload)
                      if m is not None)
        models.update((m, "serialization") for m in c.returns.values())
    refs, top = models_json_schema(sorted(models, key=lambda p: (p[0].__module__,
                                                                p[0].__qualname__, p[1])),
                                   ref_template="#/components/schemas/{model}")
    defs = dict(top.get("$defs", {}))
    defs["Error"] = ERROR_SCHEMA
    paths: dict[str, dict] = {}
    for rule, view, c, method in _contracts(app):
        path, _params = _path_of(rule)
        paths.setdefault(path, {})[method.lower()] = _operation(rule, view, c, method, refs,
                                                                defs)
    tags = sorted({op["tags"][0] for ops in paths.values() for op in ops.values()})
    schemes = dict(SECURITY_SCHEMES)
    for _rule, view, _c, _method in _contracts(app):
        schemes.update(getattr(view, "_security_schemes", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mount Tai & Qufu Smart Scenic Areas API", "version": "1",
                 "description": DESCRIPTION,
                 "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}},
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {"schemas": defs, "securitySchemes": schemes,
                       "parameters": {"lang": _lang_param()}},
    }


def document(app: Flask) -> dict:
    """The app's document, built once (routes and models do not change while it runs)."""
    doc = app.extensions.get("scenic.openapi")
    if doc is None:
        doc = app.extensions["scenic.openapi"] = build(app)
    return doc
