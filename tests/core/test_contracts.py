"""The API contracts (core/contracts.py) and the OpenAPI document built from them
(core/openapi.py): every JSON route declares one, every field refuses with a stable code
in the request's language, answers that break a contract are caught, and the document
is OpenAPI 3.1 with its security, error codes and examples."""
from __future__ import annotations

import re
from typing import Any, get_args

import pytest
from flask import Blueprint, jsonify
from pydantic import BaseModel

from app import create_app
from core.contracts import Body, Reply, contract, contract_of, refusal_for, refusals, whole
from core.errors import ValidationError
from core.text import _l
from testkit import csrf_of


def _contracts(app):
    for rule in app.url_map.iter_rules():
        c = contract_of(app.view_functions[rule.endpoint])
        if c is not None:
            yield rule, c


def test_every_json_route_under_api_has_a_contract(app):
    """A new JSON endpoint without @contract fails here: declare its models (see
    docs/DEVELOPING.md, "API contracts")."""
    missing = [rule.rule for rule in app.url_map.iter_rules()
               if rule.rule.startswith("/api/") and contract_of(app.view_functions[rule.endpoint])
               is None]
    assert missing == []
    assert len(list(_contracts(app))) >= 45


def _fields(model: type[BaseModel], prefix=()):
    """(location, annotation) of every field of a model, nested models included."""
    for name, info in model.model_fields.items():
        loc = prefix + (info.alias or name,)
        yield loc, info.annotation
        for arg in [info.annotation, *get_args(info.annotation)]:
            for inner in [arg, *get_args(arg)]:
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from _fields(inner, loc + (0,))


def test_every_request_field_names_the_code_it_is_refused_with(app):
    """No field falls back to a generic error: each has a Refuse (or its model one)."""
    unnamed = []
    for rule, c in _contracts(app):
        for model in (c.body, c.query, c.headers):
            if model is None:
                continue
            for loc, annotation in _fields(model):
                if annotation is not Any and refusal_for(model, loc) is None:
                    unnamed.append(f"{rule.rule} {model.__name__}.{'.'.join(map(str, loc))}")
    assert unnamed == []


def test_refusal_codes_are_the_ones_answered_before(app):
    codes = {p: r(p).code for p, r in refusals(app.view_functions["gates.api_scan"]
                                                ._contract.body)}
    assert codes == {"direction": "bad_direction", "nonce": "bad_nonce", "code": "bad_code",
                     "document": "bad_document", "method": "bad_method",
                     "scanned_at": "bad_time"}


def test_bad_fields_are_refused_in_the_request_language(client, login):
    login("staff")
    headers = {"X-CSRF-Token": csrf_of(client)}
    body = {"date": "2026-07-16", "slot_id": "soon", "holders": []}
    en = client.post("/api/ticketing/staff/window-sale?lang=en", json=body, headers=headers)
    zh = client.post("/api/ticketing/staff/window-sale?lang=zh", json=body, headers=headers)
    assert en.status_code == zh.status_code == 400
    assert en.json["error"] == zh.json["error"] == "bad_slot"
    assert en.json["message"] == "Give a time slot." and zh.json["message"] == "请填写入园时段。"
    nested = client.post("/api/ticketing/staff/window-sale?lang=en", headers=headers, json={
        "date": "2026-07-16", "slot_id": 1, "holders": [{"name": "A"}, {"name": 5}]})
    assert nested.json["error"] == "bad_holder_name"
    assert nested.json["details"] == {"holder": 1}  # which holder, as before


