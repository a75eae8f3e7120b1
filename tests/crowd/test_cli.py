"""``flask --app app crowd worker`` over real HTTP against the app under waitress."""
from __future__ import annotations

import pytest

from core.files import write_secret
from crowd import demo, services


def test_worker_command_without_a_token_says_how_to_make_one(app, monkeypatch):
    monkeypatch.delenv("CROWD_WORKER_TOKEN", raising=False)
    result = app.test_cli_runner().invoke(args=["crowd", "worker", "--seconds", "1"])
    assert result.exit_code != 0 and "create-device" in result.output


def test_worker_command_rejects_a_bad_token(app, live_server, camera, monkeypatch):
    monkeypatch.setenv("CROWD_WORKER_TOKEN", "not-a-token")
    result = app.test_cli_runner().invoke(
        args=["crowd", "worker", "--url", live_server, "--seconds", "1"])
    assert result.exit_code != 0 and "bad_token" in result.output


@pytest.mark.model
def test_worker_command_counts_the_clip_over_http(app, db, clock, live_server, camera,
                                                  worker_token, monkeypatch):
    write_secret(demo.token_path(app), worker_token)
    monkeypatch.delenv("CROWD_WORKER_TOKEN", raising=False)
    result = app.test_cli_runner().invoke(
        args=["crowd", "worker", "--url", live_server, "--counts", "2", "--seconds", "120",
              "--no-frames"])
    assert result.exit_code == 0, result.output
    state = services.dashboard_state(db, clock)
    cam = state["cameras"][0]
    assert cam["status"] == "online" and cam["people"] >= 1 and cam["fps"] > 0
    assert db.execute("SELECT count(*) FROM crowd_observations").fetchone()[0] >= 2


def test_mqtt_credentials_command_issues_rotates_and_revokes(app, db, device_token, tmp_path,
                                                             monkeypatch):
    import json
    import os

    from crowd import broker, repo
    device_token("worker", username="cam-worker-9")
    runner = app.test_cli_runner()
    out = tmp_path / "w9.json"
    result = runner.invoke(args=["crowd", "mqtt-credentials", "cam-worker-9", "--out", str(out)])
    assert result.exit_code == 0, result.output
    first = json.loads(out.read_text())
    assert first["username"] == "cam-worker-9" and os.stat(out).st_mode & 0o077 == 0
    files = broker.files_for(app.instance_path)
    assert "cam-worker-9:$7$" in files.passwd.read_text()
    assert first["password"] not in files.passwd.read_text()
    line = repo.mqtt_credential(db, "cam-worker-9")["password_line"]
    result = runner.invoke(args=["crowd", "mqtt-credentials", "cam-worker-9"])   # rotate
    assert result.exit_code == 0 and result.output.strip() != first["password"]
    assert repo.mqtt_credential(db, "cam-worker-9")["password_line"] != line
    assert runner.invoke(args=["crowd", "mqtt-credentials", "nobody-9"]).exit_code != 0
    result = runner.invoke(args=["crowd", "mqtt-credentials", "cam-worker-9", "--revoke"])
    assert result.exit_code == 0 and "cam-worker-9" not in files.passwd.read_text()


@pytest.mark.model
def test_worker_command_counts_the_clip_over_mqtt(app, db, clock, live_server, mqtt_site,
                                                  monkeypatch, tmp_path):
    """The real worker, its observations through mosquitto and the site's bridge."""
    import json

    from mqtt_helpers import wait_for
    write_secret(demo.token_path(app), mqtt_site.token)
    creds = tmp_path / "worker.mqtt.json"
    write_secret(creds, json.dumps({"username": "cam-worker-1",
                                    "password": mqtt_site.worker_pw}))
    monkeypatch.delenv("CROWD_WORKER_TOKEN", raising=False)
    app.config["CROWD_MQTT_PORT"] = mqtt_site.broker.port
    bridge = mqtt_site.start_bridge()
    result = app.test_cli_runner().invoke(
        args=["crowd", "worker", "--url", live_server, "--counts", "2", "--seconds", "120",
              "--no-frames", "--transport", "mqtt", "--mqtt-credentials", str(creds)])
    assert result.exit_code == 0, result.output
    assert wait_for(lambda: bridge.stats["ingested"] >= 2)
    assert db.execute("SELECT count(*) FROM crowd_observations WHERE status = 'online'"
                      ).fetchone()[0] >= 2
