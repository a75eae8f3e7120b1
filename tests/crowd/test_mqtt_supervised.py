"""The MQTT broker and the site's bridge under ./run.sh's supervisor (scripts/serve.py,
scripts/supervise.py), as real processes: a console line each when started and nothing
else while they run; each restarted after kill -9, reports flowing again; all stopped
(bridge before broker) with nothing left behind. The whole ./run.sh with Ctrl-C and no
orphans is the drill's (tests/test_drill.py)."""
from __future__ import annotations

import io
import json
import os
import signal
import socket

import pytest

from crowd import demo
from crowd.mqtt_client import BrokerAddress
from crowd.mqtt_poster import MqttPoster
from crowd.mqtt_topics import Topics
from scripts import serve
from scripts.supervise import Console, LogRouter, Supervisor

from mqtt_helpers import free_port, mosquitto_available, wait_for
from test_mqtt import NoHttp

pytestmark = pytest.mark.skipif(not mosquitto_available(),
                                reason="mosquitto is installed by scripts/setup.sh")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _watch_until(sup: Supervisor, cond, timeout: float) -> bool:
    return wait_for(lambda: (sup.watch(), cond())[1], timeout=timeout, step=0.2)


def test_broker_and_bridge_are_supervised(app, db, tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("SCENIC_INSTANCE", app.instance_path)   # the children's site
    monkeypatch.setenv("SCENIC_CROWD_MQTT_PORT", str(port))
    app.config["CROWD_MQTT_PORT"] = port
    with app.app_context():
        demo.seed(app, db, {})
    demo.token_path(app).unlink()     # no counting worker here: the broker and the bridge
    children = [c for c in serve.background_children(app) if c.name.startswith("crowd-")]
    assert [(c.name, c.stage) for c in children] == [("crowd-mqtt-broker", 1),
                                                     ("crowd-mqtt-bridge", 2)]
    out = io.StringIO()
    console = Console(out)
    sup = Supervisor(LogRouter(tmp_path / "logs", 1 << 20, 2, console), console,
                     tmp_path / "pids.json")
    creds = json.loads(demo.mqtt_credentials_path(app).read_text())

    def report(people: int) -> None:
        poster = MqttPoster(NoHttp(), device=creds["username"], password=creds["password"],
                            address=BrokerAddress("127.0.0.1", port, keepalive=2),
                            topics=Topics(app.config["CROWD_MQTT_PREFIX"]), connect_timeout=10)
        try:
            poster.observation({"camera_id": "demo-path", "status": "online",
                                "people": people, "areas": {"path": people}})
        finally:
            poster.close()

    def log() -> str:
        return (tmp_path / "logs" / "scenic.log").read_text()[-3000:]

    def counted() -> list:
        # Stored reports (the camera's state turns offline again as each poster says goodbye).
        return [r[0] for r in db.execute("SELECT counted FROM crowd_observations WHERE "
                                         "camera_id = 'demo-path' AND status = 'online' "
                                         "ORDER BY id")]

    try:
        for child in children:
            sup.start(child)
        assert _watch_until(sup, lambda: _listening(port), 20)
        # Reports until the bridge (a Python process starting up) has subscribed.
        assert _watch_until(sup, lambda: _try(report, 4) and counted()[-1:] == [4], 60), log()
        started = [ln for ln in out.getvalue().splitlines()
                   if not (os.getuid() == 0 and "should not be run as root" in ln)]
        assert len(started) == 2, started       # one line each, then quiet
        assert f"MQTT broker: mosquitto on 127.0.0.1:{port}" in started[0]
        assert "crowd-mqtt-bridge: started crowd mqtt-bridge" in started[1]

        for name in ("crowd-mqtt-broker", "crowd-mqtt-bridge"):
            child = next(c for c in children if c.name == name)
            old = child.proc.pid
            os.killpg(old, signal.SIGKILL)
            assert _watch_until(sup, lambda: child.proc.pid != old
                                and child.proc.poll() is None, 20)
            assert _watch_until(sup, lambda: _listening(port), 20)
            people = 5 if name == "crowd-mqtt-broker" else 6
            # The worker's and the bridge's clients reconnect; reports flow again.
            assert _watch_until(sup, lambda: _try(report, people)
                                and counted()[-1:] == [people], 60), log()
        lines = [ln for ln in out.getvalue().splitlines()   # as root mosquitto says so
                 if not (os.getuid() == 0 and "should not be run as root" in ln)]
        # Besides the lines above: the bridge saying it lost the broker (and reconnects).
        assert all("started" in ln or "restarting in" in ln or "broker connection lost" in ln
                   for ln in lines), lines
        assert sum("WARNING" in ln and "restarting in" in ln for ln in lines) == 2
        before_stop = out.getvalue()
    finally:
        pids = [c.proc.pid for c in children if c.proc]
        sup.stop_all(timeout=15)
    assert out.getvalue() == before_stop     # the bridge stops before the broker: no warning
    assert all(c.proc.poll() is not None for c in children)
    assert not _listening(port)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
    logged = (tmp_path / "logs" / "scenic.log").read_text()
    assert '"proc": "crowd-mqtt-broker"' in logged     # mosquitto's lines are in the log


def _try(fn, *args) -> bool:
    try:
        fn(*args)
        return True
    except Exception:   # noqa: BLE001 (the broker or bridge is still coming back)
        return False
