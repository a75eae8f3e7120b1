from flask import Blueprint


def test_api_errors_are_json_with_stable_code(client):
    resp = client.get("/api/sites/atlantis", headers={"Accept-Language": "en"})
    assert resp.status_code == 404
    assert resp.get_json() == {"error": "unknown_site", "message": "There is no site 'atlantis'."}
    resp = client.get("/api/sites/atlantis")  # default language: Chinese
    assert resp.get_json() == {"error": "unknown_site", "message": "没有名为“atlantis”的景点。"}
    resp = client.get("/api/no-such-route")
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"


def test_page_errors_are_localised(client):
    resp = client.get("/nowhere")
    assert resp.status_code == 404 and "找不到该页面" in resp.get_data(as_text=True)
    resp = client.get("/nowhere", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "That page does not exist" in resp.get_data(as_text=True)


def test_unexpected_error_is_generic_with_request_id(tmp_path, clock, capfd):
    from app import create_app
    app = create_app({"ENV": "testing"}, clock=clock, instance_path=str(tmp_path / "i"))
    bp = Blueprint("boom", __name__)

    @bp.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    @bp.get("/api/boom")
    def api_boom():
        raise KeyError("secret internal detail")

    app.register_blueprint(bp)
    client = app.test_client()
    resp = client.get("/boom", headers={"X-Request-ID": "req-123"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "req-123" in body and "secret internal detail" not in body and "Traceback" not in body
    logged = capfd.readouterr().err
    assert '"request_id": "req-123"' in logged and "unhandled_error" in logged
    resp = client.get("/api/boom")
    assert resp.status_code == 500
    assert resp.get_json()["error"] == "internal_error"
    assert "secret" not in resp.get_json()["message"]


def test_invalid_json_body(client, app):
    from core.web import json_body
    with app.test_request_context("/api/x", method="POST", data="not json",
                                  content_type="application/json"):
        import pytest
        from core.errors import DomainError
        with pytest.raises(DomainError) as info:
            json_body()
        assert info.value.code == "invalid_json"


def test_oversized_body_is_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 100
    resp = client.post("/login", data={"username": "x" * 1000})
    assert resp.status_code == 413
    assert "上传的内容过大" in resp.get_data(as_text=True)


def test_a_database_locked_past_its_timeout_answers_503_and_saves_nothing(make_app):
    """Overload, not a bug: the rate-limit file or the bookings database held by another
    writer past the busy timeout answers 503 ``db_busy`` with Retry-After (was a 500), in
    the visitor's language, and the booking it interrupted left no row behind."""
    import sqlite3

    from testkit import solve_pow
    app = make_app(DB_BUSY_TIMEOUT_MS=150)
    client = app.test_client()
    assert client.get("/api/pow/challenge").status_code == 200   # the file exists now
    path = app.config["RATELIMIT_STORAGE_URI"].split("://", 1)[1]
    holder_conn = sqlite3.connect(path, isolation_level=None)
    holder_conn.execute("BEGIN EXCLUSIVE")
    try:
        resp = client.get("/api/pow/challenge", headers={"Accept-Language": "en"})
        assert resp.status_code == 503, resp.get_data(as_text=True)
        assert resp.get_json()["error"] == "db_busy" and resp.headers["Retry-After"] == "2"
        assert "try again" in resp.get_json()["message"]
        page = client.get("/api/pow/challenge", headers={"Accept": "text/html"})
        assert page.status_code == 503
    finally:
        holder_conn.execute("ROLLBACK")
        holder_conn.close()
    challenge = client.get("/api/pow/challenge").get_json()

    day = "2026-07-16"
    slots = client.get(f"/api/ticketing/sites/kongmiao/availability?date={day}").get_json()
    body = {"site_id": "kongmiao", "date": day, "slot_id": slots["slots"][3]["slot_id"],
            "product_id": "kongmiao", "altcha": solve_pow(challenge),
            "holders": [{"name": "游客", "document_type": "resident_id",
                         "document_number": "11010519491231002X"}]}
    books = sqlite3.connect(app.config["DATABASE"], isolation_level=None)
    books.execute("BEGIN EXCLUSIVE")
    try:
        resp = client.post("/api/ticketing/orders", json=body)
        assert resp.status_code == 503 and resp.get_json()["error"] == "db_busy"
        assert "稍后" in resp.get_json()["message"] or "再试" in resp.get_json()["message"]
    finally:
        books.execute("ROLLBACK")
    assert books.execute("SELECT count(*) FROM tk_orders").fetchone()[0] == 0
    assert books.execute("SELECT count(*) FROM tk_tickets").fetchone()[0] == 0
    books.close()
    body["altcha"] = solve_pow(client.get("/api/pow/challenge").get_json())  # a proof is
    assert client.post("/api/ticketing/orders", json=body).status_code == 201  # spent once
    assert not app.extensions.get("scenic.contract_violations")
