"""A storage backend for the ``limits`` library (under Flask-Limiter) in a SQLite file of its
own: every server process on the machine shares the same counts, and no daemon is needed.

Registered with ``limits``' storage registry under the scheme ``sqlite``, so
``RATELIMIT_STORAGE_URI = "sqlite:////srv/scenic/instance/ratelimit.db"`` selects it like
``redis://`` selects Redis. It is a separate file from the bookings database so a limiter
write never waits for the booking lock (or makes a booking wait for it).

Supported strategies: moving window (the default here: exact, no double burst at a window's
edge) and fixed window. Time comes from ``clock`` (seconds since the epoch), so tests drive
windows with the app's clock. Memory and disk stay bounded: a moving window keeps at most
``limit`` entries per key and window (a refused request adds none), and entries past their
expiry are deleted by a sweep every ``SWEEP_EVERY`` writes.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Callable

from limits.storage import MovingWindowSupport, Storage

SWEEP_EVERY = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rl_entries (key TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rl_entries_key ON rl_entries(key, at);
CREATE INDEX IF NOT EXISTS rl_entries_expires ON rl_entries(expires);
CREATE TABLE IF NOT EXISTS rl_counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL,
                                        expires REAL NOT NULL);
"""


class SQLiteStorage(Storage, MovingWindowSupport):
    """``limits`` storage in one SQLite file (WAL), shared by every process that opens it."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False,
                 clock: Callable[[], float] | None = None, busy_timeout_ms: int = 5000,
                 **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1] or ":memory:"
        self.clock = clock or time.time
        self.busy_timeout_ms = int(busy_timeout_ms)
        self._local = threading.local()
        self._writes = 0
        self._prepared_pid = 0          # the process that made the file WAL with its tables
        self._schema_lock = threading.Lock()

    @property
    def base_exceptions(self):
        return sqlite3.Error

    # --- connections: one per thread (and per process after a fork), opened on first use

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            if self.path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            self._prepare(conn)
            conn.execute("PRAGMA synchronous = NORMAL")  # a lost count on power loss is harmless
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Turn the file to WAL and create the tables, once per process, one process at a time.

        Turning a new file to WAL takes a lock that SQLite does not wait for: several threads
        or processes opening a new file together got "database is locked" (a 500 on the first
        requests after a start). So the first opener in each process takes a thread lock and an
        advisory lock on ``<file>.init.lock`` before it; WAL then stays with the file, and later
        connections have nothing to change."""
        if self.path == ":memory:":              # a memory database is the connection's own
            conn.executescript(_SCHEMA)
            return
        with self._schema_lock:
            if self._prepared_pid == os.getpid():
                return
            with open(self.path + ".init.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.executescript(_SCHEMA)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            self._prepared_pid = os.getpid()

    def _write(self, fn):
        """Run ``fn(conn, now)`` in one BEGIN IMMEDIATE transaction; sweep now and then."""
        conn = self._conn()
        now = self.clock()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn, now)
            self._writes += 1
            if self._writes % SWEEP_EVERY == 0:
                self._sweep(conn, now)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    @staticmethod
    def _sweep(conn, now: float) -> None:
        conn.execute("DELETE FROM rl_entries WHERE expires <= ?", [now])
        conn.execute("DELETE FROM rl_counters WHERE expires <= ?", [now])

    def sweep(self) -> None:
        """Delete every expired entry and counter now."""
        self._write(lambda conn, now: self._sweep(conn, now))

    def rows(self) -> int:
        """Entries and counters stored (for tests of the bound)."""
        conn = self._conn()
        return sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                   for t in ("rl_entries", "rl_counters"))

    # --- moving window --------------------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False

        def acquire(conn, now):
            used = conn.execute("SELECT count(*) FROM rl_entries WHERE key = ? AND at > ?",
                                [key, now - expiry]).fetchone()[0]
            if used + amount > limit:
                return False
            conn.executemany("INSERT INTO rl_entries (key, at, expires) VALUES (?, ?, ?)",
                             [(key, now, now + expiry)] * amount)
            return True
        return self._write(acquire)

    def acquire_entries(self, entries: list[tuple[str, int, int, int]]) -> int | None:
        """Several moving-window acquisitions in one transaction, all or none: each entry is
        (key, limit, expiry, amount); amount 0 only checks that a place is free. Returns the
        index of the first entry that would exceed its limit (nothing is counted then), or
        None once all are counted. One transaction instead of one per limit, and no gap
        between checking and counting."""
        def acquire(conn, now):
            for i, (key, limit, expiry, amount) in enumerate(entries):
                used = conn.execute("SELECT count(*) FROM rl_entries WHERE key = ? AND at > ?",
                                    [key, now - expiry]).fetchone()[0]
                if used + max(amount, 1) > limit:
                    return i
            rows = [(key, now, now + expiry) for key, _l, expiry, amount in entries
                    for _ in range(amount)]
            conn.executemany("INSERT INTO rl_entries (key, at, expires) VALUES (?, ?, ?)", rows)
            return None
        return self._write(acquire)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self.clock()
        rows = self._conn().execute(
            "SELECT at FROM rl_entries WHERE key = ? AND at > ? ORDER BY at DESC LIMIT ?",
            [key, now - expiry, limit]).fetchall()
        if not rows:
            return now, 0
        # The window frees its next place when the oldest of the ``limit`` newest entries
        # leaves it; ``limits`` reports that moment as start + expiry.
        return rows[-1][0], len(rows)

    # --- fixed window ---------------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        def bump(conn, now):
            conn.execute("DELETE FROM rl_counters WHERE key = ? AND expires <= ?", [key, now])
            conn.execute("INSERT INTO rl_counters (key, count, expires) VALUES (?, ?, ?)"
                         " ON CONFLICT(key) DO UPDATE SET count = count + excluded.count",
                         [key, amount, now + expiry])
            return conn.execute("SELECT count FROM rl_counters WHERE key = ?", [key]).fetchone()[0]
        return self._write(bump)

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT count FROM rl_counters WHERE key = ? AND expires > ?",
                                   [key, self.clock()]).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._conn().execute("SELECT expires FROM rl_counters WHERE key = ? AND expires > ?",
                                   [key, self.clock()]).fetchone()
        return row[0] if row else self.clock()

    # --- upkeep ---------------------------------------------------------------------

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        def wipe(conn, now):
            n = conn.execute("DELETE FROM rl_entries").rowcount
            return n + conn.execute("DELETE FROM rl_counters").rowcount
        return self._write(wipe)

    def clear(self, key: str) -> None:
        def drop(conn, now):
            conn.execute("DELETE FROM rl_entries WHERE key = ?", [key])
            conn.execute("DELETE FROM rl_counters WHERE key = ?", [key])
        self._write(drop)
