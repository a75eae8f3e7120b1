"""The latest annotated frame of each camera, shared by every process of the site.

Workers post annotated JPEGs through the ingest API (a web process); the MJPEG views
(live processes) stream the newest. One file per camera in a memory-backed folder
(``/dev/shm``, a tmpfs), replaced atomically (write, then rename), so any number of
processes read whole frames without locks. Measured against the former in-process store
in docs/operations.md.

Privacy: the folder is memory, not disk (``CROWD_LIVE_DIR`` moves it; without /dev/shm it
falls back to <instance>/run/live and says so), one frame per camera is kept, frames older
than ``max_age`` seconds are not served, and the number of cameras is capped.
"""
from __future__ import annotations

import hashlib
import logging
import os
import struct
import tempfile
import time
from pathlib import Path

log = logging.getLogger("scenic.crowd.live")
_HEADER = struct.Struct("<dQ")  # wall time of the post, sequence number


class LiveFrames:
    def __init__(self, folder: str | Path, max_cameras: int = 64, max_age: float = 10.0,
                 wall=time.time, poll: float = 0.05):
        self.folder = Path(folder)      # made by the first frame posted
        self.max_cameras, self.max_age, self.poll = max_cameras, max_age, poll
        self._now = wall

    def _file(self, camera_id: str) -> Path:
        # Camera ids are checked when cameras are saved; hashing keeps any id a safe name.
        return self.folder / (hashlib.sha256(camera_id.encode()).hexdigest()[:24] + ".jpg")

    def put(self, camera_id: str, jpeg: bytes) -> int:
        seq = time.time_ns()  # increases across processes; only order per camera matters
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_HEADER.pack(self._now(), seq) + jpeg)
            os.replace(tmp, self._file(camera_id))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._prune()
        return seq

    def _prune(self) -> None:
        files = list(self.folder.glob("*.jpg"))
        if len(files) <= self.max_cameras:
            return
        def mtime(p: Path) -> float:
            try:
                return p.stat().st_mtime
            except FileNotFoundError:
                return 0.0
        for old in sorted(files, key=mtime)[:len(files) - self.max_cameras]:
            old.unlink(missing_ok=True)

    def drop(self, camera_id: str) -> None:
        self._file(camera_id).unlink(missing_ok=True)

    def latest(self, camera_id: str) -> tuple[int, bytes] | None:
        try:
            data = self._file(camera_id).read_bytes()
        except FileNotFoundError:
            return None
        if len(data) < _HEADER.size:
            return None
        at, seq = _HEADER.unpack_from(data)
        if self._now() - at > self.max_age:
            return None
        return seq, data[_HEADER.size:]

    def wait_newer(self, camera_id: str, seq: int, timeout: float) -> tuple[int, bytes] | None:
        """The camera's frame once it is newer than ``seq``, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        path, seen = self._file(camera_id), None
        while True:
            try:
                st = path.stat()
                stamp = st.st_mtime_ns, st.st_ino
            except FileNotFoundError:
                stamp = None
            if stamp is not None and stamp != seen:
                seen = stamp
                item = self.latest(camera_id)
                if item is not None and item[0] > seq:
                    return item
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.poll)

    def clear(self) -> None:
        """Forget every frame and the folder (when the site stops)."""
        import shutil
        shutil.rmtree(self.folder, ignore_errors=True)


def live_dir(app) -> Path:
    """CROWD_LIVE_DIR, or a folder of this instance in /dev/shm (memory)."""
    configured = app.config.get("CROWD_LIVE_DIR")
    if configured:
        return Path(configured)
    shm = Path("/dev/shm")
    tag = hashlib.sha256(str(Path(app.instance_path).resolve()).encode()).hexdigest()[:12]
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm / f"scenic-live-{os.getuid()}-{tag}"
    log.warning("no /dev/shm: live frames are kept under the instance folder (on disk)",
                extra={"event": "live_frames_on_disk"})
    return Path(app.instance_path) / "run" / "live"


def frames_of(app) -> LiveFrames:
    """The app's frame store, made on first use (never in create_app)."""
    store = app.extensions.get("crowd.frames")
    if store is None:
        store = app.extensions.setdefault("crowd.frames", LiveFrames(live_dir(app)))
    return store
