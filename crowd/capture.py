"""Frame capture: one thread per camera feeding a bounded queue.

Capture never waits for inference: when the queue is full the oldest frame is dropped
and counted, so the detector always gets the newest picture. A source that cannot be
opened or stops giving frames is reopened with exponential backoff; the feed reports
how long it has been without a frame, so a dead camera reads as offline, never as 0.
Video files loop (the demo) and are paced at their own frame rate, like a live camera.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from .checks import mask_source, mask_urls_in

log = logging.getLogger("scenic.crowd.capture")


class FrameSource(Protocol):
    """What capture needs from a camera; OpenCV's VideoCapture fits, and so does a fake."""
    fps: float
    is_file: bool

    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def rewind(self) -> bool: ...
    def release(self) -> None: ...


class SourceError(Exception):
    pass


class OpenCVSource:
    def __init__(self, source: str, base_dir: Path | None = None):
        import cv2
        self._cv2 = cv2
        self.is_file = not (source.isdigit() or "://" in source)
        target: str | int = int(source) if source.isdigit() else source
        if self.is_file:
            path = Path(source)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            if not path.is_file():
                raise SourceError(f"video file not found: {source}")
            target = str(path)
        self.cap = cv2.VideoCapture(target)
        if not self.cap.isOpened():
            self.cap.release()
            raise SourceError(f"cannot open source {mask_source(source)}")
        fps = self.cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = fps if 1.0 <= fps <= 120.0 else 25.0

    def read(self):
        return self.cap.read()

    def rewind(self) -> bool:
        return bool(self.cap.set(self._cv2.CAP_PROP_POS_FRAMES, 0))

    def release(self) -> None:
        self.cap.release()


def read_frames(path, indices) -> dict:
    """The frames at ``indices`` of a video file, read in one pass (for labelled frames)."""
    import cv2
    wanted = set(indices)
    cap = cv2.VideoCapture(str(path))
    out, i = {}, 0
    try:
        while wanted and i <= max(wanted):
            ok, frame = cap.read()
            if not ok:
                break
            if i in wanted:
                out[i] = frame
            i += 1
    finally:
        cap.release()
    return out


@dataclass
class FeedStats:
    frames: int = 0
    dropped: int = 0
    reconnects: int = 0
    last_frame_at: float | None = None
    error: str = ""
    opened: bool = False


class CameraFeed:
    """Reads one camera in its own thread into a bounded queue of the newest frames."""

    def __init__(self, camera_id: str, open_source: Callable[[], FrameSource], *,
                 queue_size: int = 2, backoff_start: float = 0.5, backoff_max: float = 10.0,
                 pace_files: bool = True, monotonic: Callable[[], float] = time.monotonic):
        self.camera_id = camera_id
        self.open_source = open_source
        self.frames: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self.backoff_start = backoff_start
        self.backoff_max = backoff_max
        self.pace_files = pace_files
        self.now = monotonic
        self.stats = FeedStats()
        self.started_at = monotonic()
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    # -- consumer side
    def get(self, timeout: float = 0.0):
        """The oldest queued (index, frame, t) or None."""
        try:
            return self.frames.get(timeout=timeout) if timeout > 0 else self.frames.get_nowait()
        except queue.Empty:
            return None

    def has_frame(self) -> bool:
        return not self.frames.empty()

    def silent_for(self) -> float:
        """Seconds since the last frame (or since start, if none came yet)."""
        last = self.stats.last_frame_at
        return self.now() - (last if last is not None else self.started_at)

    def take_dropped(self) -> int:
        with self._lock:
            n, self.stats.dropped = self.stats.dropped, 0
        return n

    # -- producer side
    def _offer(self, item) -> None:
        while True:
            try:
                self.frames.put_nowait(item)
                return
            except queue.Full:
                try:
                    self.frames.get_nowait()
                    with self._lock:
                        self.stats.dropped += 1
                except queue.Empty:
                    pass

    def start(self, stop: threading.Event) -> threading.Thread:
        self.thread = threading.Thread(target=self.run, args=(stop,), daemon=True,
                                       name=f"capture-{self.camera_id}")
        self.thread.start()
        return self.thread

    def run(self, stop: threading.Event) -> None:
        backoff = self.backoff_start
        index = 0
        while not stop.is_set():
            try:
                src = self.open_source()
            except Exception as exc:  # any failure to open is an offline camera, not a crash
                # A decoder's message may quote the URL: never its credentials.
                self.stats.error = mask_urls_in(str(exc))[:200] or type(exc).__name__
                self.stats.opened = False
                log.warning("camera %s: %s; retry in %.1f s", self.camera_id, self.stats.error,
                            backoff, extra={"event": "crowd_capture_open_failed"})
                stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                self.stats.reconnects += 1
                continue
            self.stats.opened = True
            period = 1.0 / src.fps if (src.is_file and self.pace_files and src.fps) else 0.0
            next_due = self.now()
            try:
                while not stop.is_set():
                    ok, frame = src.read()
                    if not ok or frame is None:
                        if src.is_file and src.rewind():
                            ok, frame = src.read()
                        if not ok or frame is None:
                            self.stats.error = "the source stopped giving frames"
                            break
                    backoff = self.backoff_start
                    self.stats.error = ""
                    index += 1
                    t = self.now()
                    self.stats.frames += 1
                    self.stats.last_frame_at = t
                    self._offer((index, frame, t))
                    if period:
                        next_due += period
                        delay = next_due - self.now()
                        if delay > 0:
                            stop.wait(delay)
                        else:
                            next_due = self.now()
            except Exception as exc:  # a broken decoder must not kill the thread
                self.stats.error = mask_urls_in(str(exc))[:200] or type(exc).__name__
            finally:
                src.release()
                self.stats.opened = False
            if not stop.is_set():
                stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                self.stats.reconnects += 1
