"""GET /metrics: who may read it, bounded labels, and values aggregated over processes
(prometheus_client's multiprocess mode, as the pools run it)."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from testkit import metric, parse_metrics, scrape

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t" * 8 + secrets.token_hex(12)
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.7"}


def _series(samples: dict, prefix: str) -> set:
    return {key for key in samples if key[0].startswith(prefix)}


# --- who may read it ---------------------------------------------------------------

def test_the_loopback_reads_metrics_over_real_http(live_server):
    healthz = dict(route="/healthz", method="GET", status="200")
    before = metric(scrape(live_server), "scenic_http_requests_total", **healthz)
    urllib.request.urlopen(live_server + "/healthz", timeout=30).read()
    assert metric(scrape(live_server), "scenic_http_requests_total", **healthz) == before + 1
    with urllib.request.urlopen(live_server + "/metrics", timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert resp.headers["Cache-Control"] == "no-store"


def test_through_a_proxy_the_loopback_is_not_enough(live_server, app):
    # nginx on this machine connects from 127.0.0.1 but says whom for: that is not local.
    req = urllib.request.Request(live_server + "/metrics",
                                 headers={"X-Forwarded-For": "198.51.100.4"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 404
    app.config["METRICS_TOKEN"] = TOKEN
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 401
    assert err.value.headers["WWW-Authenticate"].startswith("Bearer")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    assert b"scenic_http_requests_total" in urllib.request.urlopen(req, timeout=30).read()


def test_behind_one_trusted_proxy_a_claimed_loopback_address_is_not_local(tmp_path):
    # The pools trust nginx's X-Forwarded-For: a local browser through the front arrives
    # as 127.0.0.1, and must still not read the metrics without the token.
    from app import create_app
    pool = create_app({"ENV": "testing", "TRUSTED_PROXY_HOPS": 1},
                      instance_path=str(tmp_path / "pool"))
    resp = pool.test_client().get("/metrics", headers={"X-Forwarded-For": "127.0.0.1",
                                                       "Accept": "application/json"})
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    assert pool.test_client().get("/metrics").status_code == 200     # straight: served


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _status(url: str, **headers) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by scripts/setup.sh")
def test_the_front_never_serves_metrics_without_a_token(app, live_server, tmp_path):
    """./run.sh's nginx config, for real, in front of the app: /metrics through the front
    is 404 without an Authorization header (from nginx itself, whatever the spelling of the
    path), and checked by the app with one."""
    from scripts import nginx_conf
    app.config.update(PORT=_free_port(), WEB_PORT=int(live_server.rsplit(":", 1)[1]),
                      METRICS_TOKEN=TOKEN)
    run, logs = tmp_path / "run", tmp_path / "logs"
    run.mkdir()
    logs.mkdir()
    (run / "nginx.conf").write_text(nginx_conf.render_run(app, run, logs))
    front = subprocess.Popen([NGINX, "-p", str(run), "-e", str(logs / "error.log"), "-c",
                              str(run / "nginx.conf")], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{app.config['PORT']}"
    try:
        _wait_answers(base + "/healthz", front, timeout=30)
        for path in ("/metrics", "/metrics?format=x", "//metrics", "/%6Detrics"):
            status, body = _status(base + path)
            assert status == 404 and b'"not_found"' in body, path
        assert _status(base + "/metrics", Authorization="")[0] == 404
        status, body = _status(base + "/metrics", Authorization="Bearer wrong")
        assert status == 401 and b"metrics_token_invalid" in body
        status, body = _status(base + "/metrics", Authorization=f"Bearer {TOKEN}")
        assert status == 200 and b"scenic_http_requests_total" in body
    finally:
        front.terminate()
        front.wait(timeout=30)


def test_from_elsewhere_without_a_configured_token_it_is_not_there(client):
    resp = client.get("/metrics", environ_base=ELSEWHERE, headers={"Accept": "application/json"})
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"


def test_from_elsewhere_a_token_is_needed_and_checked(client, app):
    app.config["METRICS_TOKEN"] = TOKEN
    resp = client.get("/metrics", environ_base=ELSEWHERE)
    assert resp.status_code == 401 and resp.get_json()["error"] == "metrics_token_required"
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", TOKEN):
        resp = client.get("/metrics", environ_base=ELSEWHERE, headers={"Authorization": wrong})
        assert resp.status_code == 401, wrong
        assert resp.get_json()["error"] == "metrics_token_invalid", wrong
    resp = client.get("/metrics", environ_base=ELSEWHERE,
                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200 and b"scenic_site_capacity" in resp.data


def test_a_wrong_token_is_refused_even_from_the_loopback(client, app):
    resp = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert resp.status_code == 401 and resp.get_json()["error"] == "metrics_token_invalid"
    resp = client.get("/metrics", headers={"Authorization": "Bearer not-the-token",
                                           "Accept-Language": "zh-CN"})
    assert resp.get_json()["message"] == "监控指标令牌无效。"


def test_metrics_are_the_web_pools_and_the_setting_is_checked(tmp_path):
    from app import create_app
    from core.config import ConfigError
    from core.serving import routes_by_kind
    web = create_app({"ENV": "testing", "SERVE_KIND": "web"}, instance_path=str(tmp_path / "w"))
    assert "/metrics" in {r.rule for r in routes_by_kind(web)["web"]}
    live = create_app({"ENV": "testing", "SERVE_KIND": "live"}, instance_path=str(tmp_path / "l"))
    assert live.test_client().get("/metrics").status_code == 421
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        create_app({"METRICS_TOKEN": "short"}, instance_path=str(tmp_path / "s"))


# --- queues and backups ----------------------------------------------------------------

def _hold_job(release):
    release.wait(10)


def test_the_inference_queue_shows_its_depth_and_refusals(client, app):
    import threading
    from core import inference
    from core.serving import Busy
    app.config["INFERENCE_PROCESSES"], app.config["INFERENCE_QUEUE"] = 1, 0
    pool = inference.pool_of(app)
    release = threading.Event()
    before = scrape(client)
    hold = threading.Thread(target=pool.run, args=(_hold_job, release))
    hold.start()
    while pool.depth()["admitted"] == 0:
        time.sleep(0.01)
    with pytest.raises(Busy):
        pool.run(_hold_job, release)
    during = scrape(client)
    release.set()
    hold.join()
    assert metric(during, "scenic_inference_jobs") == metric(before, "scenic_inference_jobs") + 1
    assert metric(during, "scenic_inference_capacity") >= 1
    assert metric(during, "scenic_inference_refused_total", reason="busy") - \
        metric(before, "scenic_inference_refused_total", reason="busy") == 1
    assert metric(scrape(client), "scenic_inference_jobs") == metric(before, "scenic_inference_jobs")


def test_the_age_of_the_newest_backup_is_shown(client, app, clock):
    from core import backup
    assert ("scenic_backup_last_timestamp_seconds", ()) not in scrape(client)
    backup.backup(app.config["DATABASE"], app.config["BACKUP_DIR"] + "/", at=clock.now())
    written = metric(scrape(client), "scenic_backup_last_timestamp_seconds")
    assert abs(written - time.time()) < 60


# --- bounded labels ------------------------------------------------------------------

def test_a_thousand_random_paths_add_no_series(client):
    client.get("/nowhere-at-all")
    client.get("/tickets/orders/T000/secret")
    client.open("/nowhere-at-all", method="BREW")
    scrape(client)                      # the scrape's own series exist from here on
    before = scrape(client)
    for i in range(1000):
        junk = secrets.token_urlsafe(12)
        if i % 3 == 0:
            client.get(f"/{junk}/{i}")                          # no rule: <unmatched>
        elif i % 3 == 1:
            client.get(f"/tickets/orders/T{junk}/{junk}")       # one rule, any values
        else:
            client.open(f"/{junk}", method=f"X{junk[:6].upper()}")   # invented methods
    after = scrape(client)
    assert _series(after, "scenic_http") == _series(before, "scenic_http")
    assert metric(after, "scenic_http_requests_total", route="<unmatched>", method="GET",
                  status="404") - metric(before, "scenic_http_requests_total",
                                         route="<unmatched>", method="GET", status="404") == 334
    routes = {dict(labels)["route"] for name, labels in after if name == "scenic_http_requests_total"}
    assert "/tickets/orders/<number>/<secret>" in routes
    assert not any(r.startswith("/tickets/orders/T") for r in routes)


# --- many processes, one figure ---------------------------------------------------------

WRITER = """
import os, sys
from core import inference, metrics, serving
from ticketing import metrics as tk
n = int(sys.argv[1])
for _ in range(n):
    metrics._count_request(serving.RequestDone("web", "/api/gate/scan", "gates.api_scan", "POST",
                                               200, 0.02))
