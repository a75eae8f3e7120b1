"""Many cameras on one detector: round robin within a tile budget, bounded queues that
drop the oldest frame and count it, and a busy camera that cannot starve a quiet one.
Cameras here are fakes fed by hand (a true edge), the detector a stub that records what
it was given; the real detector is tested in test_detect.py."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from crowd.schedule import RoundRobin
from crowd.worker import LatencyLog, Worker


def test_round_robin_takes_turns_within_the_budget():
    rr = RoundRobin(budget=12)
    waiting = {"a": 6, "b": 6, "c": 6}
    assert rr.pick(waiting) == ["a", "b"]
    assert rr.pick(waiting) == ["c", "a"]
    assert rr.pick(waiting) == ["b", "c"]
    assert rr.pick({}) == []


def test_a_camera_over_the_budget_runs_alone_and_is_not_overtaken():
    rr = RoundRobin(budget=8)
    assert rr.pick({"big": 20, "small": 1}) == ["big"]          # alone, but it runs
    assert rr.pick({"a": 1, "big": 20, "small": 1}) == ["small", "a"]
    # "big" is next in turn; the small ones behind it wait rather than overtake it.
    assert rr.pick({"a": 1, "big": 20, "small": 1}) == ["big"]


def test_round_robin_survives_cameras_coming_and_going():
    rr = RoundRobin(budget=1)
    assert rr.pick({"b": 1, "d": 1}) == ["b"]
    assert rr.pick({"a": 1, "c": 1, "d": 1}) == ["c"]          # the turn goes on after b
    assert rr.pick({"a": 1}) == ["a"]
    with pytest.raises(ValueError):
        RoundRobin(budget=0)


class RecordingDetector:
    """Returns no people; records which cameras' frames each call carried (each fake
    camera paints its frames with its own number)."""

    def __init__(self):
        self.calls: list[list[int]] = []

    def detect_many(self, frames, plans, gates=None, tracks=None):
        self.calls.append([int(f[0, 0, 0]) for f in frames])
        return [np.zeros((0, 5), np.float32) for _ in frames]


class NoTracker:
    matched: set = set()

    def update(self, dets, shape):
        return []


def spec(cid):
    return {"id": cid, "source": "fake", "tile_rows": 2, "tile_cols": 3, "tile_overlap": 0.2,
            "full_frame": False, "inertia": 3, "detect_every": 1, "regions": []}


class Clock:
    t = 100.0

    def __call__(self):
        return self.t


def make_worker(ids, step_tiles, queue_size=2):
    det, clock = RecordingDetector(), Clock()
    worker = Worker([spec(c) for c in ids], det, poster=None, stop=threading.Event(),
                    source_factory=lambda s: None, tracker_factory=NoTracker,
                    report_every=1e9, annotate=False, queue_size=queue_size,
                    step_tiles=step_tiles, monotonic=clock)
    return worker, det, clock


def offer(worker, cid, number, clock):
    run = worker.runs[cid]
    run.feed._offer((number, np.full((48, 64, 3), number, np.uint8), clock()))
    run.feed.stats.last_frame_at = clock()


def test_a_busy_camera_cannot_starve_a_quiet_one():
    # Budget for one camera's tiles per step. Two busy cameras send a frame before every
    # step; the quiet one only every fifth step. Served in arrival order, the busy ones
    # would fill every step; in turn, the quiet frame waits at most one round.
    worker, det, clock = make_worker(["busy-1", "busy-2", "quiet"], step_tiles=6)
    quiet_sent, quiet_served = [], []
    for step in range(60):
        clock.t += 0.1
        offer(worker, "busy-1", 1, clock)
        offer(worker, "busy-2", 2, clock)
        if step % 5 == 0:
            offer(worker, "quiet", 3, clock)
            quiet_sent.append(step)
        assert worker.step() == 1
        if det.calls[-1] == [3]:
            quiet_served.append(step)
    assert all(len(c) == 1 for c in det.calls)                 # never over the budget
    assert len(quiet_served) == len(quiet_sent)                # every quiet frame ran
    assert all(0 <= s - q <= 2 for q, s in zip(quiet_sent, quiet_served))  # within a round
    served = [c[0] for c in det.calls]
    assert abs(served.count(1) - served.count(2)) <= 1         # busy ones share the rest
    # The busy cameras' queues stayed bounded: the frames they could not run were dropped
    # (oldest first) and counted, never piled up.
    for cid in ("busy-1", "busy-2"):
        run = worker.runs[cid]
        assert run.feed.frames.qsize() <= 2
        assert run.dropped + run.feed.stats.dropped > 0


def test_one_call_carries_every_camera_when_the_budget_allows():
    worker, det, clock = make_worker([f"cam-{i}" for i in range(4)], step_tiles=24)
    for i in range(4):
        offer(worker, f"cam-{i}", i + 10, clock)
    assert worker.step() == 4
    assert det.calls == [[10, 11, 12, 13]]                     # one shared detector call
    assert worker.step() == 0                                  # nothing new: nothing runs


def test_dropped_frames_are_counted_once_and_reported():
    sent = []

    class Poster:
        def observation(self, payload):
            sent.append(payload)
            return {}

    det, clock = RecordingDetector(), Clock()
    worker = Worker([spec("cam")], det, Poster(), stop=threading.Event(),
                    source_factory=lambda s: None, tracker_factory=NoTracker,
                    report_every=1.0, annotate=False, queue_size=2, monotonic=clock)
    for n in range(1, 6):          # five frames into a queue of two: three dropped there
        offer(worker, "cam", n, clock)
    assert worker.step() == 1 and det.calls == [[5]]           # the newest frame ran
    clock.t += 1.5
    worker.step()
    # 3 dropped by the full queue + 1 older frame skipped for the newest one.
    assert sent[-1]["status"] == "online" and sent[-1]["dropped_frames"] == 4
    assert len(worker.latency.samples["counted"]) == 1
    assert worker.latency.samples["handed"][0] == pytest.approx(1.5)


def test_latency_log_is_bounded():
    log = LatencyLog(size=100)
    for i in range(10_000):
        log.add("counted", i / 1000)
    assert len(log.samples["counted"]) == 100
    assert log.percentile("counted", 50) == pytest.approx(9.95, abs=0.01)
    assert log.percentile("posted", 99) is None


def test_hundreds_of_cameras_each_get_one_pass_per_round():
    rr = RoundRobin(budget=24)
    waiting = {f"cam-{i:03d}": 6 for i in range(300)}
    served = []
    for _ in range(75):                      # 300 cameras x 6 tiles / 24 tiles a step
        step = rr.pick(waiting)
        assert sum(waiting[c] for c in step) <= 24
        served += step
    assert sorted(served) == sorted(waiting)   # each exactly once in the round
