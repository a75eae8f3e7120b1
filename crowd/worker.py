"""The counting worker: capture threads -> fair scheduling -> tiled detection on one
shared engine -> ByteTrack -> counting rules -> observations handed to a ``Poster``.

A worker is a process with a stop event, started by ``flask --app app crowd worker``,
never by the web app. It serves every camera of its box with one detector: each step the
round robin (crowd/schedule.py) picks the cameras whose newest frame runs, within a tile
budget, and their tiles run together through the engine's request queue. It talks to the
site only through a ``Poster`` (today HTTP with a ``worker`` token), so it can run on
another machine next to the cameras.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter as Tally, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from core.errors import ValidationError

from .capture import CameraFeed, OpenCVSource, SourceError
from .checks import HEAT_COLS, HEAT_ROWS, SourcePolicy, check_source
from .count import Area, Counter, Line, bottom_centre, people_in_view
from .detect import TileGate, TilePlan
from .schedule import RoundRobin

log = logging.getLogger("scenic.crowd.worker")
ROOT = Path(__file__).resolve().parent.parent


class PostError(Exception):
    def __init__(self, status: int, code: str, message: str = ""):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


class Poster(Protocol):
    """Where a worker's results go. ``observation`` returns once the report is delivered
    (HTTP: the site answered; a message-broker poster: the broker acknowledged), so the
    worker's latency log measures frame -> published for any poster."""
    def config(self) -> dict: ...
    def observation(self, payload: dict) -> dict: ...
    def frame(self, camera_id: str, jpeg: bytes) -> None: ...


class LatencyLog:
    """Seconds from a frame's capture to later points of its way out, the newest ``size``
    samples of each kind (bounded): ``counted`` (its counts are ready), ``handed`` (the
    observation carrying them is handed to the poster), ``posted`` (the poster returned)."""
    KINDS = ("counted", "handed", "posted")

    def __init__(self, size: int = 4096):
        self.samples = {k: deque(maxlen=size) for k in self.KINDS}

    def add(self, kind: str, seconds: float) -> None:
        self.samples[kind].append(seconds)

    def percentile(self, kind: str, q: float) -> float | None:
        values = sorted(self.samples[kind])
        if not values:
            return None
        return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


