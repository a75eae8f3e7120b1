import pytest

from testkit import PASSWORD, csrf_of
from core.auth import create_device, create_user, hash_token, user_for_token
from core.errors import DomainError


def test_passwords_are_hashed_with_scrypt(db, make_user):
    user = make_user("staff")
    stored = db.execute("SELECT password_hash FROM users WHERE id = ?", [user.id]).fetchone()[0]
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_weak_password_and_bad_username_rejected(db, clock):
    with pytest.raises(DomainError) as info:
        create_user(db, username="ok_name", password="short", role="staff", clock=clock)
    assert info.value.code == "weak_password"
    with pytest.raises(DomainError) as info:
        create_user(db, username="no spaces!", password=PASSWORD, role="staff", clock=clock)
    assert info.value.code == "invalid_username"
    with pytest.raises(DomainError) as info:
        create_user(db, username="root2", password=PASSWORD, role="superuser", clock=clock)
    assert info.value.code == "invalid_role"


def test_duplicate_username_conflicts(db, make_user, clock):
    make_user("staff", username="alice")
    with pytest.raises(DomainError) as info:
        create_user(db, username="ALICE", password=PASSWORD, role="staff", clock=clock)
    assert info.value.code == "username_taken" and info.value.status == 409


def test_login_logout_and_cookie_flags(client, make_user):
    user = make_user("staff")
    token = csrf_of(client)
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/console")
    cookie = resp.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/console").status_code == 200
    token = csrf_of(client)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/console").status_code == 302


def test_secure_cookie_in_production(tmp_path, clock, monkeypatch):
    from app import create_app
    from core.db import connect, migrate
    from catalog.services import load_catalog
    from testkit import register_test_gateway
    app = create_app({"ENV": "production", "TICKETING_PAYMENT_PROVIDER":
                      register_test_gateway(monkeypatch)}, clock=clock,
                     instance_path=str(tmp_path / "i"))
    db = connect(app.config["DATABASE"])
    migrate(db)
    load_catalog(db)
    create_user(db, username="prod", password=PASSWORD, role="staff", clock=clock)
    c = app.test_client()
    token = csrf_of(c)
    resp = c.post("/login", data={"username": "prod", "password": PASSWORD, "csrf_token": token})
    assert "Secure" in resp.headers["Set-Cookie"]


def test_wrong_password_gives_clear_localised_error(client, make_user):
    user = make_user("staff")
    token = csrf_of(client)
    resp = client.post("/login", data={"username": user.username, "password": "nope",
                                       "csrf_token": token})
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    resp = client.post("/login?lang=en", data={"username": user.username, "password": "nope",
                                               "csrf_token": token})
    assert "Wrong username or password" in resp.get_data(as_text=True)


def test_login_rate_limited_per_user(client, make_user, clock):
    user = make_user("staff")
    token = csrf_of(client)
    for _ in range(5):
        assert client.post("/login", data={"username": user.username, "password": "bad",
                                           "csrf_token": token}).status_code == 401
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": token})
    assert resp.status_code == 429 and "too_many_attempts" in resp.get_data(as_text=True)
    clock.advance(minutes=16)  # the window passes
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": token})
    assert resp.status_code == 302


def test_missing_or_wrong_csrf_token_rejected(client, make_user):
    user = make_user("staff")
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 400
    assert "csrf_failed" in resp.get_data(as_text=True)
    csrf_of(client)
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": "forged"})
    assert resp.status_code == 400
    # and nothing happened: still logged out
    assert client.get("/console").status_code == 302


def test_device_tokens_stored_hashed_and_revocable(db, clock):
    from core.auth import revoke_token
    user, token = create_device(db, username="gate-1", role="gate", clock=clock)
    row = db.execute("SELECT id, token_hash FROM api_tokens WHERE user_id = ?", [user.id]).fetchone()
    assert row["token_hash"] == hash_token(token) and token not in row["token_hash"]
    assert user_for_token(db, token).role == "gate"
    revoke_token(db, token_id=row["id"], clock=clock)
    assert user_for_token(db, token) is None


def test_devices_cannot_log_in_with_a_password(client, db, clock):
    create_device(db, username="gate-2", role="gate", clock=clock)
    token = csrf_of(client)
    resp = client.post("/login", data={"username": "gate-2", "password": "", "csrf_token": token})
    assert resp.status_code == 401


def test_open_redirect_after_login_is_refused(client, make_user):
    user = make_user("staff")
    token = csrf_of(client)
    resp = client.post("/login?next=//evil.example/x",
                       data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert resp.headers["Location"].endswith("/console")


def test_cli_creates_admin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "chief"], input=PASSWORD + "\n" + PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created admin chief" in result.output
    again = runner.invoke(args=["create-admin", "chief"], input=PASSWORD + "\n" + PASSWORD + "\n")
    assert again.exit_code != 0 and "already taken" in again.output


def test_accounts_page_creates_people_and_devices(client, login, db):
    admin = login("admin")
    token = csrf_of(client)
    resp = client.post("/admin/accounts", data={"action": "create", "role": "staff",
                                                "username": "window-1", "password": PASSWORD,
                                                "display_name": "<b>Window</b>",
                                                "csrf_token": token})
    assert resp.status_code == 302
    page = client.get("/admin/accounts").get_data(as_text=True)
    assert "window-1" in page and "&lt;b&gt;Window&lt;/b&gt;" in page and "<b>Window</b>" not in page
    resp = client.post("/admin/accounts", data={"action": "create", "role": "gate",
                                                "username": "gate-east", "csrf_token": token})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    import re
    shown = re.search(r'<code id="new-token">([^<]+)</code>', resp.get_data(as_text=True)).group(1)
    assert user_for_token(db, shown).username == "gate-east"
    gate_id = db.execute("SELECT id FROM users WHERE username = 'gate-east'").fetchone()[0]
    resp = client.post("/admin/accounts", data={"action": "rotate", "user_id": str(gate_id),
                                                "csrf_token": token})
    rotated = re.search(r'<code id="new-token">([^<]+)</code>', resp.get_data(as_text=True)).group(1)
    assert user_for_token(db, shown) is None and user_for_token(db, rotated) is not None
    resp = client.post("/admin/accounts", data={"action": "disable", "user_id": str(gate_id),
                                                "csrf_token": token})
    assert resp.status_code == 302 and user_for_token(db, rotated) is None
    resp = client.post("/admin/accounts", data={"action": "disable", "user_id": str(admin.id),
                                                "csrf_token": token})
    assert resp.status_code == 400 and "cannot_disable_self" in resp.get_data(as_text=True)
    resp = client.post("/admin/accounts", data={"action": "create", "role": "staff",
                                                "username": "x", "password": "short",
                                                "csrf_token": token})
    assert resp.status_code == 400


def test_staff_cannot_manage_accounts(client, login):
    login("staff")
    assert client.get("/admin/accounts").status_code == 403
