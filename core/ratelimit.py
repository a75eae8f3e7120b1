"""Rate limits for every server process: Flask-Limiter over the ``limits`` library.

Request limits are Flask-Limiter decorators on views (``limiter.shared_limit(setting(NAME),
scope=...)``), keyed by the client's address (after the trusted proxy, see
core.web.TrustedProxy). Domain limits keyed by other things (a document, an order, a slot)
go through ``Limits.enforce(rules)``, which uses the same strategy and storage. The storage
comes from ``RATELIMIT_STORAGE_URI``: by default a SQLite file of its own under the instance
folder (core.limits_sqlite), shared by every process; ``redis://host:6379`` for larger
sites. The strategy is the moving window: exact counts, no double burst at a window's edge.

A refusal is ``RateLimited``: HTTP 429, a stable code, a message that says when to try again,
``details.retry_after_s`` and a ``Retry-After`` header (core.web).
"""
from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many
from limits.strategies import MovingWindowRateLimiter

from . import limits_sqlite  # noqa: F401  (registers the sqlite:// storage scheme)
from .clock import get_clock
from .errors import DomainError
from .text import _l

STRATEGY = "moving-window"
TOO_MANY_REQUESTS = _l("Too many requests from this address.")


def client_key() -> str:
    """The client's address (as the trusted proxy reports it), keyed-hashed: limiter
    storage never holds addresses in the clear."""
    addr = request.remote_addr or "?"
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), addr.encode(), hashlib.sha256)
    return "c" + digest.hexdigest()[:24]


limiter = Limiter(key_func=client_key, strategy=STRATEGY, headers_enabled=False,
                  key_prefix="scenic")


def setting(name: str):
    """A limit value read from the setting ``name`` at request time ("10/minute;60/hour")."""
    return lambda: current_app.config[name]


def _wait(seconds: int):
    if seconds < 120:
        return _l("%(n)s seconds", n=seconds)
    if seconds < 2 * 3600:
        return _l("%(n)s minutes", n=math.ceil(seconds / 60))
    return _l("%(n)s hours", n=math.ceil(seconds / 3600))


class RateLimited(DomainError):
    """429 with a code, a reason (a lazy text) and when to retry (``details.retry_after_s``,
    and in the message: "… Try again in 23 minutes.")."""
    status = 429

    def __init__(self, code: str, message, retry_after_s: int):
        retry = max(1, int(retry_after_s))
        super().__init__(code, _l("%(reason)s Try again in %(wait)s.", reason=message,
                                  wait=_wait(retry)), 429, details={"retry_after_s": retry})


@dataclass(frozen=True)
class Rule:
    """One domain limit: ``limit`` ("3/day") on the key ``keys``, costing ``cost``; refused
    with ``code`` and ``message`` (a lazy text, ``_l(...)``)."""
    code: str
    limit: str
    keys: tuple
    message: object
    cost: int = 1        # 0: only check that the limit is not reached, count nothing


class Limits:
    """The app's rate-limit strategy and storage, for limits keyed by domain values."""

    def __init__(self, strategy, now):
        self.strategy = strategy
        self.now = now          # seconds since the epoch, from the app's clock

    def retry_after(self, item, keys) -> int:
        reset = self.strategy.get_window_stats(item, *keys).reset_time
        return max(1, math.ceil(reset - self.now()))

    def refusal(self, rules: list[Rule]) -> tuple[Rule, int] | None:
        """The first rule that would be exceeded (and seconds until it would not), or None."""
        for rule in rules:
            for item in parse_many(rule.limit):
                if not self.strategy.test(item, *rule.keys, cost=max(rule.cost, 1)):
                    return rule, self.retry_after(item, rule.keys)
        return None

    def acquire(self, rules: list[Rule]) -> tuple[Rule, int] | None:
        """Count every rule, or none of them and return the first that would be exceeded
        (with seconds until it would not). On the SQLite storage this is one transaction;
        on others a test then a count, exact to within the requests in flight."""
        flat = [(rule, item) for rule in rules for item in parse_many(rule.limit)]
        acquire_entries = getattr(self.strategy.storage, "acquire_entries", None)
        if acquire_entries is not None and isinstance(self.strategy, MovingWindowRateLimiter):
            failed = acquire_entries([(item.key_for(*rule.keys), item.amount, item.get_expiry(),
                                       rule.cost) for rule, item in flat])
            if failed is None:
                return None
            rule, item = flat[failed]
            return rule, self.retry_after(item, rule.keys)
        refused = self.refusal(rules)
        if refused:
            return refused
        for rule, item in flat:
            if rule.cost:
                self.strategy.hit(item, *rule.keys, cost=rule.cost)
        return None

    def enforce(self, rules: list[Rule]) -> None:
        """Count every rule, or refuse with the first that would be exceeded."""
        refused = self.acquire(rules)
        if refused:
            rule, retry = refused
            raise RateLimited(rule.code, rule.message, retry)

    def count(self, rule: Rule) -> None:
        """Count a rule without testing it first (failures that lead to a lock-out)."""
        for item in parse_many(rule.limit):
            self.strategy.hit(item, *rule.keys, cost=rule.cost)

    def clear(self, rule: Rule) -> None:
        for item in parse_many(rule.limit):
            self.strategy.clear(item, *rule.keys)