@pytest.mark.parametrize("body", ["[1]", "not json", '{"nonce": ', "null", "1e999"])
def test_bodies_that_are_not_a_json_object_are_invalid_json(client, device_token, body, db,
                                                           clock):
    from gates import services as gates
    _gate, token = gates.create_gate(db, site_id="kongmiao", name="G", direction="both",
                                     clock=clock)
    r = client.post("/api/gate/scan", data=body, content_type="application/json",
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.json["error"] == "invalid_json"


def test_deeply_nested_json_is_refused_not_a_500(client):
    deep = "[" * 100_000 + "]" * 100_000
    r = client.post("/api/guide/ask", data=deep, content_type="application/json")
    assert r.status_code == 400 and r.json["error"] == "invalid_json"


def test_path_ids_beyond_sqlite_integers_are_unknown_not_a_500(client, login):
    # Found by the Schemathesis run: <int:alert_id> passed 10**20 on to SQLite. Every route's
    # <int:> now stops at SQLite's 2**63 - 1 (core.web.RowIdConverter): beyond, no route.
    login("staff")
    token = {"X-CSRF-Token": csrf_of(client)}
    r = client.post("/api/crowd/alerts/99999999999999999999/ack", headers=token)
    assert r.status_code == 404 and r.json["error"] == "not_found"
    r = client.post(f"/api/crowd/alerts/{2 ** 63 - 1}/ack", headers=token)
    assert r.status_code == 404 and r.json["error"] == "unknown_alert"
    r = client.post("/api/ticketing/staff/slots/99999999999999999999/quota",
                    json={"quota": 1, "window_quota": 1}, headers=token)
    assert r.status_code == 404 and r.json["error"] == "not_found"
    r = client.post(f"/api/ticketing/staff/slots/{2 ** 63 - 1}/quota",
                    json={"quota": 1, "window_quota": 1}, headers=token)
    assert r.status_code == 404 and r.json["error"] == "unknown_slot"


class _Echo(Body):
    n: whole(0, 10, lambda path: ValidationError("bad_n", _l("Give n.")))


class _EchoOut(Reply):
    n: int


def test_answers_that_break_their_contract_are_caught(tmp_path, clock):
    app = create_app({"ENV": "testing"}, clock=clock, instance_path=str(tmp_path / "i"))
    bp = Blueprint("lying", __name__)

    @bp.post("/api/test/echo")
    @contract(body=_Echo, returns=_EchoOut)
    def echo(body: _Echo):
        if body.n == 3:
            raise ValidationError("undeclared", "Not in the contract.")
        return jsonify({"n": body.n, "extra": True} if body.n == 2 else {"n": body.n})

    app.register_blueprint(bp)
    client = app.test_client()
    headers = {"X-CSRF-Token": csrf_of(client)}
    assert client.post("/api/test/echo", json={"n": 1}, headers=headers).json == {"n": 1}
    assert client.post("/api/test/echo", json={"n": 11}, headers=headers).json["error"] == "bad_n"
    assert app.extensions["scenic.contract_violations"] == []
    client.post("/api/test/echo", json={"n": 2}, headers=headers)
    client.post("/api/test/echo", json={"n": 3}, headers=headers)
    found = app.extensions["scenic.contract_violations"]
    assert len(found) == 2
    assert "breaks _EchoOut" in found[0] and "extra" in found[0]
    assert "'undeclared' with status 400 is not in the contract" in found[1]


def test_the_document_is_openapi_3_1_with_auth_errors_and_examples(client):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    schemes = doc["components"]["securitySchemes"]
    assert schemes["gateToken"] == {"type": "http", "scheme": "bearer",
                                    "description": schemes["gateToken"]["description"]}
    assert schemes["staffSession"]["in"] == "cookie" and schemes["csrfToken"]["in"] == "header"
    scan = doc["paths"]["/api/gate/scan"]["post"]
    assert scan["security"] == [{"gateToken": []}]
    codes = lambda op, status: set(  # noqa: E731
        op["responses"][status]["content"]["application/json"]["schema"]["allOf"][1]
        ["properties"]["error"]["enum"])
    assert {"bad_nonce", "code_or_document", "invalid_json"} <= codes(scan, "400")
    assert codes(scan, "409") == {"nonce_reused"} and codes(scan, "503") == {"busy", "db_busy"}
    assert codes(scan, "401") == {"missing_token", "bad_token"}
    pause = doc["paths"]["/api/ticketing/staff/pause"]["post"]
    assert pause["security"] == [{"staffSession": [], "csrfToken": []}]
    assert "csrf_failed" in codes(pause, "400") and codes(pause, "401") == {"login_required"}
    cameras = doc["paths"]["/api/crowd/cameras"]
    assert cameras["get"]["security"] == [{"staffSession": []}]
    assert cameras["post"]["x-roles"] == ["admin"]
    order = doc["paths"]["/api/ticketing/orders"]["post"]
    assert order["security"] == [] and order["responses"]["201"]
    assert {p["name"] for p in order["parameters"] if "name" in p} == {"Idempotency-Key"}
    assert doc["components"]["schemas"]["OrderIn"]["examples"][0]["site_id"] == "kongmiao"
    assert doc["paths"]["/api/crowd/observations"]["post"]["security"] == [{"workerToken": []}]


def test_the_document_is_built_once_per_app(client, app):
    client.get("/api/openapi.json")
    first = app.extensions["scenic.openapi"]
    client.get("/api/openapi.json?lang=en")
    assert app.extensions["scenic.openapi"] is first


def test_the_api_docs_are_for_staff_without_inline_script(client, login):
    assert client.get("/docs/api").status_code == 302  # to the login page
    login("staff")
    html = client.get("/docs/api").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not inline.strip() for attrs, inline in scripts)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


@pytest.mark.browser
def test_api_docs_render_under_a_strict_csp(app, live_server, page, make_user):
    """Swagger UI lists the operations under the site's own Content Security Policy
    (core.security: no inline script or style), and "Try it out" calls go out with the
    session's CSRF token."""
    from testkit import log_in_browser
    refused = []
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    log_in_browser(page, live_server, make_user("staff"))
    page.goto(f"{live_server}/docs/api")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/gate/scan" in p for p in paths) and len(paths) >= 45
    assert refused == []
