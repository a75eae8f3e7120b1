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
