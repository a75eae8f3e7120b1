"""Prometheus metrics: ``GET /metrics``, the request counters, and the seams domains use.

Built on prometheus_client (the Prometheus project's own Python client) in its
multiprocess mode: every process of every pool writes its counters, histograms and live
gauges to memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` (one folder per run, made
empty by scripts/serve.py before the pools start; a gunicorn ``child_exit`` hook drops the
live gauges of a worker that exits), and a scrape reads the whole folder, so whichever
process answers ``/metrics`` reports the site, not itself. Without that variable (tests,
``flask run``) the values live in the process, as the library does by default.

Gauges that are database state (people inside, camera status, alert levels) are not
pushed from anywhere: each domain registers ``collect(db, clock, config)`` with
``on_scrape`` from its plug-in, and the scrape calls it (so they are as fresh as the
database and cost nothing between scrapes).

Labels are bounded: a request is counted under its URL rule (``/api/gate/scan``,
``/tickets/orders/<number>/<secret>``), never its raw path; a path no rule matches is
``<unmatched>``; unknown methods are ``other``. Domains bound theirs with ``bounded``.

Who may read it (docs/operations.md#metrics): a request straight from the loopback (no
proxy's forwarding header: anything through nginx has one), or one with
``Authorization: Bearer <METRICS_TOKEN>``. A wrong token is a 401 even from the loopback.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import (REGISTRY, CollectorRegistry, Counter, Histogram,
                               disable_created_metrics, generate_latest)
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily

from . import backup as backups
from .clock import get_clock
from .db import get_db
from .errors import Unauthorized
from .serving import RequestDone, on_request_done, pool
from .text import _l
from .web import FORWARDING_HEADERS

log = logging.getLogger("scenic.metrics")
disable_created_metrics()   # no *_created series (multiprocess mode has none either)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
UNMATCHED = "<unmatched>"
# Seconds: a gate scan's target is 50 ms at p99; a voice question takes tens of seconds.
LATENCY_BUCKETS = (.005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter("scenic_http_requests", "Requests answered, by URL rule, method "
                        "and status", ["route", "method", "status"])
HTTP_SECONDS = Histogram("scenic_http_request_duration_seconds", "Time to answer a request "
                         "(to its first byte for streams), by URL rule", ["route"],
                         buckets=LATENCY_BUCKETS)


def bounded(value, allowed, other: str = "other") -> str:
    """``value`` as a label if it is one of ``allowed``, else ``other``: a label a client
    can choose must never make a new series per value."""
    return value if value in allowed else other


def _count_request(done: RequestDone) -> None:
    route = done.rule or UNMATCHED
    HTTP_REQUESTS.labels(route, bounded(done.method, METHODS), str(done.status)).inc()
    HTTP_SECONDS.labels(route).observe(done.seconds)


def on_scrape(app, collect) -> None:
    """Call ``collect(db, clock, config)`` at each scrape of ``app``; it yields metric
    families (``prometheus_client.core.GaugeMetricFamily`` ...) read from the database."""
    app.extensions.setdefault("scenic.metric_collectors", []).append(collect)


def _backup_age(db, clock, config):
    last = GaugeMetricFamily("scenic_backup_last_timestamp_seconds", "When the newest backup "
                             "in BACKUP_DIR was written (Unix time; absent: none yet)")
    path = backups.newest(config["BACKUP_DIR"])
    try:
        if path is not None:
            last.add_metric([], path.stat().st_mtime)
    except FileNotFoundError:
        pass                    # pruned between the listing and now: the next scrape sees it
    yield last


def init_app(app) -> None:
    app.extensions.setdefault("scenic.metric_collectors", [])
    on_request_done(app, _count_request)
    on_scrape(app, _backup_age)


# --- the scrape ------------------------------------------------------------------------

def multiproc_dir() -> Path | None:
    path = os.environ.get(MULTIPROC_ENV)
    return Path(path) if path else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(path: Path) -> int:
    """Drop the live gauges of processes that are gone without the ``child_exit`` hook
    (a pool killed -9, a model worker that died): their last values would stay forever."""
    pids = {f.stem.rsplit("_", 1)[-1] for f in path.glob("gauge_live*_*.db")}
    dead = [int(pid) for pid in pids if pid.isdigit() and not _alive(int(pid))]
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(path))
    return len(dead)


class _InProcess:
    """This process's own metrics (no multiprocess folder: tests, ``flask run``)."""

    def collect(self):
        return REGISTRY.collect()


class _ScrapeTime:
    """The domains' ``on_scrape`` collectors, run on the scrape's database connection."""

    def __init__(self, app, db, clock):
        self.app, self.db, self.clock = app, db, clock

    def collect(self):
        up = GaugeMetricFamily("scenic_metrics_collector_up", "1 if a domain's scrape-time "
                               "collector answered, 0 if it failed (logged)", labels=["collector"])
        for collect in self.app.extensions.get("scenic.metric_collectors", []):
            name = f"{collect.__module__}.{collect.__name__}"
            try:
                families = list(collect(self.db, self.clock, self.app.config))
            except Exception:  # one broken collector must not hide every other metric
                log.exception("metrics collector failed", extra={"event": "metrics_failed",
                                                                 "code": name})
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def exposition(app, db, clock) -> bytes:
    """The whole site's metrics in Prometheus' text format."""
    registry = CollectorRegistry()
    path = multiproc_dir()
    if path is not None:
        forget_dead_processes(path)
        multiprocess.MultiProcessCollector(registry, str(path))
    else:
        registry.register(_InProcess())
    registry.register(_ScrapeTime(app, db, clock))
    return generate_latest(registry)


# --- who may read it -------------------------------------------------------------------

def _straight_from_loopback() -> bool:
    environ = request.environ
    if environ.get("scenic.forwarded") or any(
            h in environ for h in FORWARDING_HEADERS + ("HTTP_X_REAL_IP",)):
        return False           # through a proxy (nginx): the peer's address says nothing
    try:
        addr = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return (mapped or addr).is_loopback


def check_access(token: str) -> None:
    """Let the scrape through, or raise: 401 for a missing or wrong token, 404 (as for any
    unknown address) from elsewhere when no token is configured."""
    given = request.headers.get("Authorization")
    if given is not None:
        scheme, _, value = given.partition(" ")
        if token and scheme.lower() == "bearer" and hmac.compare_digest(
                value.strip().encode(), token.encode()):
            return
        raise Unauthorized("metrics_token_invalid", _l("The metrics token is not valid."))
    if _straight_from_loopback():
        return
    if not token:
        abort(404)
    raise Unauthorized("metrics_token_required",
                       _l("Metrics are served to this machine only, or with a bearer token."))


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
@pool("web")    # any process would do (the scrape reads every process's files): the web pool
def metrics():
    try:
        check_access(current_app.config["METRICS_TOKEN"])
    except Unauthorized as exc:
        resp = jsonify(exc.to_json())
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return resp
    body = exposition(current_app, get_db(), get_clock())
    resp = Response(body, content_type="text/plain; version=0.0.4; charset=utf-8")
    resp.headers["Cache-Control"] = "no-store"
    return resp
