from core.db import connect, immediate, migrate, pending_migrations


def test_migrations_apply_once_and_are_idempotent(tmp_path):
    db = connect(str(tmp_path / "x.db"))
    first = migrate(db)
    assert "core.create_accounts" in first and "catalog.create_catalog" in first
    assert migrate(db) == []
    assert pending_migrations(db) == []
    assert {"users", "api_tokens", "sites", "zones", "capacity_changes"} <= set(db.table_names())


def test_connection_pragmas(tmp_path):
    db = connect(str(tmp_path / "x.db"), busy_timeout_ms=4321)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 4321


def test_immediate_rolls_back_everything_on_error(tmp_path):
    db = connect(str(tmp_path / "x.db"))
    db.execute("CREATE TABLE t (n INTEGER)")
    try:
        with immediate(db):
            db.execute("INSERT INTO t VALUES (1)")
            with immediate(db):  # nested: a savepoint
                db.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    with immediate(db):
        db.execute("INSERT INTO t VALUES (3)")
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 1


def test_foreign_keys_enforced(db):
    import sqlite3
    import pytest
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO zones (id, site_id, name_zh, name_en, area_m2, per_visitor_m2) "
                   "VALUES ('z', 'no-such-site', 'z', 'z', 1, 1)")


def test_healthz_ok_when_migrated(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "db": "ok", "migrations": "current"}


def test_healthz_reports_pending_migrations(tmp_path):
    from app import create_app
    app = create_app({"ENV": "testing"}, instance_path=str(tmp_path / "fresh"))
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["migrations"] == "pending" and "core.create_accounts" in body["pending"]


def test_migrate_cli_twice(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["migrate"])
    assert first.exit_code == 0 and "schema is current" in first.output
