"""The demo seed: idempotent, a worker token file only its owner can read, the camera."""
from __future__ import annotations

import os
import stat

from crowd import cameras, demo


def test_seed_twice_gives_one_camera_and_a_private_token(app, db):
    creds = {}
    with app.app_context():
        demo.seed(app, db, creds)
        first = demo.token_path(app).read_text()
        demo.seed(app, db, creds)
    assert demo.token_path(app).read_text() == first
    assert stat.S_IMODE(os.stat(demo.token_path(app)).st_mode) == 0o600
    cam = cameras.get_camera(db, "demo-path")
    assert cam.source == "data/crowd/vtest-clip.mp4" and cam.detect_every >= 1
    assert {r["name"] for r in cam.regions} == {"path", "midline"}
    # The local broker is a server (started first, stopped last; mosquitto is installed by
    # scripts/setup.sh); then the bridge and the worker, which sends its observations
    # through the broker.
    [svc] = demo.servers(app)
    assert svc["cmd"][-2:] == ["crowd", "mqtt-broker"]
    assert f":{app.config['CROWD_MQTT_PORT']}" in svc["describe"]
    cmds = demo.processes(app)
    assert [c[c.index("crowd") + 1] for c in cmds] == ["mqtt-bridge", "worker"]
    assert cmds[-1][-2:] == ["--transport", "mqtt"]
    mqtt = demo.mqtt_credentials_path(app)
    assert stat.S_IMODE(os.stat(mqtt).st_mode) == 0o600
    client = app.test_client()
    r = client.get("/api/crowd/worker/config",
                   headers={"Authorization": f"Bearer {first.strip()}"})
    assert r.status_code == 200 and r.json["cameras"][0]["id"] == "demo-path"


def test_no_worker_process_without_a_token(app):
    assert all("worker" not in cmd for cmd in demo.processes(app))


def test_without_a_broker_the_demo_runs_over_http(tmp_path, clock):
    from app import create_app
    from core.db import connect, migrate
    from catalog.services import load_catalog
    app = create_app({"ENV": "testing", "CROWD_MQTT_BROKER": "off"}, clock=clock,
                     instance_path=str(tmp_path / "instance"))
    db = connect(app.config["DATABASE"])
    migrate(db)
    load_catalog(db)
    with app.app_context():
        demo.seed(app, db, {})
    db.conn.close()
    assert demo.processes(app) == [[*demo.processes(app)[0][:-1], "worker"]]
    assert demo.servers(app) == []
    assert not demo.mqtt_credentials_path(app).exists()
