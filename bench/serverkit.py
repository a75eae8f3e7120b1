"""Helpers the server benchmarks share: a free loopback port, waiting for a server, the
bare baselines' SQLite connection, and a served site's processes' memory and CPU."""
from __future__ import annotations

import socket
import sqlite3
import time


def bare_connection(db_path) -> sqlite3.Connection:
    """A connection with the same settings core.db.connect gives the app (autocommit,
    5 s busy timeout, foreign keys, WAL, synchronous NORMAL): the baselines' ceiling."""
    conn = sqlite3.connect(db_path, timeout=5, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def tree_sample(pid: int, measure) -> dict[int, float]:
    """``measure(process)`` for a process and every descendant (a site as ./run.sh serves
    it: the supervisor, nginx, the pools), by pid; processes gone meanwhile are skipped."""
    import psutil
    try:
        root = psutil.Process(pid)
        tree = [root] + root.children(recursive=True)
    except psutil.Error:
        return {}
    out = {}
    for p in tree:
        try:
            out[p.pid] = measure(p)
        except psutil.Error:
            pass
    return out
