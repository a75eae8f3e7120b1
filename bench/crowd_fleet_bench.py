"""Many cameras on one box: this worker vs one naive predict loop per camera, in one run.

Baseline everywhere (the same as bench/crowd_bench.py's (a)): ``YOLO("yolo11n-pose.pt")
.predict(frame)``, PyTorch, the whole frame at 640 px; its count is the number of boxes.

1. Every frame (issue 12, item 3). On the 24 hand-counted frames of vtest.avi
   (bench/labels), interleaved frame by frame: the baseline, and our pipeline with the
   detector on every frame (the demo camera's 2x3 tiles, gating, ByteTrack; 11 lead-in
   frames before each labelled one, every frame timed) on the FP32 and the INT8 person
   IR. The INT8 model is kept only if its error is within 0.1 of FP32's; the decision
   is printed (and is the default of the CROWD_DETECTOR_PRECISION setting).
2. Error at 2 detector passes a second: the same labelled frames, the tracker fed every
   5th frame (2 passes a second of the 10 fps clip), the rate the cameras-per-box figure
   asks for. A live camera's count only depends on the model, the tiles and how far apart
   its passes are, so this is the error of a camera served at that rate.
3. Cameras per box. N simulated cameras, each the sample clip from its own offset, decoded
   and paced at 10 fps by the worker's own capture threads (crowd.capture.CameraFeed):
   - ours: one ``crowd.worker.Worker`` serving all N with one INT8 detector (round robin,
     tiles of several cameras through one OpenVINO request queue), annotated frames drawn
     and encoded twice a second per camera as in production, observations handed to a
     poster that keeps them in memory;
   - naive: N processes, each one camera's loop ``model.predict(newest frame)`` (PyTorch
     threads split between them: max(1, cores // N) each, its best setting).
   A box "serves" N cameras when the slowest camera gets >= 2 detector passes a second
   (and, for ours, the error of part 2 is <= 0.5; the baseline's error is printed beside
   its figure, it misses most people). Trials alternate ours / naive; the search steps N
   up from an estimate while served and down while not, and a failed N is tried twice
   (the better try counts, on both sides: other jobs share this machine). From the largest
   ours trial: seconds from a frame's capture to its counts, and to the observation
   handed to the poster (reports go once a second per camera), p50 and p99. The
   poster's return is logged too ("posted"): with the MQTT poster of issue 12 item 1 that
   becomes frame -> published.

    .venv/bin/python -m bench.crowd_fleet_bench [--seconds 8] [--video PATH]

The machine is shared: compare figures within one run (ratios), read the load averages.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crowd import models  # noqa: E402

models.configure_ultralytics()

import numpy as np  # noqa: E402

from bench.crowd_bench import (CLIP, DEMO, SHARED, labelled_frames, naive_model,  # noqa: E402
                               run_counting)

TARGET_PASSES = 2.0      # detector passes per camera per second
TARGET_ERROR = 0.5       # mean abs error, people per frame
INT8_TOLERANCE = 0.1     # INT8 kept if its error is within this of FP32's
CLIP_FRAMES = 795


def demo_spec() -> dict:
    return json.loads(DEMO.read_text())["cameras"][0]


class ClipSource:
    """The sample clip from an offset, looping: a simulated camera (crowd.capture's
    FrameSource; CameraFeed paces it at the clip's 10 fps like a live camera)."""

    def __init__(self, path: Path, offset: int):
        from crowd.capture import OpenCVSource
        self.src = OpenCVSource(str(path))
        self.fps, self.is_file = self.src.fps, True
        import cv2
        self.src.cap.set(cv2.CAP_PROP_POS_FRAMES, offset % CLIP_FRAMES)

    def read(self):
        return self.src.read()

    def rewind(self):
        return self.src.rewind()

    def release(self):
        self.src.release()


def newest(feed):
    item = None
    while (nxt := feed.get()) is not None:
        item = nxt
    return item


class MemoryPoster:
    """Keeps observations in memory (the bench measures up to the hand-over)."""

    def __init__(self):
        self.observations = 0
        self.frames = 0

    def config(self):
        return {"cameras": []}

    def observation(self, payload):
        self.observations += 1
        return {}

    def frame(self, camera_id, jpeg):
        self.frames += 1


def ours_trial(detector, video: Path, n: int, seconds: float, warmup: float = 2.0) -> dict:
    from crowd.worker import Worker
    spec = demo_spec()
    specs = []
    for k in range(n):
        s = dict(spec, id=f"cam-{k:02d}", detect_every=1)
        s["offset"] = k * CLIP_FRAMES // n
        specs.append(s)
    stop = threading.Event()
    poster = MemoryPoster()
    worker = Worker(specs, detector, poster, stop=stop, stale_seconds=30,
                    source_factory=lambda s: (lambda: ClipSource(video, s["offset"])))
    worker.start()
    try:
        t_end = time.monotonic() + warmup
        # Warm up until every camera has been served (bounded: a minute at most).
        while time.monotonic() < t_end or (any(r.processed == 0 for r in worker.runs.values())
                                           and time.monotonic() < t_end + 60):
            if worker.step() == 0:
                time.sleep(0.005)
        before = {cid: r.processed for cid, r in worker.runs.items()}
        worker.latency = type(worker.latency)()
        captured0 = {cid: r.feed.stats.frames for cid, r in worker.runs.items()}
        t0, cpu0 = time.monotonic(), time.process_time()
        while time.monotonic() - t0 < seconds:
            if worker.step() == 0:
                time.sleep(0.005)
        elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
        per_cam = [(r.processed - before[cid]) / elapsed for cid, r in worker.runs.items()]
        # Frames the cameras delivered that no detector pass used (dropped, newest kept).
        dropped = sum(r.feed.stats.frames - captured0[cid] - (r.processed - before[cid])
                      for cid, r in worker.runs.items())
    finally:
        worker.shutdown()
        for r in worker.runs.values():
            if r.feed.thread is not None:
                r.feed.thread.join(timeout=5)
    lat = worker.latency
    return {"n": n, "per_cam": per_cam, "min": min(per_cam), "total": sum(per_cam),
            "cpu": cpu, "seconds": elapsed, "dropped": dropped, "latency": {k: (lat.percentile(k, 50), lat.percentile(k, 99),
                                                len(lat.samples[k])) for k in lat.KINDS}}


def _naive_camera(video, offset, threads, seconds, barrier, results):
    sys.path.insert(0, str(ROOT))
    from crowd import models as m
    m.configure_ultralytics()
    import torch
    torch.set_num_threads(threads)
    from crowd.capture import CameraFeed
    model = naive_model()
    model.predict(np.zeros((576, 768, 3), np.uint8), verbose=False)
    stop = threading.Event()
    feed = CameraFeed(f"naive-{offset}", lambda: ClipSource(Path(video), offset))
    feed.start(stop)
    deadline = time.monotonic() + 60
    while not feed.has_frame() and time.monotonic() < deadline:
        time.sleep(0.01)
    barrier.wait()
    passes, t0, cpu0 = 0, time.monotonic(), time.process_time()
    while time.monotonic() - t0 < seconds:
        item = newest(feed)
        if item is None:
            time.sleep(0.005)
            continue
        len(model.predict(item[1], verbose=False)[0].boxes)
        passes += 1
    rate, cpu = passes / (time.monotonic() - t0), time.process_time() - cpu0
    stop.set()
    feed.thread.join(timeout=5)
    results.put((rate, cpu))


def naive_trial(video: Path, n: int, seconds: float) -> dict:
    ctx = mp.get_context("spawn")   # torch's threads do not survive a fork
    barrier, results = ctx.Barrier(n), ctx.Queue()
    threads = max(1, (os.cpu_count() or 2) // n)
    procs = [ctx.Process(target=_naive_camera, daemon=True,
                         args=(str(video), k * CLIP_FRAMES // n, threads, seconds, barrier,
                               results)) for k in range(n)]
    for p in procs:
        p.start()
    got = [results.get(timeout=seconds + 180) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    per_cam = [rate for rate, _cpu in got]
    return {"n": n, "per_cam": per_cam, "min": min(per_cam), "total": sum(per_cam),
            "cpu": sum(cpu for _rate, cpu in got), "seconds": seconds, "threads": threads}


def decode_cost(video: Path, seconds: float = 4.0) -> float:
    """CPU seconds per second that one camera's capture (decoding at 10 fps) costs."""
    from crowd.capture import CameraFeed
    stop = threading.Event()
    feed = CameraFeed("decode", lambda: ClipSource(video, 0))
    feed.start(stop)
    while not feed.has_frame():
        time.sleep(0.01)
    t0, cpu0 = time.monotonic(), time.process_time()
    while time.monotonic() - t0 < seconds:
        newest(feed)
        time.sleep(0.05)
    cost = (time.process_time() - cpu0) / (time.monotonic() - t0)
    stop.set()
    feed.thread.join(timeout=5)
    return cost


def capacity(trials: dict, decode: float, cores: int) -> tuple[float, float]:
    """From CPU time rather than wall time (other jobs share the machine): CPU seconds per
    detector pass (capture excluded), and the cameras a quiet box with ``cores`` cores
    could serve at the target rate: cores / (decode + target x CPU per pass)."""
    per_pass = [(r["cpu"] - r["n"] * r["seconds"] * decode) / (r["total"] * r["seconds"])
                for r in trials.values() if r["total"] > 0]
    cpu_pass = statistics.median(per_pass)
    return cpu_pass, cores / (decode + TARGET_PASSES * cpu_pass)


def fmt_lat(v):
    return "-" if v is None else f"{v * 1000:.0f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", type=Path, default=SHARED if SHARED.exists() else CLIP)
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each fleet trial")
    ap.add_argument("--lead", type=int, default=11, help="frames fed before each labelled one")
    ap.add_argument("--max-cameras", type=int, default=24)
    args = ap.parse_args()
    started = time.monotonic()
    print(f"video: {args.video}  (labels counted on the original vtest.avi; "
          f"simulated cameras play {CLIP})")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          "(shared machine: other engineers' jobs may run at the same time)")
    from crowd.detect import Detector
    from crowd.worker import plan_of
    plan = plan_of(demo_spec())
    det = {p: Detector(models.load_engine("openvino", p)) for p in ("fp32", "int8")}
    baseline = naive_model()

    # 1 and 2: accuracy and every-frame speed, interleaved.
    labels, frames = labelled_frames(args.video, ((args.lead, 1), (5, 5)))
    r = run_counting(labels, frames, args.lead,
                     {"fp32": {"detector": det["fp32"]}, "int8": {"detector": det["int8"]}},
                     plan, baseline=baseline)
    b = r["b"]
    keep_int8 = b["int8"]["mae"] <= b["fp32"]["mae"] + INT8_TOLERANCE
    chosen = "int8" if keep_int8 else "fp32"
    sparse = run_counting(labels, frames, args.lead,
                          {"2/s": {"detector": det[chosen], "stride": 5, "lead": 5}}, plan)
    print(f"\n{'frame':>5} {'hand':>4} {'naive':>5} {'fp32':>5} {'int8':>5} "
          f"{chosen + '@2/s':>8}")
    for f, vals in sorted(r["rows"].items()):
        print(f"{f:>5} {vals[0]:>4} {vals[1]:>5} {vals[2]:>5} {vals[3]:>5} "
              f"{sparse['rows'][f][1]:>8}")
    print("\n1. Every frame, one camera (fps = frames handled per second; detector on each):")
    print(f"   {'':44} {'fps':>6} {'vs naive':>8} {'error':>6}")
    print(f"   {'naive YOLO(.pt).predict, PyTorch 640 px':44} {r['a_fps']:>6.2f} "
          f"{1.0:>8.2f} {r['a_mae']:>6.2f}")
    for name in ("fp32", "int8"):
        print(f"   {'ours, ' + name.upper() + ' person IR, 2x3 tiles, every frame':44} "
              f"{b[name]['fps']:>6.2f} {b[name]['fps'] / r['a_fps']:>8.2f} "
              f"{b[name]['mae']:>6.2f}   ({b[name]['tiles_run']}/{b[name]['tiles_all']} "
              "tiles run)")
    print(f"   INT8 vs FP32: error {b['int8']['mae'] - b['fp32']['mae']:+.2f} "
          f"(tolerance {INT8_TOLERANCE}), speed x{b['int8']['fps'] / b['fp32']['fps']:.2f}"
          f" -> decision: {'keep INT8' if keep_int8 else 'use FP32'} "
          f"(CROWD_DETECTOR_PRECISION={chosen})")
    err2 = sparse["b"]["2/s"]["mae"]
    print(f"2. Error with the detector at 2 passes/s (every 5th frame, {chosen.upper()}): "
          f"{err2:.2f} people/frame")

    # 3: cameras per box, ours and naive trials alternating.
    print(f"\n3. Cameras per box ({args.seconds:.0f} s trials; a camera is served at "
          f">= {TARGET_PASSES:.0f} detector passes/s):")
    detector = det[chosen]
    ours_start = max(1, int(b[chosen]["passes_per_s"] * 0.9 / TARGET_PASSES))
    naive_start = max(1, int(r["a_fps"] / TARGET_PASSES))
    ours_state = {"n": ours_start, "best": 0, "tried": {}, "retried": set(), "done": False}
    naive_state = {"n": naive_start, "best": 0, "tried": {}, "retried": set(), "done": False}

    def advance(state, trial, label):
        n = state["n"]
        res = trial(n)
        if res["min"] < TARGET_PASSES and n not in state["retried"]:
            # Other jobs share this machine: a failed N gets a second try (both sides).
            state["retried"].add(n)
            print(f"   {label:5} N={n:>2}: slowest camera {res['min']:.2f} passes/s "
                  f"(box total {res['total']:.2f}/s): once more", flush=True)
            again = trial(n)
            res = again if again["min"] > res["min"] else res
        state["tried"][n] = res
        line = (f"   {label:5} N={n:>2}: slowest camera {res['min']:.2f} passes/s, median "
                f"{statistics.median(res['per_cam']):.2f}, box total {res['total']:.2f}/s")
        if "dropped" in res:
            line += f", frames skipped (newest kept) {res['dropped']}"
        if "threads" in res:
            line += f", torch threads {res['threads']} each"
        line += f"; CPU {res['cpu'] / res['seconds']:.2f} cores"
        print(line, flush=True)
        if res["min"] >= TARGET_PASSES:
            state["best"] = max(state["best"], n)
            nxt = n + 1
        else:
            nxt = n - 1
        if nxt < 1 or nxt > args.max_cameras or nxt in state["tried"]:
            state["done"] = True
        state["n"] = nxt

    while not (ours_state["done"] and naive_state["done"]):
        if not ours_state["done"]:
            advance(ours_state, lambda n: ours_trial(detector, CLIP, n, args.seconds), "ours")
        if not naive_state["done"]:
            advance(naive_state, lambda n: naive_trial(CLIP, n, args.seconds), "naive")
    ours_n = ours_state["best"] if err2 <= TARGET_ERROR else 0
    naive_n = naive_state["best"]
    ratio = ours_n / naive_n if naive_n else float("inf")
    print(f"   cameras served: ours {ours_n} (error {err2:.2f} at 2 passes/s), naive {naive_n} "
          f"(error {r['a_mae']:.2f}) -> x{ratio:.2f}")
    cores = os.cpu_count() or 2
    decode = decode_cost(CLIP)
    ours_pass, ours_cap = capacity(ours_state["tried"], decode, cores)
    naive_pass, naive_cap = capacity(naive_state["tried"], decode, cores)
    cap_ratio = ours_cap / naive_cap
    print(f"   from CPU time (robust to other jobs): capture {decode * 1000:.0f} ms/s per camera; "
          f"CPU per detector pass ours {ours_pass * 1000:.0f} ms, naive {naive_pass * 1000:.0f} "
          f"ms -> a quiet {cores}-core box serves ours {ours_cap:.1f}, naive {naive_cap:.1f} "
          f"cameras (x{cap_ratio:.2f})")
    if ours_state["best"]:
        lat = ours_state["tried"][ours_state["best"]]["latency"]
        print(f"   latency at N={ours_state['best']} (ours): frame -> counts p50 "
              f"{fmt_lat(lat['counted'][0])}, p99 {fmt_lat(lat['counted'][1])}; "
              f"frame -> observation handed to the poster p50 {fmt_lat(lat['handed'][0])}, "
              f"p99 {fmt_lat(lat['handed'][1])} ({lat['handed'][2]} reports; once a second "
              f"per camera); -> poster returned p99 {fmt_lat(lat['posted'][1])} (in-memory "
              "poster here; MQTT publish time lands here)")

    print("\nSummary")
    print(f"   {'':38} {'naive':>8} {'ours':>8} {'ratio':>6}  target")
    print(f"   {'every-frame fps (' + chosen.upper() + ')':38} {r['a_fps']:>8.2f} "
          f"{b[chosen]['fps']:>8.2f} {b[chosen]['fps'] / r['a_fps']:>6.2f}  >= 1.0")
    print(f"   {'error, every frame (people/frame)':38} {r['a_mae']:>8.2f} "
          f"{b[chosen]['mae']:>8.2f} {'':>6}  <= 0.5")
    print(f"   {'cameras per box at >= 2 passes/s':38} {naive_n:>8} {ours_n:>8} "
          f"{ratio:>6.2f}  >= 2.0")
    print(f"   {'  the same from CPU time (quiet box)':38} {naive_cap:>8.1f} {ours_cap:>8.1f} "
          f"{cap_ratio:>6.2f}")
    print(f"\nbench took {time.monotonic() - started:.0f} s; load average after: "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
