"""Capture and the worker loop with fake cameras (a true edge: a camera that is down or
faster than inference), posting through the real ingest API."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from crowd import cameras, services
from crowd.capture import CameraFeed, OpenCVSource, SourceError
from crowd.worker import Worker


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class FastSource:
    """A camera that delivers frames as fast as it is asked."""
    fps, is_file = 25.0, False

    def __init__(self):
        self.n = 0

    def read(self):
        self.n += 1
        return True, np.full((48, 64, 3), self.n % 255, np.uint8)

    def rewind(self):
        return False

    def release(self):
        pass


class DeadSource:
    opened = 0

    def __init__(self):
        DeadSource.opened += 1
        raise SourceError("cannot open source rtsp://***@10.0.0.9/stream")


class StubDetector:
    """Boxes at fixed places; the real detector is tested in test_detect.py."""

    def __init__(self, boxes):
        self.boxes = np.array(boxes, dtype=np.float32).reshape(-1, 5)
        self.calls = 0

    def detect_many(self, frames, plans, gates=None, tracks=None):
        self.calls += 1
        return [self.boxes.copy() for _ in frames]


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_capture_never_blocks_and_counts_dropped_frames():
    stop = threading.Event()
    feed = CameraFeed("fast", FastSource, queue_size=2)
    feed.start(stop)
    try:
        assert wait_for(lambda: feed.stats.frames >= 200)
    finally:
        stop.set()
        feed.thread.join(timeout=2)
    assert feed.frames.qsize() <= 2
    assert feed.stats.dropped >= feed.stats.frames - 2 - 1
    newest = [feed.get() for _ in range(2)]
    assert newest[-1][0] > newest[0][0]          # the queue holds the newest frames


def test_dead_camera_reconnects_with_backoff_and_does_not_crash():
    stop = threading.Event()
    DeadSource.opened = 0
    feed = CameraFeed("dead", DeadSource, backoff_start=0.01, backoff_max=0.04)
    feed.start(stop)
    try:
        assert wait_for(lambda: DeadSource.opened >= 4)
        assert feed.thread.is_alive()
    finally:
        stop.set()
        feed.thread.join(timeout=2)
    assert "cannot open source" in feed.stats.error and feed.stats.reconnects >= 3
    assert feed.stats.frames == 0


def test_corrupt_or_missing_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x01not a video" * 100)
    with pytest.raises(SourceError):
        OpenCVSource(str(bad))
    with pytest.raises(SourceError, match="not found"):
        OpenCVSource(str(tmp_path / "missing.mp4"))


def test_worker_reports_counts_then_offline_when_the_feed_dies(camera_data, own_camera,
                                                               worker_cameras, db, clock,
                                                               poster, app):
    cam = own_camera(camera_data)
    spec = worker_cameras()[0]
    fake = FakeClock()
    stop = threading.Event()
    sources = {"n": 0}

    def factory(_spec):
        def open_source():
            sources["n"] += 1
            if sources["n"] > 1:          # the camera goes down after its first session
                raise SourceError("connection refused")
            return FastSource()
        return open_source

    # Two people standing in the "path" area (feet at y=300 and y=400).
    det = StubDetector([[100, 200, 140, 300, 0.9], [500, 300, 540, 400, 0.8]])
    worker = Worker([spec], det, poster, stop=stop, source_factory=factory,
                    tracker_factory=_identity_tracker, stale_seconds=5, report_every=1,
                    annotate=False, monotonic=fake)
    run = worker.runs[cam.id]
    for _ in range(5):
        item = FastSource().read()[1]
        run.feed._offer((1, item, fake()))
        run.feed.stats.last_frame_at = fake()
        worker.step()
    fake.t += 1.5
    worker.step()
    assert poster.sent[-1]["status"] == "online" and poster.sent[-1]["areas"] == {"path": 2}
    assert services.zone_levels(db, clock)["qianyuan"].people == 2

    fake.t += 6           # no frame for 6 s > 5 s stale limit
    worker.step()
    assert poster.sent[-1]["status"] == "offline" and "people" not in poster.sent[-1]
    z = services.zone_levels(db, clock)["qianyuan"]
    assert z.people is None and z.level == "unknown"
    assert [a["kind"] for a in services.list_alerts(db, active_only=True)] == ["camera_offline"]
    stop.set()


def test_worker_survives_the_site_being_down(camera_data, own_camera, worker_cameras):
    class DownPoster:
        def observation(self, payload):
            raise ConnectionError("site unreachable")

        def frame(self, *a):
            raise ConnectionError("site unreachable")

    cam = own_camera(camera_data)
    spec = worker_cameras()[0]
    fake = FakeClock()
    det = StubDetector([[100, 200, 140, 300, 0.9]])
    worker = Worker([spec], det, DownPoster(), stop=threading.Event(),
                    source_factory=lambda s: FastSource, tracker_factory=_identity_tracker,
                    report_every=1, monotonic=fake)
    run = worker.runs[cam.id]
    # A line crossing that cannot be posted yet must be kept for the next report.
    run.pending_lines["mid"]["in"] = 3
    run.feed._offer((1, FastSource().read()[1], fake()))
    run.feed.stats.last_frame_at = fake()
    worker.step()
    fake.t += 2
    worker.step()
    assert run.pending_lines["mid"]["in"] == 3


class _IdentityTracker:
    def update(self, dets, shape):
        return [(i + 1, *map(float, d[:4])) for i, d in enumerate(dets)]


def _identity_tracker():
    return _IdentityTracker()


def test_worker_follows_camera_edits_on_the_site(camera_data, own_camera, worker_cameras, db, clock,
                                                 poster):
    own_camera(camera_data)
    det = StubDetector([[100, 200, 140, 300, 0.9]])
    worker = Worker(worker_cameras(), det, poster,
                    stop=threading.Event(), source_factory=lambda s: FastSource,
                    tracker_factory=_identity_tracker)
    first = worker.runs["cam-a"]
    assert worker.apply_config(poster.config()["cameras"]) == []      # nothing changed
    cameras.save_regions(db, "cam-a", [{"kind": "area", "name": "gate", "capacity": 3,
                                         "points": [[0, 0], [50, 0], [50, 50]]}], clock=clock)
    assert worker.apply_config(poster.config()["cameras"]) == ["cam-a"]
    assert first.stop.is_set() and worker.runs["cam-a"] is not first
    assert [a.name for a in worker.runs["cam-a"].areas] == ["gate"]
    cameras.delete_camera(db, "cam-a")
    assert worker.apply_config(poster.config()["cameras"]) == ["cam-a"]
    assert worker.runs == {}
    worker.shutdown()