class HttpPoster:
    """Talks to the site's ingest API over real HTTP with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 5.0):
        import requests
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def _check(self, resp):
        if resp.status_code >= 300:
            try:
                body = resp.json()
            except ValueError:
                body = {}
            raise PostError(resp.status_code, body.get("error", "http_error"),
                            body.get("message", ""))
        return resp.json() if resp.content else {}

    def config(self) -> dict:
        return self._check(self.session.get(f"{self.base}/api/crowd/worker/config",
                                            timeout=self.timeout))

    def observation(self, payload: dict) -> dict:
        return self._check(self.session.post(f"{self.base}/api/crowd/observations",
                                             json=payload, timeout=self.timeout))

    def frame(self, camera_id: str, jpeg: bytes) -> None:
        self._check(self.session.post(f"{self.base}/api/crowd/cameras/{camera_id}/frame",
                                      data=jpeg, headers={"Content-Type": "image/jpeg"},
                                      timeout=self.timeout))


def plan_of(spec: dict) -> TilePlan:
    return TilePlan(spec["tile_rows"], spec["tile_cols"], spec["tile_overlap"],
                    bool(spec["full_frame"]))


@dataclass
class CameraRun:
    spec: dict
    feed: CameraFeed
    counter: Counter
    tracker: object
    plan: TilePlan
    areas: list
    lines: list
    pending_lines: dict = field(default_factory=dict)
    heat: Tally = field(default_factory=Tally)
    last_report: float = 0.0
    last_frame_post: float = 0.0
    processed: int = 0
    processed_at_report: int = 0
    last_tracks: list = field(default_factory=list)
    last_areas: dict = field(default_factory=dict)
    last_people: int = 0
    last_image: np.ndarray | None = None   # the frame the last tracks were found on
    counted_at: float | None = None          # capture time of that frame
    reported_at: float | None = None         # capture time of the frame last reported
    dropped: int = 0
    gate: TileGate = field(default_factory=TileGate)
    frame_no: int = 0
    detect_every: int = 1
    stop: threading.Event = field(default_factory=threading.Event)  # this camera's feed

    @property
    def id(self) -> str:
        return self.spec["id"]


def source_factory_for(sources: SourcePolicy) -> Callable:
    """Opens each camera with OpenCV once its source passes the worker's own policy: the
    site checked it when it was saved, and the worker, which does the fetching, checks
    again, so a record that breaks the rules is an offline camera, never a fetch."""
    def factory(spec: dict) -> Callable:
        def open_source():
            try:
                check_source(spec["source"], sources)
            except ValidationError as exc:
                raise SourceError(f"source not allowed here: {exc.message}") from None
            return OpenCVSource(spec["source"], base_dir=ROOT)
        return open_source
    return factory


default_source_factory = source_factory_for(SourcePolicy())


class Worker:
    def __init__(self, cameras: list[dict], detector, poster: Poster, *,
                 stop: threading.Event, source_factory=default_source_factory,
                 tracker_factory=None, stale_seconds: float = 5.0, report_every: float = 1.0,
                 frame_every: float = 0.5, annotate: bool = True, queue_size: int = 2,
                 step_tiles: int = 24,
                 monotonic: Callable[[], float] = time.monotonic):
        self.detector = detector
        self.poster = poster
        self.stop = stop
        self.source_factory = source_factory
        self.tracker_factory = tracker_factory or _default_tracker
        self.stale_seconds = stale_seconds
        self.counts_posted = 0  # fresh online counts the site accepted
        self.report_every = report_every
        self.frame_every = frame_every
        self.annotate = annotate
        self.queue_size = queue_size
        self.scheduler = RoundRobin(step_tiles)
        self.latency = LatencyLog()
        self.now = monotonic
        self.runs: dict[str, CameraRun] = {}
        for spec in cameras:
            self.add(spec)

    def add(self, spec: dict) -> CameraRun:
        areas = [Area(r["name"], tuple(tuple(p) for p in r["points"]))
                 for r in spec.get("regions", []) if r["kind"] == "area"]
        lines = [Line(r["name"], tuple(r["points"][0]), tuple(r["points"][1]))
                 for r in spec.get("regions", []) if r["kind"] == "line"]
        feed = CameraFeed(spec["id"], self.source_factory(spec), queue_size=self.queue_size,
                          monotonic=self.now)
        run = CameraRun(spec, feed, Counter(areas, lines, inertia=spec.get("inertia", 3)),
                        self.tracker_factory(), plan_of(spec), areas, lines,
                        pending_lines={ln.name: {"in": 0, "out": 0} for ln in lines},
                        last_report=self.now(), detect_every=int(spec.get("detect_every", 1)))
        self.runs[spec["id"]] = run
        return run

    def start(self) -> None:
        for run in self.runs.values():
            if run.feed.thread is None:
                run.feed.start(run.stop)

    def apply_config(self, cameras: list[dict]) -> list[str]:
        """Follow the site's camera list: start new cameras, restart changed ones (new
        regions, source or tiles), stop removed or disabled ones. Returns what changed."""
        wanted = {c["id"]: c for c in cameras}
        changed = []
        for cid in list(self.runs):
            if cid not in wanted or json.dumps(wanted[cid], sort_keys=True) != \
                    json.dumps(self.runs[cid].spec, sort_keys=True):
                self.runs.pop(cid).stop.set()
                changed.append(cid)
        for cid, spec in wanted.items():
            if cid not in self.runs:
                self.add(spec)
                if cid not in changed:
                    changed.append(cid)
        if changed:
            self.start()
        return changed

    def shutdown(self) -> None:
        self.stop.set()
        for run in self.runs.values():
            run.stop.set()

    def _newest(self, run: CameraRun):
        """The camera's newest queued frame; older ones still queued count as dropped."""
        item = None
        while True:
            nxt = run.feed.get()
            if nxt is None:
                break
            if item is not None:
                run.dropped += 1
            item = nxt
        return item

    def step(self) -> int:
        """Run the detector on the newest frame of the cameras whose turn it is; report
        those due. Returns the number of frames the detector ran on."""
        waiting = {}
        for run in self.runs.values():
            if not run.feed.has_frame():
                continue
            if run.frame_no % run.detect_every:
                # Between detections the tracks and counts hold (the camera's detect_every):
                # no detector, so no turn needed.
                if self._newest(run) is not None:
                    run.frame_no += 1
                    run.processed += 1
                continue
            waiting[run.id] = run.plan.tiles_per_frame
        batch = []
        for cid in self.scheduler.pick(waiting):
            run = self.runs[cid]
            item = self._newest(run)
            if item is not None:
                run.frame_no += 1
                batch.append((run, item))
        if batch:
            boxes = self.detector.detect_many([it[1] for _, it in batch],
                                              [r.plan for r, _ in batch],
                                              gates=[r.gate for r, _ in batch],
                                              tracks=[[t[1:5] for t in r.last_tracks]
                                                      for r, _ in batch])
            for (run, item), dets in zip(batch, boxes):
                self._count(run, item[1], dets, item[2])
        now = self.now()
        for run in self.runs.values():
            if now - run.last_report >= self.report_every:
                self.report(run, now)
        return len(batch)

    def _count(self, run: CameraRun, frame: np.ndarray, dets: np.ndarray,
               captured_at: float) -> None:
        h, w = frame.shape[:2]
        tracks = run.tracker.update(dets, (h, w))
        counts = run.counter.update(tracks)
        for name, direction in counts.crossings:
            run.pending_lines[name][direction] += 1
        for t in tracks:
            x, y = bottom_centre(t[1:5])
            col = min(HEAT_COLS - 1, max(0, int(x / w * HEAT_COLS)))
            row = min(HEAT_ROWS - 1, max(0, int(y / h * HEAT_ROWS)))
            run.heat[(col, row)] += 1
        # People in view: the detector's sure boxes, and weaker ones that continue a track.
        # Tracks (which need two sightings to start) drive the areas and lines.
        run.last_tracks, run.last_areas = tracks, counts.areas
        run.last_people = people_in_view(dets[:, 4], getattr(run.tracker, "matched", ()))
        run.processed += 1
        run.last_image = frame
        run.counted_at = captured_at
        self.latency.add("counted", self.now() - captured_at)

    def report(self, run: CameraRun, now: float) -> None:
        elapsed = max(now - run.last_report, 1e-6)
        fps = (run.processed - run.processed_at_report) / elapsed
        dropped = run.dropped + run.feed.take_dropped()
        silent = run.feed.silent_for()
        if run.processed == 0 and silent <= self.stale_seconds:
            return  # still starting up: nothing to say yet, and no false "offline"
        payload = {"camera_id": run.id, "dropped_frames": dropped, "fps": round(fps, 2),
                   "lines": {k: dict(v) for k, v in run.pending_lines.items() if v["in"] or
                             v["out"]}}
        if silent > self.stale_seconds or run.processed == run.processed_at_report and \
                run.processed == 0:
            payload["status"] = "offline"
            payload["error"] = run.feed.stats.error or f"no frame for {silent:.0f} s"
        else:
            payload["status"] = "online"
            payload["people"] = run.last_people
            payload["areas"] = dict(run.last_areas)
            payload["heat"] = [[c, r, n] for (c, r), n in run.heat.items()]
        run.last_report = now
        run.processed_at_report = run.processed
        run.dropped = 0
        fresh = payload["status"] == "online" and run.counted_at is not None and \
            run.counted_at != run.reported_at
        if fresh:
            self.latency.add("handed", self.now() - run.counted_at)
        try:
            self.poster.observation(payload)
        except Exception as exc:  # the site may be down: keep counting, retry next report
            log.warning("posting camera %s failed: %s", run.id, exc,
                        extra={"event": "crowd_post_failed"})
            run.dropped += dropped
            return
        if fresh:
            self.latency.add("posted", self.now() - run.counted_at)
            run.reported_at = run.counted_at
            self.counts_posted += 1
        for v in run.pending_lines.values():
            v["in"] = v["out"] = 0
        run.heat.clear()
        if payload["status"] == "online" and self.annotate and run.last_image is not None \
                and now - run.last_frame_post >= self.frame_every:
            self._post_frame(run, now)

    def _post_frame(self, run: CameraRun, now: float) -> None:
        from .annotate import draw, encode_jpeg
        run.last_frame_post = now
        try:
            img = draw(run.last_image, run.last_tracks, run.areas, run.lines, run.last_areas,
                       run.counter.totals)
            self.poster.frame(run.id, encode_jpeg(img))
        except Exception as exc:  # a lost live view must never stop the counting
            log.warning("posting frame of %s failed: %s", run.id, exc,
                        extra={"event": "crowd_frame_failed"})

    def run_forever(self, max_seconds: float | None = None, reload=None,
                    reload_every: float = 30.0, max_counts: int | None = None) -> None:
        """Count until stopped, after ``max_seconds`` or once ``max_counts`` fresh counts
        were posted; every ``reload_every`` s ask ``reload()`` for the camera list (None
        keeps the current one), so edits on the site reach a running worker."""
        self.start()
        started = last_reload = self.now()
        try:
            while not self.stop.is_set():
                if max_seconds is not None and self.now() - started >= max_seconds:
                    break
                if max_counts is not None and self.counts_posted >= max_counts:
                    break
                if reload is not None and self.now() - last_reload >= reload_every:
                    last_reload = self.now()
                    cameras = reload()
                    if cameras is not None:
                        changed = self.apply_config(cameras)
                        if changed:
                            log.info("cameras changed: %s", ", ".join(changed))
                if self.step() == 0:
                    self.stop.wait(0.01)
        finally:
            self.shutdown()


