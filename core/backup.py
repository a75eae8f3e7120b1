"""Online backups of the SQLite database, their rotation, and restore.

A backup is SQLite's online backup API (``sqlite3.Connection.backup``) in one step: one
read transaction, so the copy is one consistent moment of the database while the site
goes on selling and scanning (in WAL mode readers never block writers). The copy is
written beside its destination, switched to a single self-contained file (no WAL),
checked with ``PRAGMA integrity_check`` and only then renamed into place.

A restore refuses while any server process holds the serving lock (``serving_lock``),
checks the backup, brings its schema up to date with the migrations, checks again, keeps
the database it replaces beside it, and renames the restored copy into place.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .db import connect, migrate, pending_migrations
from .errors import DomainError
from .text import _l

PREFIX = "scenic-"


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%d-%H%M%S")


def integrity(path: str | Path) -> str:
    """``PRAGMA integrity_check`` of a database file: "ok" or the first problems."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return "; ".join(r[0] for r in rows[:5])


@dataclass(frozen=True)
class BackupDone:
    path: Path
    bytes: int
    seconds: float


def backup(db_path: str, dest: str | Path, *, at: datetime, busy_timeout_ms: int = 5000) -> BackupDone:
    """Copy the live database to ``dest`` (a file, or a folder for a timestamped file)."""
    import time
    started = time.monotonic()
    as_folder = str(dest).endswith(os.sep)
    dest = Path(dest)
    if as_folder or dest.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        dest = dest / f"{PREFIX}{_stamp(at)}.db"
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part")
    part.unlink(missing_ok=True)
    source = sqlite3.connect(db_path, timeout=busy_timeout_ms / 1000)
    target = sqlite3.connect(part)
    try:
        source.backup(target)          # every page in one step: one consistent snapshot
        target.execute("PRAGMA journal_mode = DELETE")
        target.commit()
    finally:
        target.close()
        source.close()
    problem = integrity(part)
    if problem != "ok":
        part.unlink(missing_ok=True)
        raise DomainError("backup_corrupt", _l("The backup copy failed its integrity check: "
                                               "%(problem)s", problem=problem), 500)
    with open(part, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(part, dest)
    return BackupDone(dest, dest.stat().st_size, round(time.monotonic() - started, 3))


def prune(folder: str | Path, keep: int) -> list[Path]:
    """Delete the oldest timestamped backups in ``folder`` beyond ``keep``."""
    backups = sorted(Path(folder).glob(f"{PREFIX}*.db"))  # the stamp sorts by time
    old = backups[:-keep] if keep > 0 else backups
    for path in old:
        path.unlink(missing_ok=True)
    return old


# --- the serving lock -----------------------------------------------------------------

def lock_path(db_path: str) -> Path:
    return Path(f"{db_path}.serving.lock")


def hold_serving_lock(db_path: str) -> int:
    """Mark this process (and its children) as serving ``db_path`` until it exits: a
    shared lock, so any number of server processes hold it and a restore sees them."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def serving_now(db_path: str) -> bool:
    """True while a server process holds the serving lock of ``db_path``."""
    path = lock_path(db_path)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we got
    return False


@dataclass(frozen=True)
class RestoreDone:
    restored_from: Path
    kept_previous: Path | None
    migrations_applied: list


def restore(src: str | Path, db_path: str, *, at: datetime) -> RestoreDone:
    """Replace the database with a checked copy of the backup ``src`` (server stopped)."""
    src, target = Path(src), Path(db_path)
    if serving_now(db_path):
        raise DomainError("server_running", _l("The site is running on this database; stop "
                                               "it (Ctrl-C in ./run.sh, or systemctl stop "
                                               "scenic.target) and restore again."), 409)
    if not src.is_file():
        raise DomainError("no_backup", _l("There is no backup file at %(path)s.",
                                          path=str(src)), 404)
    problem = integrity(src)
    if problem != "ok":
        raise DomainError("backup_corrupt", _l("The backup failed its integrity check: "
                                               "%(problem)s", problem=problem), 400)
    part = target.with_name(f".{target.name}.restore")
    part.unlink(missing_ok=True)
    source, copy = sqlite3.connect(f"file:{src}?mode=ro", uri=True), sqlite3.connect(part)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    db = connect(str(part))
    try:
        applied = migrate(db)                     # an older backup gets today's schema
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        left = pending_migrations(db)
    finally:
        db.conn.close()
    problem = integrity(part)
    if left or problem != "ok":
        part.unlink(missing_ok=True)
        raise DomainError("restore_failed", _l("The restored copy is not usable (%(problem)s); "
                                               "the database was not changed.",
                                               problem=problem if problem != "ok" else
                                               "pending migrations"), 500)
    kept = None
    if target.exists():
        old = connect(str(target))
        try:
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file alone is then whole
        finally:
            old.conn.close()
        kept = target.with_name(f"{target.name}.before-restore-{_stamp(at)}")
        os.replace(target, kept)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    os.replace(part, target)
    return RestoreDone(src, kept, applied)
