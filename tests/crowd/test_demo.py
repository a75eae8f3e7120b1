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
    cmd = demo.processes(app)[0]
    assert cmd[-2:] == ["crowd", "worker"]
    client = app.test_client()
    r = client.get("/api/crowd/worker/config",
                   headers={"Authorization": f"Bearer {first.strip()}"})
    assert r.status_code == 200 and r.json["cameras"][0]["id"] == "demo-path"


def test_no_worker_process_without_a_token(app):
    assert demo.processes(app) == []