def _default_tracker():
    from .track import Tracker
    return Tracker()


def run_worker(base_url: str, token: str, *, camera_ids=(), backend: str = "openvino",
               precision: str = "int8", seconds: float | None = None, annotate: bool = True,
               stale_seconds: float = 5.0, stop: threading.Event | None = None,
               counts: int | None = None, sources: SourcePolicy = SourcePolicy()) -> None:
    """Fetch the camera list from the site and count until stopped (the CLI's body);
    ``sources``: what this worker may open (CROWD_SOURCE_* of its own configuration)."""
    from .detect import Detector
    from .models import load_engine
    stop = stop or threading.Event()
    poster = HttpPoster(base_url, token)
    cfg = None
    while cfg is None and not stop.is_set():
        try:
            cfg = poster.config()
        except PostError as exc:
            if exc.status in (401, 403):
                raise
            log.warning("site answered %s; retrying", exc)
        except Exception as exc:  # the site is not up yet: wait for it
            log.warning("cannot reach %s (%s); retrying", base_url, type(exc).__name__)
        if cfg is None:
            stop.wait(2.0)
    if cfg is None:
        return
    cameras = [c for c in cfg["cameras"] if not camera_ids or c["id"] in camera_ids]
    if not cameras:
        log.warning("no enabled cameras to run (an admin assigns cameras to this worker "
                    "device on /crowd/cameras)", extra={"event": "crowd_no_cameras"})
        return
    detector = Detector(load_engine(backend, precision))
    worker = Worker(cameras, detector, poster, stop=stop, annotate=annotate,
                    stale_seconds=stale_seconds, source_factory=source_factory_for(sources))
    log.info("worker running %s", json.dumps([c["id"] for c in cameras]))

    def reload():
        try:
            return [c for c in poster.config()["cameras"]
                    if not camera_ids or c["id"] in camera_ids]
        except Exception as exc:  # the site is briefly away: keep the current cameras
            log.warning("config reload failed: %s", exc)
            return None
    worker.run_forever(seconds, reload=reload, max_counts=counts)