serving.STREAMS_OPEN.inc(n)        # a live gauge: summed over processes still running
print(os.getpid(), flush=True)
"""


def _run_writer(folder: Path, n: int) -> int:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    out = subprocess.run([sys.executable, "-c", WRITER, str(n)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def _read(folder: Path) -> dict:
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(folder))
    return parse_metrics(generate_latest(registry).decode())


def test_two_processes_add_up_and_a_dead_ones_gauges_go(tmp_path):
    from core.metrics import forget_dead_processes
    folder = tmp_path / "metrics"
    folder.mkdir()
    first, second = _run_writer(folder, 3), _run_writer(folder, 4)
    samples = _read(folder)
    scans = dict(route="/api/gate/scan", method="POST", status="200")
    assert metric(samples, "scenic_http_requests_total", **scans) == 7
    assert metric(samples, "scenic_http_request_duration_seconds_count",
                  route="/api/gate/scan") == 7
    assert metric(samples, "scenic_http_request_duration_seconds_bucket",
                  route="/api/gate/scan", le="0.025") == 7
    assert sorted(p.name for p in folder.glob("gauge_livesum_*.db")) == sorted(
        [f"gauge_livesum_{first}.db", f"gauge_livesum_{second}.db"])
    # Both writers have exited without the gunicorn hook (as after a kill -9): the scrape
    # drops their live gauges, and keeps their counters.
    assert forget_dead_processes(folder) == 2
    samples = _read(folder)
    assert metric(samples, "scenic_live_streams_open") == 0
    assert metric(samples, "scenic_http_requests_total", **scans) == 7


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_answers(url: str, proc, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "gunicorn exited"
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def _worker_pid(master: int) -> int:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        kids = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if kids:
            return int(kids[0])
        time.sleep(0.1)
    raise AssertionError("no worker")


def test_a_replaced_gunicorn_worker_still_counts(app, tmp_path):
    """The web pool as deploy/gunicorn.conf.py runs it: a worker answers, is stopped and
    replaced; the scrape, answered by the new worker, counts both, and the old one's live
    gauges went with it (the child_exit hook)."""
    folder = tmp_path / "metrics"
    port = _free_port()
    env = {**os.environ, "SCENIC_SERVE_KIND": "web", "SCENIC_INSTANCE": app.instance_path,
           "PROMETHEUS_MULTIPROC_DIR": str(folder), "SCENIC_WEB_PROCESSES": "1",
           "SCENIC_THREADS": "2"}
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                             str(ROOT / "deploy/gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_answers(base + "/healthz", proc)
        old = _worker_pid(proc.pid)
        for _ in range(4):
            urllib.request.urlopen(base + "/healthz", timeout=30).read()
        assert (folder / f"gauge_livesum_{old}.db").exists()
        os.kill(old, signal.SIGTERM)
        end = time.monotonic() + 60
        while (folder / f"gauge_livesum_{old}.db").exists() and time.monotonic() < end:
            time.sleep(0.1)
        assert not (folder / f"gauge_livesum_{old}.db").exists()
        _wait_answers(base + "/healthz", proc)
        assert _worker_pid(proc.pid) != old
        samples = scrape(base)
        # 4 + the first answer of each worker's wait = 6 answered by two processes
        assert metric(samples, "scenic_http_requests_total", route="/healthz", method="GET",
                      status="200") == 6
        assert (folder / f"counter_{old}.db").exists()
        assert metric(samples, "scenic_site_capacity", site="kongmiao") > 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
