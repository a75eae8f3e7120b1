"""SQLite through sqlite-utils: one connection per request, WAL, foreign keys,
a busy timeout, explicit transactions, and one migration set per domain."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path

import click
import sqlite_utils
from flask import current_app, g

# Order matters: a domain's tables may reference those of the domains before it.
MIGRATION_OWNERS = ["core", "catalog", "ticketing", "gates", "crowd", "guide"]


def connect(path: str, busy_timeout_ms: int = 5000) -> sqlite_utils.Database:
    """Open a database in autocommit mode; transactions are always explicit."""
    new_file = path != ":memory:" and not Path(path).exists()
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if new_file:
        # WAL is a property of the file: set once here and in migrate(), not on every
        # request's connection (switching journal mode takes a lock).
        conn.execute("PRAGMA journal_mode = WAL")
    if path != ":memory:":
        conn.execute("PRAGMA synchronous = NORMAL")
    return sqlite_utils.Database(conn)


def get_db() -> sqlite_utils.Database:
    """The request's connection, opened on first use and closed on teardown."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"], current_app.config["DB_BUSY_TIMEOUT_MS"])
    return g.db


def close_db(_exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        if db.conn.in_transaction:
            db.conn.rollback()
        db.conn.close()


@contextmanager
def immediate(db: sqlite_utils.Database):
    """A write transaction that takes the write lock at once (BEGIN IMMEDIATE),
    so a read-check-write sequence cannot interleave with another writer.
    Nested use becomes a savepoint of the outer transaction."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


def migration_sets() -> list[sqlite_utils.Migrations]:
    sets = []
    for owner in MIGRATION_OWNERS:
        module = "core.migrations" if owner == "core" else f"{owner}.migrations"
        try:
            mod = import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        sets.append(mod.migrations)
    return sets


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every pending migration, domain by domain; safe to run again."""
    applied = []
    db.execute("PRAGMA journal_mode = WAL")
    for mset in migration_sets():
        names = [m.name for m in mset.pending(db)]
        mset.apply(db)
        applied.extend(f"{mset.name}.{n}" for n in names)
    return applied


def pending_migrations(db: sqlite_utils.Database) -> list[str]:
    return [f"{m.name}.{p.name}" for m in migration_sets() for p in m.pending(db)]


def init_app(app) -> None:
    app.teardown_appcontext(close_db)

    @app.cli.command("migrate")
    def migrate_command():
        """Apply all pending database migrations (safe to run twice)."""
        db = connect(app.config["DATABASE"], app.config["DB_BUSY_TIMEOUT_MS"])
        try:
            done = migrate(db)
        finally:
            db.conn.close()
        click.echo("applied: " + (", ".join(done) if done else "nothing, schema is current"))
