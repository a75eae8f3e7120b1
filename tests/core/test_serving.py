"""Kinds of work: a process refuses routes of another pool, the model pool is bounded and
answers 503 + Retry-After when full (in the calling thread and in real worker processes),
errors cross the process boundary, and the request seam sees route and status."""
from __future__ import annotations

import os
import threading
import time

import pytest

from app import create_app
from core import inference
from core.errors import ValidationError
from core.serving import Busy, on_request_done
from core.text import _l


def _app(tmp_path, kind, **config):
    return create_app({"ENV": "testing", "SERVE_KIND": kind, **config},
                      instance_path=str(tmp_path / "instance"))


@pytest.mark.parametrize("kind,path,status", [
    ("web", "/crowd/stream", 421), ("web", "/api/guide/ask", 421),
    ("live", "/api/gate/scan", 421), ("live", "/tickets", 421),
    ("inference", "/crowd/stream", 421), ("inference", "/", 421),
])
def test_a_pool_refuses_what_is_not_its_own(tmp_path, kind, path, status):
    client = _app(tmp_path, kind).test_client()
    method = client.post if path.startswith("/api/gate") or "ask" in path else client.get
    r = method(path, headers={"Accept": "application/json"})
    assert r.status_code == status and r.json["error"] == "wrong_pool"


@pytest.mark.parametrize("kind", ["web", "live", "inference"])
def test_every_pool_answers_its_health_check(app, tmp_path, kind):
    pool_app = _app(tmp_path, kind, DATABASE=app.config["DATABASE"])
    assert pool_app.test_client().get("/healthz").status_code == 200


def test_the_web_pool_serves_gates_pages_and_apis(app, tmp_path):
    client = _app(tmp_path, "web", DATABASE=app.config["DATABASE"]).test_client()
    assert client.post("/api/gate/scan", json={}).status_code == 401  # its own: auth runs
    assert client.get("/api/sites").status_code == 200


def test_behind_the_front_the_visitor_address_comes_from_it(tmp_path):
    app = _app(tmp_path, "web", TRUSTED_PROXY_HOPS=1)
    seen = {}

    @app.get("/__addr")
    def _addr():
        from flask import request
        seen["addr"] = request.remote_addr
        return "ok"
    # nginx appends the address it saw; whatever the client claimed before it is ignored.
    app.test_client().get("/__addr", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert seen["addr"] == "203.0.113.9"


def test_the_request_seam_sees_route_kind_and_status(client, app):
    done = []
    on_request_done(app, done.append)
    client.get("/api/sites/kongmiao")
    client.get("/api/sites/atlantis")
    assert [(d.rule, d.kind, d.status) for d in done] == [
        ("/api/sites/<site_id>", "web", 200), ("/api/sites/<site_id>", "web", 404)]


# --- the model pool ---------------------------------------------------------------------

def _slow(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _refuse() -> None:
    raise ValidationError("audio_silent", _l("We heard only silence."))


def _niceness() -> int:
    return os.nice(0)


def _scheduling() -> tuple[int, int]:
    return os.nice(0), os.sched_getscheduler(0)


def test_model_workers_give_way_to_every_other_process():
    """A model worker runs niced and under SCHED_IDLE: it gets a core only when no gate scan,
    booking or stream wants one (niceness alone still shares the CPU)."""
    pool = inference.InferencePool(processes=1, queue=0, nice=5, timeout=60, in_processes=True,
                                   idle=True)
    try:
        nice, policy = pool.run(_scheduling)
    finally:
        pool.shutdown()
    assert nice == os.nice(0) + 5 and policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) == os.SCHED_OTHER     # the server itself is untouched


def test_a_full_queue_is_refused_at_once_with_retry_after():
    pool = inference.InferencePool(processes=1, queue=1, nice=0, timeout=10,
                                   in_processes=False)
    threads = [threading.Thread(target=pool.run, args=(_slow, 0.5)) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    started = time.monotonic()
    with pytest.raises(Busy) as err:
        pool.run(_slow, 0)
    assert time.monotonic() - started < 0.05            # refused, not queued
    assert err.value.status == 503 and err.value.retry_after == 5
    assert pool.depth() == {"admitted": 2, "capacity": 2, "processes": 0, "refused": 1}
    for t in threads:
        t.join()
    assert pool.run(_slow, 0) == os.getpid()            # inline: the caller's process


def test_busy_is_a_503_with_a_retry_after_header(client, app):
    app.config["INFERENCE_PROCESSES"], app.config["INFERENCE_QUEUE"] = 1, 0
    pool = inference.pool_of(app)
    hold = threading.Thread(target=pool.run, args=(_slow, 0.6))
    hold.start()
    time.sleep(0.1)
    r = client.post("/api/guide/ask", json={"site": "kongmiao", "question": "hours?"})
    hold.join()
    assert r.status_code == 503 and r.json["error"] == "busy"
    assert r.headers["Retry-After"] == "5"


def test_worker_processes_run_jobs_niced_and_errors_come_back():
    pool = inference.InferencePool(processes=2, queue=2, nice=7, timeout=30, in_processes=True)
    try:
        pool.start()
        assert pool.run(_niceness) >= 7                 # gates get the CPU first
        pids = {pool.run(_slow, 0.01) for _ in range(4)}
        assert os.getpid() not in pids
        with pytest.raises(ValidationError) as err:     # a refusal crosses back whole
            pool.run(_refuse)
        assert err.value.code == "audio_silent" and str(err.value) == "We heard only silence."
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            _outcome(pool, _slow, 0.8))) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["busy", "busy", "ok", "ok", "ok", "ok"]
    finally:
        pool.shutdown()


def _outcome(pool, fn, *args) -> str:
    try:
        pool.run(fn, *args)
        return "ok"
    except Busy:
        return "busy"


def test_a_dead_worker_is_replaced():
    pool = inference.InferencePool(processes=1, queue=0, nice=0, timeout=30, in_processes=True)
    try:
        pid = pool.run(_slow, 0)
        with pytest.raises(Busy):
            pool.run(os.kill, pid, 9)                    # the worker dies mid-job
        assert pool.run(_slow, 0) != pid                 # a fresh one answers the next
    finally:
        pool.shutdown()
