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


def test_request_connection_is_handed_back_clean(app):
    from flask import g

    from core.db import get_db
    pool = app.extensions["scenic.db_pool"]
    with app.app_context():
        db = get_db()
        assert get_db() is db  # one connection per request
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE sites SET override_daily = 1 WHERE id = 'kongmiao'")
    # teardown rolled the open transaction back and returned the connection
    assert pool.idle() == 1
    with app.app_context():
        again = get_db()
        assert again is db and not again.conn.in_transaction
        assert again.execute("SELECT override_daily FROM sites WHERE id = 'kongmiao'").fetchone()[0] is None
        assert "db" in g
    assert pool.idle() == 1


def test_pool_is_bounded(tmp_path):
    from core.db import ConnectionPool
    pool = ConnectionPool(str(tmp_path / "p.db"), 1000, size=2)
    conns = [pool.acquire() for _ in range(5)]
    for c in conns:
        pool.release(c)
    assert pool.idle() == 2
    closed = [c for c in conns if _is_closed(c)]
    assert len(closed) == 3
    zero = ConnectionPool(str(tmp_path / "p.db"), 1000, size=0)
    c = zero.acquire()
    zero.release(c)
    assert zero.idle() == 0 and _is_closed(c)


def _is_closed(db) -> bool:
    import sqlite3
    try:
        db.conn.execute("SELECT 1")
        return False
    except sqlite3.ProgrammingError:
        return True


def test_a_file_that_is_not_a_database_fails_at_once(tmp_path):
    """No retry hides a damaged file: its first open fails, with SQLite's own words."""
    import sqlite3

    import pytest
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is not SQLite " * 300)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        connect(str(bad))
