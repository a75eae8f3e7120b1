"""Worker tokens bound to their cameras, attacked: a worker device (or a stolen worker
token) posting fake counts or frames for another camera, or reading another camera's
source (issue 9, item 6)."""
from __future__ import annotations

import pytest

from catalog import services as catalog
from core.auth import create_device
from core.errors import Forbidden
from crowd import services, workers
from testkit import csrf_of
from ticketing import quota

JPEG = b"\xff\xd8" + b"\x00" * 64 + b"\xff\xd9"
CAM_B = {"id": "cam-b", "name": "Kong Family Mansion gate", "site_id": "kongfu",
         "source": "rtsp://viewer:s3cret@10.0.0.7/stream1", "width": 640, "height": 480}


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def other_worker(db, clock, own_camera):
    """A second worker device that may report for cam-b only."""
    own_camera(CAM_B)
    user, token = create_device(db, username="worker-b", role="worker", clock=clock)
    workers.assign_cameras(db, ["cam-b"], user_id=user.id)
    # cam-b is worker-a's too (own_camera): take it back, each worker has its own camera.
    workers.unassign_cameras(db, ["cam-b"], username="worker-a")
    return token


def test_a_fake_count_for_another_workers_camera_cannot_pause_sales(
        client, db, clock, camera, other_worker, make_user):
    admin = make_user("admin")
    catalog.adjust_capacity(db, kind="site", target_id="kongmiao", field="instant", value=10,
                            reason="test: a small site", user=admin, clock=clock)
    fake = {"camera_id": "cam-a", "status": "online", "people": 9999, "areas": {"path": 9999}}
    for _ in range(4):
        r = client.post("/api/crowd/observations", json=fake, headers=auth(other_worker))
        assert r.status_code == 403 and r.json["error"] == "camera_not_allowed"
        clock.advance(seconds=6)
    assert not quota.is_paused(db, "kongmiao")
    assert db.execute("SELECT count(*) FROM crowd_observations").fetchone()[0] == 0
    assert services.list_alerts(db, active_only=True) == []
    # Its own camera it may report for.
    own = {"camera_id": "cam-b", "status": "online", "people": 2}
    assert client.post("/api/crowd/observations", json=own,
                       headers=auth(other_worker)).status_code == 201


def test_frames_for_another_workers_camera_are_refused_before_the_body_is_read(
        app, client, camera, other_worker):
    from crowd.live import frames_of
    r = client.post("/api/crowd/cameras/cam-a/frame", data=JPEG,
                    headers=dict(auth(other_worker), **{"Content-Type": "image/jpeg"}))
    assert r.status_code == 403 and r.json["error"] == "camera_not_allowed"
    assert frames_of(app).latest("cam-a") is None
    # A camera that does not exist answers the same: nothing to learn by probing.
    r = client.post("/api/crowd/cameras/no-such/frame", data=JPEG,
                    headers=dict(auth(other_worker), **{"Content-Type": "image/jpeg"}))
    assert r.status_code == 403 and r.json["error"] == "camera_not_allowed"


def test_a_worker_reads_only_its_own_cameras_and_their_sources(client, camera, other_worker,
                                                                worker_token):
    r = client.get("/api/crowd/worker/config", headers=auth(other_worker))
    assert [c["id"] for c in r.json["cameras"]] == ["cam-b"]
    assert "vtest-clip" not in r.get_data(as_text=True)
    r = client.get("/api/crowd/worker/config", headers=auth(worker_token))
    assert [c["id"] for c in r.json["cameras"]] == ["cam-a"]
    assert "s3cret" not in r.get_data(as_text=True)


def test_a_new_worker_may_report_for_nothing_until_an_admin_assigns(client, db, clock, camera,
                                                                     login):
    user, token = create_device(db, username="worker-new", role="worker", clock=clock)
    assert client.get("/api/crowd/worker/config", headers=auth(token)).json == {"cameras": []}
    obs = {"camera_id": "cam-a", "status": "online", "people": 1, "areas": {"path": 1}}
    assert client.post("/api/crowd/observations", json=obs, headers=auth(token)).status_code == 403
    # The admin ticks cam-a for it on the cameras page.
    login("admin")
    page = client.get("/crowd/cameras").get_data(as_text=True)
    assert 'data-worker="worker-new"' in page
    form = {"camera": ["cam-a"], "csrf_token": csrf_of(client, "/crowd/cameras")}
    r = client.post(f"/crowd/workers/{user.id}/cameras", data=form)
    assert r.status_code == 302
    assert client.post("/api/crowd/observations", json=obs, headers=auth(token)).status_code == 201
    # An unknown camera is refused and changes nothing.
    r = client.post(f"/crowd/workers/{user.id}/cameras", data=dict(form, camera=["cam-a", "ghost"]))
    assert r.status_code == 404
    assert workers.list_workers(db)[-1]["cameras"] == ["cam-a"]


def test_staff_see_no_worker_assignments(client, camera, login):
    login("staff")
    assert "data-worker" not in client.get("/crowd/cameras").get_data(as_text=True)


def test_assignments_from_the_command_line(app, db, camera, worker_account):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["crowd", "unassign-cameras", "worker-a", "cam-a"])
    assert out.exit_code == 0 and "worker-a may report for: no camera" in out.output
    out = runner.invoke(args=["crowd", "assign-cameras", "worker-a", "cam-a"])
    assert out.exit_code == 0 and "worker-a may report for: cam-a" in out.output
    out = runner.invoke(args=["crowd", "workers"])
    assert "worker-a: cam-a" in out.output
    out = runner.invoke(args=["crowd", "assign-cameras", "nobody", "cam-a"])
    assert out.exit_code == 1 and "no active worker device" in out.output


def test_deleting_a_camera_takes_it_from_its_workers(db, camera, worker_account):
    from crowd import cameras
    cameras.delete_camera(db, "cam-a")
    assert workers.list_workers(db)[0]["cameras"] == []


def test_every_way_in_asks_the_one_authorisation(db, clock, camera, make_user):
    # The ingest service itself refuses a caller that is not an allowed worker device,
    # so a second transport (MQTT, issue 12) cannot skip the check.
    staff = make_user("staff")
    obs = {"camera_id": "cam-a", "status": "online", "people": 1, "areas": {"path": 1}}
    for who in (None, staff):
        with pytest.raises(Forbidden) as caught:
            services.ingest(db, obs, worker=who, clock=clock)
        assert caught.value.code == "camera_not_allowed"
