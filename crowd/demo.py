"""Demo data for the embedded default: a camera on the looping sample clip and a worker
token in the instance folder (idempotent), plus the worker process serve.py starts."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from core.auth import create_device, find_account, issue_token

from . import repo, services

ROOT = Path(__file__).resolve().parent.parent
DEMO_FILE = ROOT / "data" / "crowd" / "demo_cameras.json"
WORKER = "crowd-worker"


def token_path(app) -> Path:
    return Path(app.instance_path) / "crowd-worker.token"


def _write_token(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")


def seed(app, db, credentials: dict) -> None:
    clock = app.extensions["scenic.clock"]
    path = token_path(app)
    worker = find_account(db, WORKER)
    if worker is None:
        _user, token = create_device(db, username=WORKER, role="worker", clock=clock,
                                     label="demo crowd worker")
        _write_token(path, token)
    elif not path.is_file():
        _write_token(path, issue_token(db, user_id=worker.id, label="demo crowd worker",
                                       clock=clock))
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    for cam in data["cameras"]:
        if repo.camera(db, cam["id"]) is not None:
            continue
        services.save_camera(db, cam, clock=clock, create=True)


def processes(app) -> list[list[str]]:
    if not token_path(app).is_file():
        return []
    return [[sys.executable, "-m", "flask", "--app", "app", "crowd", "worker"]]
