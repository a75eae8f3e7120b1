"""The gate's on-disk state: a bounded queue of offline scans waiting to be uploaded and
the local presence of tickets (what this gate let in or out since its bundle)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from admission.rules import Presence


class QueueFull(Exception):
    """The offline queue reached its bound; the gate must stop admitting offline."""


class Store:
    def __init__(self, path: str | Path, max_pending: int = 100_000):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_pending = max_pending
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=5,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")  # a turnstile may lose power
        self.conn.executescript("""
            CREATE TABLE IF NOT EXISTS pending (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                nonce TEXT NOT NULL UNIQUE,
                body TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS presence (
                ticket_id INTEGER PRIMARY KEY,
                entries INTEGER NOT NULL,
                inside INTEGER NOT NULL,
                last_entry_at TEXT);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """)

    def close(self) -> None:
        self.conn.close()

    # --- queue ------------------------------------------------------------------
    def enqueue(self, scan: dict, passage=None) -> None:
        """Append one offline scan, and with ``passage`` = (ticket_id, direction, at,
        snapshot) record it in the local presence, in one durable transaction (one fsync).
        QueueFull at the bound: nothing is dropped silently, nothing is recorded."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            n = self.conn.execute("SELECT count(*) FROM pending").fetchone()[0]
            if n >= self.max_pending:
                raise QueueFull(f"{n} scans are waiting to be uploaded")
            self.conn.execute("INSERT INTO pending (nonce, body) VALUES (?, ?)",
                              [scan["nonce"], json.dumps(scan, ensure_ascii=False)])
            if passage is not None:
                self.record(*passage)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def pending(self, limit: int) -> list[dict]:
        rows = self.conn.execute("SELECT body FROM pending ORDER BY seq LIMIT ?", [limit])
        return [json.loads(r[0]) for r in rows]

    def pending_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM pending").fetchone()[0]

    def remove(self, nonces) -> None:
        self.conn.executemany("DELETE FROM pending WHERE nonce = ?", [[n] for n in nonces])

    # --- presence ---------------------------------------------------------------
    def presence(self, ticket_id: int, snapshot: Presence | None, closing_at: datetime | None,
                 at: datetime) -> Presence:
        row = self.conn.execute("SELECT entries, inside, last_entry_at FROM presence "
                                "WHERE ticket_id = ?", [ticket_id]).fetchone()
        if row is None:
            return snapshot or Presence()
        inside = bool(row[1])
        if inside and closing_at is not None and at >= closing_at and row[2] \
                and datetime.fromisoformat(row[2]) < closing_at:
            inside = False  # checked out at closing time, as the server does
        return Presence(row[0], inside)

    def record(self, ticket_id: int, direction: str, at: datetime,
               snapshot: Presence | None) -> None:
        base = self.presence(ticket_id, snapshot, None, at)
        row = self.conn.execute("SELECT last_entry_at FROM presence WHERE ticket_id = ?",
                                [ticket_id]).fetchone()
        last_entry = row[0] if row else None
        if direction == "entry":
            entries, inside, last_entry = base.entries + 1, 1, at.isoformat()
        else:
            entries, inside = base.entries, 0
        self.conn.execute("INSERT OR REPLACE INTO presence (ticket_id, entries, inside, "
                          "last_entry_at) VALUES (?, ?, ?, ?)",
                          [ticket_id, entries, inside, last_entry])

    def reset_presence(self) -> None:
        self.conn.execute("DELETE FROM presence")

    # --- meta -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])
