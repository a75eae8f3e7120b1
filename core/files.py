"""Small file helpers every domain needs the same way."""
from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

# Never follow a link someone planted where a private file is about to be written.
_PRIVATE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def sha256_of(path: str | Path) -> str:
    """The hex SHA-256 of a file, read in 1 MiB blocks (model files are large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_secret(path: str | Path, text: str) -> None:
    """Write a token or key readable by its owner only (mode 0600), replacing any old one
    whole: the text goes to a new file of a random name created with O_EXCL (so never an
    existing file or a planted link, and 0600 from its first byte), reaches the disk, and
    is renamed over ``path`` (a reader sees the old file or the new one, never half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | _PRIVATE_FLAGS, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)   # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


@contextmanager
def exclusive_lock(path: str | Path):
    """Hold an exclusive advisory lock (flock) on ``path`` (created 0600 if missing), so
    processes that read, change and write a file beside it take turns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)   # closing releases the lock
