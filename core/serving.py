"""Kinds of work and the pools of processes that serve them (docs/operations.md).

- ``web``: pages, gate scans, bookings, JSON APIs: short requests (gunicorn, several
  processes with threads). Every route is ``web`` unless it says otherwise.
- ``live``: long-lived connections (Server-Sent Events, MJPEG): a pool of its own with a
  bounded number of open streams per process (``LIVE_MAX_STREAMS``; one more gets 503).
- ``inference``: requests that run a model (speech recognition, speech synthesis, the
  guide's retrieval): its threads only wait while the work runs in a bounded pool of
  niced worker processes (``core.inference``).

A view says its kind with ``@pool("live")`` (or ``"inference"``, or ``"any"`` for health
checks) under its route decorator. A process knows its own kind (``SERVE_KIND``, set by the
process that starts it); one of another kind answers a route that is not its own with
421 ``wrong_pool``, so isolation never rests only on the front's routing. ``all`` (the
default: tests, ``flask run``) serves every route in one process.

This module is also the one place where a finished request's route and status are known:
``on_request_done(app, hook)`` registers ``hook(RequestDone)`` (for metrics).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from flask import current_app, g, request

from .errors import DomainError
from .text import _l

KINDS = ("web", "live", "inference")
PROCESS_KINDS = ("all",) + KINDS
log = logging.getLogger("scenic.serving")


def pool(kind: str):
    """Mark a view as belonging to a pool: ``live``, ``inference`` or ``any``."""
    if kind not in KINDS + ("any",):
        raise ValueError(f"unknown kind of work {kind!r}")

    def mark(view):
        view.serve_kind = kind
        return view
    return mark


def kind_of(view) -> str:
    return getattr(view, "serve_kind", "web")


class WrongPool(DomainError):
    def __init__(self, route_kind: str, process_kind: str):
        super().__init__("wrong_pool", _l("This address is served by another part of the "
                                          "site; the front did not route it there."), 421,
                         details={"route": route_kind, "process": process_kind})


class Busy(DomainError):
    """A bounded queue or pool is full: 503 with Retry-After, never a wait."""

    def __init__(self, code: str, message, retry_after: int):
        super().__init__(code, message, 503, details={"retry_after_s": retry_after})
        self.retry_after = retry_after


def routes_by_kind(app) -> dict[str, list]:
    """The app's URL rules grouped by the kind of their view (for the front's routing)."""
    out: dict[str, list] = {k: [] for k in KINDS + ("any",)}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        out[kind_of(view)].append(rule)
    return out


# --- bounded live streams ----------------------------------------------------------------

def stream_slot(message=None):
    """Take one of this process's ``LIVE_MAX_STREAMS`` stream slots or raise Busy (503).
    Returns a release function (call it once, when the response closes)."""
    app = current_app._get_current_object()
    with _setup_lock:
        sem = app.extensions.get("scenic.stream_slots")
        if sem is None:
            sem = app.extensions["scenic.stream_slots"] = _Slots(app.config["LIVE_MAX_STREAMS"])
    if not sem.take():
        raise Busy("too_many_streams", message or _l("Too many live views are open."), 10)
    done = threading.Event()

    def release():
        if not done.is_set():
            done.set()
            sem.give()
    return release


class _Slots:
    """A counting bound whose use can be read (open streams, for metrics)."""

    def __init__(self, size: int):
        self.size, self.used = size, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.size:
                return False
            self.used += 1
            return True

    def give(self) -> None:
        with self._lock:
            self.used = max(0, self.used - 1)


_setup_lock = threading.Lock()


def open_streams(app) -> int:
    sem = app.extensions.get("scenic.stream_slots")
    return sem.used if sem else 0


# --- the request seam ------------------------------------------------------------------

@dataclass(frozen=True)
class RequestDone:
    kind: str            # the route's kind of work
    rule: str | None     # the URL rule ("/api/gate/scan"), None for no route (404)
    endpoint: str | None
    method: str
    status: int
    seconds: float


def on_request_done(app, hook) -> None:
    """Call ``hook(RequestDone)`` after every request of ``app`` (metrics go here)."""
    app.extensions.setdefault("scenic.request_hooks", []).append(hook)


def init_app(app) -> None:
    app.extensions.setdefault("scenic.request_hooks", [])
    own = app.config["SERVE_KIND"]

    @app.before_request
    def _guard():
        g.serve_started = time.perf_counter()
        if own == "all" or request.endpoint is None:
            return
        kind = kind_of(app.view_functions.get(request.endpoint))
        if kind not in (own, "any"):
            log.warning("misrouted request", extra={"event": "wrong_pool", "path": request.path,
                                                   "code": f"{kind}->{own}"})
            raise WrongPool(kind, own)

    @app.after_request
    def _done(response):
        hooks = app.extensions["scenic.request_hooks"]
        if hooks:
            rule = request.url_rule
            done = RequestDone(kind_of(app.view_functions.get(request.endpoint)),
                               rule.rule if rule else None, request.endpoint, request.method,
                               response.status_code,
                               time.perf_counter() - g.get("serve_started", time.perf_counter()))
            for hook in hooks:
                hook(done)
        return response
