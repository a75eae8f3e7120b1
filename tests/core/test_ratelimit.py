"""Rate limits: shared by every server process, bounded, keyed on the right address behind
a trusted proxy (and only then), and the login lock-out kept per account and per address."""
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from testkit import PASSWORD, csrf_of

from bench.serverkit import free_port, wait_up
from core.errors import ConfigError
from core.limits_sqlite import SQLiteStorage
from limits import parse
from limits.strategies import MovingWindowRateLimiter

ROOT = Path(__file__).resolve().parents[2]


def test_storage_stays_bounded_under_a_flood_of_keys(tmp_path):
    now = [1_000_000.0]
    storage = SQLiteStorage(f"sqlite:///{tmp_path}/rl.db", clock=lambda: now[0])
    limiter = MovingWindowRateLimiter(storage)
    item = parse("3/minute")
    for i in range(2000):                      # a flood of forged keys
        limiter.hit(item, f"k{i}")
    for _ in range(1000):                      # and one key hammered
        limiter.hit(item, "hot")
    assert storage.rows() == 2000 + 3          # at most ``limit`` entries per key
    now[0] += 61
    assert limiter.hit(item, "hot")            # the window moved on
    storage.sweep()
    assert storage.rows() == 1                 # expired entries of every key are gone


def test_moving_window_answers_when_a_place_frees(tmp_path):
    now = [500.0]
    storage = SQLiteStorage(f"sqlite:///{tmp_path}/rl.db", clock=lambda: now[0])
    limiter = MovingWindowRateLimiter(storage)
    item = parse("2/minute")
    assert limiter.hit(item, "a")
    now[0] += 20
    assert limiter.hit(item, "a") and not limiter.hit(item, "a")
    assert limiter.get_window_stats(item, "a").reset_time == pytest.approx(560.0)
    now[0] += 41                               # the first entry left the window
    assert limiter.hit(item, "a")


