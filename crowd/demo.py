"""Demo data for the embedded default: a camera on the looping sample clip, a worker
token and the worker's broker account in the instance folder (idempotent), plus what
serve.py starts: the local MQTT broker (``servers``, when mosquitto is installed and
CROWD_MQTT_BROKER is local), the site's bridge and the counting worker (``processes``);
and every site's forecast fed by the simulator (crowd.simulate), so the demo dashboard
shows forecasts from two years of simulated history and a simulated day of bookings and
gate scans, labelled as simulated."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from catalog import interface as catalog
from core.auth import create_device, find_account, issue_token
from core.clock import iso
from core.errors import ValidationError
from core.files import write_secret

from . import broker, cameras, checks, repo, workers
from .mqtt_topics import Topics

ROOT = Path(__file__).resolve().parent.parent
DEMO_FILE = ROOT / "data" / "crowd" / "demo_cameras.json"
WORKER = "crowd-worker"
DEMO_SEED = 7


def token_path(app) -> Path:
    return Path(app.instance_path) / "crowd-worker.token"


def mqtt_credentials_path(app) -> Path:
    return Path(app.instance_path) / "crowd-worker.mqtt.json"


def local_broker(app) -> bool:
    """The site runs its own mosquitto (setting local, and the package is installed)."""
    return app.config["CROWD_MQTT_BROKER"] == "local" and broker.mosquitto_binary() is not None


def seed(app, db, credentials: dict) -> None:
    clock = app.extensions["scenic.clock"]
    path = token_path(app)
    worker = find_account(db, WORKER)
    if worker is None:
        _user, token = create_device(db, username=WORKER, role="worker", clock=clock,
                                     label="demo crowd worker")
        write_secret(path, token)
    elif not path.is_file():
        write_secret(path, issue_token(db, user_id=worker.id, label="demo crowd worker",
                                       clock=clock))
    if local_broker(app) and (not mqtt_credentials_path(app).is_file()
                              or repo.mqtt_credential(db, WORKER) is None):
        password = broker.issue_credential(db, WORKER, kind="worker", clock=clock)
        write_secret(mqtt_credentials_path(app),
                     json.dumps({"username": WORKER, "password": password}))
    if local_broker(app):
        # The broker's files and the bridge's password exist before serve.py starts the
        # broker and the bridge side by side.
        broker.sync_files(db, broker.files_for(app.instance_path),
                          Topics(app.config["CROWD_MQTT_PREFIX"]), clock=clock,
                          host=app.config["CROWD_MQTT_HOST"], port=app.config["CROWD_MQTT_PORT"])
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    sources = checks.SourcePolicy.from_config(app.config)
    seeded = []
    for cam in data["cameras"]:
        if repo.camera(db, cam["id"]) is None:
            try:
                cameras.save_camera(db, cam, clock=clock, create=True, sources=sources)
            except ValidationError as exc:   # a file source, with ENV=production
                print(f"demo camera {cam['id']} not added: {exc.message}")
                continue
        seeded.append(cam["id"])
    # The demo worker reports for the demo cameras (and only those).
    workers.assign_cameras(db, seeded, username=WORKER, replace=False)
    for site in catalog.list_sites(db):
        repo.set_forecast_source(db, site.id, "simulated", DEMO_SEED, iso(clock.now()))


FLASK = [sys.executable, "-m", "flask", "--app", "app", "crowd"]


def servers(app) -> list[dict]:
    """Servers the processes below talk to: serve.py starts them first and stops them last."""
    if not local_broker(app):
        return []
    cfg = app.config
    return [{"cmd": FLASK + ["mqtt-broker"],
             "describe": f"MQTT broker: mosquitto on {cfg['CROWD_MQTT_HOST']}:"
                         f"{cfg['CROWD_MQTT_PORT']} (accounts and ACL in instance/mqtt/)"}]


def processes(app) -> list[list[str]]:
    flask = FLASK
    out = []
    if app.config["CROWD_MQTT_BROKER"] == "external" or local_broker(app):
        out.append(flask + ["mqtt-bridge"])
    if token_path(app).is_file():
        # Observations over MQTT when the site runs its broker; HTTP otherwise.
        mqtt = local_broker(app) and mqtt_credentials_path(app).is_file()
        out.append(flask + ["worker"] + (["--transport", "mqtt"] if mqtt else []))
    return out
