"""Demo data for the embedded default: a camera on the looping sample clip and a worker
token in the instance folder (idempotent), plus the worker process serve.py starts; and
every site's forecast fed by the simulator (crowd.simulate), so the demo dashboard shows
forecasts from two years of simulated history and a simulated day of bookings and gate
scans, labelled as simulated."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from catalog import interface as catalog
from core.auth import create_device, find_account, issue_token
from core.clock import iso
from core.errors import ValidationError
from core.files import write_secret

from . import cameras, checks, repo, workers

ROOT = Path(__file__).resolve().parent.parent
DEMO_FILE = ROOT / "data" / "crowd" / "demo_cameras.json"
WORKER = "crowd-worker"
DEMO_SEED = 7


def token_path(app) -> Path:
    return Path(app.instance_path) / "crowd-worker.token"


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


def processes(app) -> list[list[str]]:
    if not token_path(app).is_file():
        return []
    return [[sys.executable, "-m", "flask", "--app", "app", "crowd", "worker"]]