def request_rules(setting_name: str, scope: str) -> list[Rule]:
    """A request limit from a setting ("10/minute;200/day") as rules on this client, to count
    in one ``Limits.enforce`` with a view's other limits (refused as ``rate_limited``)."""
    return [Rule("rate_limited", current_app.config[setting_name], (scope, client_key()),
                 TOO_MANY_REQUESTS)]


def limits() -> Limits:
    """The current app's Limits, on its clock."""
    clock = get_clock()
    return Limits(limiter.limiter, lambda: clock.now().timestamp())


def request_refusal(exc: RateLimitExceeded) -> RateLimited:
    """A Flask-Limiter refusal as our 429, with the time until the limit frees a place."""
    current = limiter.current_limit
    retry = 60
    if current is not None:
        retry = math.ceil(current.window.reset_time - get_clock().now().timestamp())
    return RateLimited("rate_limited", TOO_MANY_REQUESTS, retry)


class PenaltyBox:
    """WSGI middleware: once a request limit refuses a client on an endpoint, this process
    answers that client's next requests there with the same 429 at once, before Flask and the
    limit storage, until its retry time. A script that ignores Retry-After then costs the
    server next to nothing. Per process (another process learns on its own first refusal);
    at most ``size`` clients are remembered, the oldest forgotten first."""

    def __init__(self, app, size: int = 10_000):
        import threading
        from collections import OrderedDict
        self.app = app
        self.wrapped = app.wsgi_app
        self.size = size
        self.boxed = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def key(environ) -> tuple:
        # The query and Accept-Language are part of the key: the replayed answer is in the
        # language the client asked for.
        return (environ.get("REMOTE_ADDR"), environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"), environ.get("QUERY_STRING", ""),
                environ.get("HTTP_ACCEPT_LANGUAGE", ""))

    def block(self, key: tuple, until: float, status: int, body: bytes, content_type: str):
        with self.lock:
            self.boxed.pop(key, None)
            self.boxed[key] = (until, status, body, content_type)
            while len(self.boxed) > self.size:
                self.boxed.popitem(last=False)

    def __call__(self, environ, start_response):
        key = self.key(environ)
        entry = self.boxed.get(key)
        if entry is not None:
            until, status, body, content_type = entry
            wait = math.ceil(until - self.app.extensions["scenic.clock"].now().timestamp())
            if wait > 0:
                start_response(f"{status} TOO MANY REQUESTS", [
                    ("Content-Type", content_type), ("Content-Length", str(len(body))),
                    ("Retry-After", str(wait))])
                return [body]
            with self.lock:
                self.boxed.pop(key, None)
        return self.wrapped(environ, start_response)


def box_refusal(response, retry_after_s: int) -> None:
    """Remember a JSON request-limit refusal in the process's PenaltyBox (pages are not
    replayed: an HTML page carries its session's CSRF token, which must not reach another
    visitor behind the same address)."""
    box = current_app.extensions.get("scenic.penalty_box")
    if box is not None and response.mimetype == "application/json":
        until = get_clock().now().timestamp() + retry_after_s
        box.block(PenaltyBox.key(request.environ), until, response.status_code,
                  response.get_data(), response.content_type)


def init_app(app) -> None:
    """Point the limiter at the configured storage (default: <instance>/ratelimit.db) on the
    app's clock. Opens nothing: the storage connects on first use."""
    uri = app.config["RATELIMIT_STORAGE_URI"] or f"sqlite:///{app.instance_path}/ratelimit.db"
    options = {}
    if uri.startswith("sqlite://"):
        clock = app.extensions["scenic.clock"]
        options = {"clock": lambda: clock.now().timestamp(),
                   "busy_timeout_ms": app.config["DB_BUSY_TIMEOUT_MS"]}
    app.config.update(RATELIMIT_STORAGE_URI=uri, RATELIMIT_STORAGE_OPTIONS=options,
                      RATELIMIT_HEADERS_ENABLED=False)
    limiter._storage_options = {}  # one process may build several apps (tests): no carry-over
    limiter.init_app(app)
