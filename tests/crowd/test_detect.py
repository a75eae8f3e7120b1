"""Real inference with the packaged yolo11n-pose weights through our INT8 person IR on
OpenVINO (built by crowd.models.prepare; the engine is loaded once for this module)."""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from crowd import models, services
from crowd.capture import read_frames
from crowd.detect import Detector, TilePlan
from crowd.worker import Worker

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "data" / "crowd" / "vtest-clip.mp4"
pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def detector():
    return Detector(models.load_engine("openvino", "int8"))


def bus_jpg() -> np.ndarray:
    import ultralytics
    return cv2.imread(str(Path(ultralytics.__file__).parent / "assets" / "bus.jpg"))


def clip_frames(indices) -> dict:
    return read_frames(CLIP, indices)


def sure(boxes):
    return boxes[boxes[:, 4] >= 0.25]


def test_people_on_bus_jpg(detector):
    img = bus_jpg()
    boxes = sure(detector.detect(img, TilePlan(2, 2, 0.2)))
    # bus.jpg: four people standing in front of the bus (one cut by the left edge); the
    # tiles cut three of them in half, and the merge must make each whole again.
    assert 4 <= len(boxes) <= 5
    assert (boxes[:, 4] > 0.25).all()
    h, w = img.shape[:2]
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
    tall = boxes[:, 3] - boxes[:, 1]
    assert (tall > 300).sum() >= 3          # whole people, not halves


def test_tiles_find_the_small_people_that_one_pass_misses(detector):
    frames = clip_frames({144, 245})      # hand counts 9 and 7 (bench/labels)
    whole = [len(sure(detector.detect(f, TilePlan(1, 1, 0.0)))) for f in frames.values()]
    tiled = [sure(b) for b in detector.detect_many(list(frames.values()),
                                                   [TilePlan(2, 2, 0.2)] * 2)]
    tiled_n = [len(b) for b in tiled]
    assert sum(tiled_n) > sum(whole)
    assert abs(tiled_n[0] - 9) <= 3 and abs(tiled_n[1] - 7) <= 3
    for b in tiled:                      # no double boxes left on tile borders
        if len(b) > 1:
            from crowd.detect import _pairwise
            iou, _ = _pairwise(b[:, :4], b[:, :4])
            np.fill_diagonal(iou, 0)
            assert iou.max() < 0.6


def test_worker_end_to_end_on_the_clip(detector, camera_data, own_camera, worker_cameras, poster,
                                       db, clock):
    cam = own_camera(camera_data)
    spec = worker_cameras()[0]
    stop = threading.Event()
    worker = Worker([spec], detector, poster, stop=stop, report_every=0.0, frame_every=0.0,
                    stale_seconds=30)
    run = worker.runs[cam.id]
    worker.start()
    try:
        processed = 0
        for _ in range(400):
            processed += worker.step()
            if processed >= 4:
                break
            stop.wait(0.02)
    finally:
        worker.shutdown()
        run.feed.thread.join(timeout=3)
    assert not run.feed.thread.is_alive()
    online = [p for p in poster.sent if p["status"] == "online"]
    assert online and online[-1]["people"] >= 2
    state = services.dashboard_state(db, clock)
    assert state["cameras"][0]["status"] == "online" and state["cameras"][0]["people"] >= 2
    from crowd.live import frames_of
    assert frames_of(poster.client.application).latest(cam.id) is not None


def test_one_worker_serves_two_cameras_with_one_detector(detector, camera_data, own_camera,
                                                         worker_cameras, poster):
    # Two cameras on the same clip; each step runs both cameras' tiles in one engine call.
    for cid in ("cam-a", "cam-b"):
        own_camera(dict(camera_data, id=cid))
    specs = worker_cameras()
    stop = threading.Event()
    worker = Worker(specs, detector, poster, stop=stop, report_every=0.0, annotate=False,
                    stale_seconds=30)
    worker.start()
    both_in_one_call = False
    try:
        for _ in range(600):
            if worker.step() == 2:
                both_in_one_call = both_in_one_call or detector.last_tiles[1] == 8
            if all(r.processed >= 3 for r in worker.runs.values()):
                break
            stop.wait(0.02)
    finally:
        worker.shutdown()
        for r in worker.runs.values():
            r.feed.thread.join(timeout=3)
    assert both_in_one_call
    assert all(r.processed >= 3 for r in worker.runs.values())
    last = {p["camera_id"]: p for p in poster.sent if p["status"] == "online"}
    assert set(last) == {"cam-a", "cam-b"} and all(p["people"] >= 2 for p in last.values())
    assert worker.latency.percentile("counted", 50) is not None
