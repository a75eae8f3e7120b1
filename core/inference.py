"""A bounded pool for model work: speech recognition, speech synthesis, retrieval.

At most ``INFERENCE_PROCESSES + INFERENCE_QUEUE`` jobs are admitted at once; one more is
refused at once with 503 ``busy`` and ``Retry-After`` (never a wait that holds a thread).

In the inference pool's process (``SERVE_KIND=inference``) a job runs in one of
``INFERENCE_PROCESSES`` worker processes, niced (``INFERENCE_NICE``) and under SCHED_IDLE
(``INFERENCE_IDLE``) so gate scans and bookings get the CPU first, each keeping its models
loaded between jobs; the request's thread only waits for the answer. The workers are started
by ``start(app)`` from the server's worker hook (deploy/gunicorn.conf.py), never by
``create_app``. In every other process kind (``all``: tests and development) a job runs in
the calling thread, under the same bound.

A job is a top-level function (pickled by reference) that takes plain values and opens
its own database connection; errors it raises come back as they were raised.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from prometheus_client import Counter, Gauge

from .serving import Busy
from .text import _l

log = logging.getLogger("scenic.inference")
# Written by the inference pool's process, read by any scrape (core.metrics).
JOBS_ADMITTED = Gauge("scenic_inference_jobs", "Model jobs admitted now (running + waiting)",
                      multiprocess_mode="livesum")
JOBS_CAPACITY = Gauge("scenic_inference_capacity", "Model jobs that may be admitted at once "
                      "(INFERENCE_PROCESSES + INFERENCE_QUEUE)", multiprocess_mode="livemax")
JOBS_REFUSED = Counter("scenic_inference_refused", "Model jobs answered 503: queue full "
                       "(busy), too slow (timeout) or a worker died (broken)", ["reason"])
BUSY = _l("The server is busy; try again in a moment.")


class InferencePool:
    def __init__(self, *, processes: int, queue: int, nice: int, timeout: float,
                 in_processes: bool, warm=(), idle: bool = False):
        self.processes, self.capacity = processes, processes + queue
        self.nice, self.timeout, self.in_processes = nice, timeout, in_processes
        self.idle = idle                  # SCHED_IDLE in the worker processes
        self.warm = list(warm)            # (fn, args) run once in each new worker set
        self.admitted = 0                 # running + waiting now
        self.refused = 0                  # jobs refused with 503 since start
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        JOBS_CAPACITY.set(self.capacity)

    def depth(self) -> dict:
        """What is queued now (for metrics and health)."""
        with self._lock:
            return {"admitted": self.admitted, "capacity": self.capacity,
                    "processes": self.processes if self.in_processes else 0,
                    "refused": self.refused}

    def run(self, fn, *args, busy=None, **kwargs):
        """``fn(*args, **kwargs)`` within the bound, in a worker process when there are any;
        ``busy`` is the message of the 503 when the queue is full."""
        busy = busy or BUSY
        with self._lock:
            if self.admitted >= self.capacity:
                self.refused += 1
                JOBS_REFUSED.labels("busy").inc()
                raise Busy("busy", busy, retry_after=5)
            self.admitted += 1
            JOBS_ADMITTED.inc()
        try:
            if not self.in_processes:
                return fn(*args, **kwargs)
            future = self._ensure().submit(fn, *args, **kwargs)
            try:
                return future.result(timeout=self.timeout)
            except FutureTimeout:
                future.cancel()
                log.warning("model job timed out", extra={"event": "inference_timeout"})
                JOBS_REFUSED.labels("timeout").inc()
                raise Busy("busy", busy, retry_after=10) from None
            except BrokenProcessPool:
                # A worker died (killed, out of memory): start a fresh set for the next job.
                log.error("a model worker died; restarting them",
                          extra={"event": "inference_broken"})
                JOBS_REFUSED.labels("broken").inc()
                self._reset()
                raise Busy("busy", busy, retry_after=5) from None
        finally:
            with self._lock:
                self.admitted -= 1
                JOBS_ADMITTED.dec()

    def start(self) -> None:
        """Start the worker processes and load their models now, not on the first job."""
        if self.in_processes:
            self._ensure()

    def _ensure(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                ctx = multiprocessing.get_context("spawn")  # no inherited threads or locks
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=ctx, initializer=_child_init,
                    initargs=(self.nice, os.getpid(), self.idle))
                # Submitting one job per worker spawns them all now, from this thread.
                for _ in range(self.processes):
                    for fn, args in self.warm or [(_noop, ())]:
                        self._executor.submit(fn, *args)
            return self._executor

    def _reset(self) -> None:
        with self._lock:
            old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._reset()


def _noop() -> None:
    return None


def _child_init(nice: int, parent: int, idle: bool = False) -> None:
    import signal
    import time
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    if nice:
        os.nice(nice)
    if idle:
        sched_idle()

    def watch_parent():
        # A pool's queue pipe never reports a dead parent; leave with it (kill -9 too).
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)
    threading.Thread(target=watch_parent, daemon=True, name="parent-watch").start()


def sched_idle() -> bool:
    """Put this process (all its threads to come) under SCHED_IDLE: the kernel runs it only
    on a core nothing else wants, so a gate scan never waits behind a model. Linux only;
    False where the platform refuses (the niceness still applies)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return True
    except (AttributeError, OSError):
        log.warning("SCHED_IDLE is not available; model workers run niced only",
                    extra={"event": "inference_sched_idle_unavailable"})
        return False


def pool_of(app) -> InferencePool:
    """The app's pool, made on first use from the INFERENCE_* settings."""
    pool = app.extensions.get("scenic.inference")
    if pool is None:
        cfg = app.config
        made = InferencePool(processes=cfg["INFERENCE_PROCESSES"], queue=cfg["INFERENCE_QUEUE"],
                             nice=cfg["INFERENCE_NICE"], timeout=cfg["INFERENCE_TIMEOUT"],
                             in_processes=cfg["SERVE_KIND"] == "inference",
                             idle=cfg["INFERENCE_IDLE"],
                             warm=app.extensions.get("scenic.inference_warm", ()))
        pool = app.extensions.setdefault("scenic.inference", made)
    return pool


def run(app, fn, *args, **kwargs):
    """Run a model job of ``app`` within the bound (see the module's docstring)."""
    return pool_of(app).run(fn, *args, **kwargs)


def on_start(app, fn, *args) -> None:
    """Register ``fn(*args)`` to run in each model worker when it starts (load models)."""
    app.extensions.setdefault("scenic.inference_warm", []).append((fn, args))


def start(app) -> None:
    pool_of(app).start()
