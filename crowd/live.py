"""The latest annotated frame of each camera, in the web process's memory only.

Workers post annotated JPEGs through the ingest API; the MJPEG view streams the newest.
Privacy: nothing here touches disk, one frame per camera is kept, frames older than
``max_age`` seconds are not served, and the number of cameras is capped.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict


class LiveFrames:
    def __init__(self, max_cameras: int = 64, max_age: float = 10.0, monotonic=time.monotonic):
        self._frames: OrderedDict[str, tuple[float, int, bytes]] = OrderedDict()
        self._lock = threading.Condition()
        self.max_cameras = max_cameras
        self.max_age = max_age
        self._now = monotonic
        self._seq = 0

    def put(self, camera_id: str, jpeg: bytes) -> int:
        with self._lock:
            self._seq += 1
            self._frames.pop(camera_id, None)
            self._frames[camera_id] = (self._now(), self._seq, jpeg)
            while len(self._frames) > self.max_cameras:
                self._frames.popitem(last=False)
            self._lock.notify_all()
            return self._seq

    def drop(self, camera_id: str) -> None:
        with self._lock:
            self._frames.pop(camera_id, None)

    def latest(self, camera_id: str) -> tuple[int, bytes] | None:
        with self._lock:
            item = self._frames.get(camera_id)
            if item is None or self._now() - item[0] > self.max_age:
                return None
            return item[1], item[2]

    def wait_newer(self, camera_id: str, seq: int, timeout: float) -> tuple[int, bytes] | None:
        """The camera's frame once it is newer than ``seq``, or None after ``timeout``."""
        deadline = self._now() + timeout
        with self._lock:
            while True:
                item = self._frames.get(camera_id)
                if item is not None and item[1] > seq and self._now() - item[0] <= self.max_age:
                    return item[1], item[2]
                left = deadline - self._now()
                if left <= 0:
                    return None
                self._lock.wait(min(left, 1.0))


def frames_of(app) -> LiveFrames:
    """The app's frame store, made on first use (never in create_app)."""
    store = app.extensions.get("crowd.frames")
    if store is None:
        store = app.extensions.setdefault("crowd.frames", LiveFrames())
    return store
