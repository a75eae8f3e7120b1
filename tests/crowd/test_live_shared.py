"""Live views with more than one process: frames posted to one process are streamed by
another, kept in memory (tmpfs) only, bounded; the dashboard state is computed once per
tick however many streams a process holds."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from app import create_app
from crowd.live import LiveFrames, frames_of, live_dir
from crowd.stream import StateFeed

ROOT = Path(__file__).resolve().parents[2]


def test_a_frame_posted_in_one_process_is_read_in_another(tmp_path):
    store = LiveFrames(tmp_path / "live")
    waiter = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from crowd.live import LiveFrames;"
         f"s = LiveFrames({str(tmp_path / 'live')!r});"
         "item = s.wait_newer('cam-a', 0, timeout=20);"
         "sys.stdout.buffer.write(item[1] if item else b'none')"],
        cwd=ROOT, stdout=subprocess.PIPE)
    time.sleep(1.0)
    store.put("cam-a", b"\xff\xd8 first frame \xff\xd9")
    out, _ = waiter.communicate(timeout=30)
    assert out == b"\xff\xd8 first frame \xff\xd9"


def test_frames_are_bounded_expire_and_live_in_memory(tmp_path):
    now = [1000.0]
    store = LiveFrames(tmp_path / "live", max_cameras=3, max_age=10, wall=lambda: now[0])
    for i in range(5):
        store.put(f"cam-{i}", b"jpeg%d" % i)
        time.sleep(0.01)
    assert len(list((tmp_path / "live").glob("*.jpg"))) == 3
    assert store.latest("cam-0") is None and store.latest("cam-4")[1] == b"jpeg4"
    now[0] += 11
    assert store.latest("cam-4") is None                   # too old to be served
    default = create_app({"ENV": "testing"}, instance_path=str(tmp_path / "inst"))
    assert str(live_dir(default)).startswith("/dev/shm/")  # memory, not disk
    frames_of(default).put("cam-x", b"x")
    assert frames_of(default).latest("cam-x")[1] == b"x"
    frames_of(default).clear()                             # what ./run.sh does at the end
    assert frames_of(default).latest("cam-x") is None and not live_dir(default).exists()


def test_thirty_streams_share_one_computation_per_tick():
    calls = []

    def compute():
        calls.append(time.monotonic())
        return {"at": time.time(), "people": len(calls) // 3}   # changes every third tick
    feed = StateFeed(compute, interval=0.1, idle_stop=0.5)
    received = [[] for _ in range(30)]

    def watch(i):
        for event in feed.events(max_seconds=1.2):
            received[i].append(event)
    threads = [threading.Thread(target=watch, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 8 <= feed.computed <= 16                      # ~12 ticks, not 30 x 12
    states = [[e for e in r if e.startswith("event: state")] for r in received]
    assert all(len(s) >= 3 for s in states)              # every stream saw the changes
    assert all(r[-1] == "event: bye\ndata: {}\n\n" for r in received)
    time.sleep(1.0)
    assert feed._thread is None                          # no stream left: the feed stops