def _first_requests(path: str, n_threads: int, errors: list) -> None:
    """``n_threads`` threads of one process take their first count together."""
    storage = SQLiteStorage(f"sqlite:///{path}")
    start = threading.Barrier(n_threads)

    def one(k):
        start.wait()
        try:
            storage.acquire_entry(f"client-{k}", 100, 60)
        except sqlite3.Error as exc:
            errors.append(repr(exc))
    threads = [threading.Thread(target=one, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _first_requests_in_a_child(path, barrier, queue):
    barrier.wait()
    errors: list = []
    _first_requests(path, 4, errors)
    queue.put(errors)


def test_many_first_requests_on_a_new_limits_file_all_get_counted(tmp_path):
    """The first requests after a start, in several threads and processes at once, each open
    the new file: none may fail with "database is locked" (they did: a 500 on /api/pow)."""
    errors: list = []
    for i in range(40):                       # the race hit about one new file in ten
        _first_requests(str(tmp_path / f"threads-{i}.db"), 8, errors)
    ctx = multiprocessing.get_context("fork")
    for i in range(6):
        path, barrier, queue = str(tmp_path / f"procs-{i}.db"), ctx.Barrier(3), ctx.Queue()
        procs = [ctx.Process(target=_first_requests_in_a_child, args=(path, barrier, queue))
                 for _ in range(3)]
        for p in procs:
            p.start()
        for _ in procs:
            errors += queue.get(timeout=30)
        for p in procs:
            p.join(timeout=30)
        assert SQLiteStorage(f"sqlite:///{path}").rows() == 12
    assert errors == []


def test_limit_strings_are_checked_at_start_up(tmp_path):
    from app import create_app
    with pytest.raises(ConfigError, match="TICKETING_CLIENT_HOLDS"):
        create_app({"TICKETING_CLIENT_HOLDS": "lots"}, instance_path=str(tmp_path))
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        create_app({"RATELIMIT_STORAGE_URI": "ftp://x"}, instance_path=str(tmp_path))


def _serve(instance: Path, port: int):
    env = dict(os.environ, SCENIC_INSTANCE=str(instance), SCENIC_PORT=str(port),
               SCENIC_NO_WORKERS="1", SCENIC_POW_CHALLENGES_PER_CLIENT="4/minute",
               SCENIC_LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, "-m", "scripts.serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_two_server_processes_share_one_limit(tmp_path):
    """Started as run.sh starts the server (scripts.serve), twice on one instance: a client
    that spreads its requests over both still gets the limit once."""
    ports = [free_port(), free_port()]
    procs = [_serve(tmp_path / "instance", p) for p in ports]
    try:
        for p in ports:
            wait_up(p, timeout=120)
        urls = [f"http://127.0.0.1:{p}/api/pow/challenge" for p in ports]
        codes = [requests.get(urls[i % 2], timeout=30).status_code for i in range(4)]
        assert codes == [200] * 4
        refused = [requests.get(u, timeout=30) for u in urls]
        assert [r.status_code for r in refused] == [429, 429]
        assert refused[0].json()["error"] == "rate_limited" and int(refused[0].headers["Retry-After"]) > 0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _bad_login(client, username, headers=None):
    return client.post("/login", data={"username": username, "password": "wrong",
                                       "csrf_token": csrf_of(client)}, headers=headers or {})


def test_forged_forwarding_headers_are_ignored_without_a_trusted_proxy(client, make_user):
    """Default: no proxy trusted, so a script cannot dodge the per-address lock-out by
    sending a new X-Forwarded-For each time."""
    for i in range(20):
        resp = _bad_login(client, f"nobody{i}", {"X-Forwarded-For": f"203.0.113.{i}"})
        assert resp.status_code == 401
    user = make_user("staff")
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": csrf_of(client)},
                       headers={"X-Forwarded-For": "198.51.100.7"})
    assert resp.status_code == 429 and "too_many_attempts" in resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0


def test_behind_a_trusted_proxy_one_visitor_cannot_lock_out_everyone(app, client, make_user):
    """Behind the TLS proxy every request comes from the proxy's address; with
    TRUSTED_PROXY_HOPS=1 the limits see each visitor's own address."""
    app.config["TRUSTED_PROXY_HOPS"] = 1
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    for i in range(20):
        assert _bad_login(client, f"nobody{i}", attacker).status_code == 401
    assert _bad_login(client, "nobody", attacker).status_code == 429
    user = make_user("staff")
    other = app.test_client()
    resp = other.post("/login", data={"username": user.username, "password": PASSWORD,
                                      "csrf_token": csrf_of(other)},
                      headers={"X-Forwarded-For": "198.51.100.7"})
    assert resp.status_code == 302


def test_a_locked_account_stays_locked_from_any_address(app, client, make_user, clock):
    app.config["TRUSTED_PROXY_HOPS"] = 1
    user = make_user("staff")
    for i in range(5):
        assert _bad_login(client, user.username, {"X-Forwarded-For": f"203.0.113.{i}"}).status_code == 401
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": csrf_of(client)},
                       headers={"X-Forwarded-For": "198.51.100.9"})
    assert resp.status_code == 429
    clock.advance(minutes=16)
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                       "csrf_token": csrf_of(client)},
                       headers={"X-Forwarded-For": "198.51.100.9"})
    assert resp.status_code == 302


def test_a_client_that_ignores_retry_after_is_answered_before_the_app(app, client, clock):
    """Hammering after a 429 reaches neither Flask nor the limit storage until the retry
    time; the box forgets its oldest clients first."""
    from core.ratelimit import limiter
    app.config["POW_CHALLENGES_PER_CLIENT"] = "2/minute"
    assert [client.get("/api/pow/challenge").status_code for _ in range(3)] == [200, 200, 429]
    rows = limiter.storage.rows()
    hammer = [client.get("/api/pow/challenge") for _ in range(50)]
    assert {r.status_code for r in hammer} == {429}
    assert hammer[-1].get_json()["error"] == "rate_limited" and int(hammer[-1].headers["Retry-After"]) > 0
    assert limiter.storage.rows() == rows
    clock.advance(seconds=61)
    assert client.get("/api/pow/challenge").status_code == 200
    box = app.extensions["scenic.penalty_box"]
    box.size = 3
    for i in range(10):
        box.block((f"10.0.0.{i}", "GET", "/x", "", ""), 1e12, 429, b"{}", "application/json")
    assert len(box.boxed) == 3 and ("10.0.0.9", "GET", "/x", "", "") in box.boxed
