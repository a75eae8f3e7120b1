"""SQLite through sqlite-utils: one connection per request, WAL, foreign keys,
a busy timeout, explicit transactions, and one migration set per domain.

A request takes a connection on first use and hands it back on teardown, rolled back
if it left a transaction open. Handed-back connections wait in a small bounded pool
(``DB_POOL_SIZE``, 0 closes every one) because a fresh SQLite connection re-parses
the whole schema on its first statement, which costs more than most requests' SQL.
"""
from __future__ import annotations

import queue
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from flask import current_app, g

# The connection type every service takes as ``db`` (rows are sqlite3.Row).
Database = sqlite_utils.Database

ROW_ID_MAX = 2 ** 63 - 1      # SQLite's integers are 64-bit: no row id is larger


def connect(path: str, busy_timeout_ms: int = 5000) -> sqlite_utils.Database:
    """Open a database in autocommit mode; transactions are always explicit."""
    new_file = path != ":memory:" and not Path(path).exists()
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if new_file:
            # WAL is a property of the file: set once here and in migrate(), not on every
            # request's connection (switching journal mode takes a lock).
            conn.execute("PRAGMA journal_mode = WAL")
        if path != ":memory:":
            conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return sqlite_utils.Database(conn)


@contextmanager
def own_connection(config):
    """A connection of its own outside any request (commands, scripts), with the app's
    DATABASE and DB_BUSY_TIMEOUT_MS, closed afterwards."""
    db = connect(config["DATABASE"], config["DB_BUSY_TIMEOUT_MS"])
    try:
        yield db
    finally:
        db.conn.close()


class ConnectionPool:
    """At most ``size`` idle connections; beyond that a returned one is closed."""

    def __init__(self, path: str, busy_timeout_ms: int, size: int):
        self.path, self.busy_timeout_ms = path, busy_timeout_ms
        self._idle: queue.LifoQueue = queue.LifoQueue(maxsize=max(size, 1))
        self.size = size

    def acquire(self) -> sqlite_utils.Database:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return connect(self.path, self.busy_timeout_ms)

    def release(self, db: sqlite_utils.Database) -> None:
        try:
            if db.conn.in_transaction:
                db.conn.rollback()
        except sqlite3.Error:
            db.conn.close()
            return
        if self.size <= 0:
            db.conn.close()
            return
        try:
            self._idle.put_nowait(db)
        except queue.Full:
            db.conn.close()

    def idle(self) -> int:
        return self._idle.qsize()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().conn.close()
            except queue.Empty:
                return


def get_db() -> sqlite_utils.Database:
    """The request's connection: taken on first use, handed back on teardown."""
    if "db" not in g:
        g.db = current_app.extensions["scenic.db_pool"].acquire()
    return g.db


def close_db(_exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        current_app.extensions["scenic.db_pool"].release(db)


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


def ping(db: sqlite_utils.Database) -> None:
    """Raise if the database cannot answer a query."""
    db.execute("SELECT 1").fetchone()


def migration_sets() -> list[sqlite_utils.Migrations]:
    """Core's and each domain's migration set, in dependency order."""
    from .domains import domain_modules
    return [mod.migrations for mod in domain_modules("migrations")]


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
    app.extensions["scenic.db_pool"] = ConnectionPool(
        app.config["DATABASE"], app.config["DB_BUSY_TIMEOUT_MS"], app.config["DB_POOL_SIZE"])
    app.teardown_appcontext(close_db)
