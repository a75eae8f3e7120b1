"""Camera sources, attacked: an admin session (or whoever holds one) pointing a camera at
a local file, the worker's own loopback or a cloud metadata address, and credentials in
a source leaking through pages, the API, the dashboard or logs (issue 9, item 6)."""
from __future__ import annotations

import logging
import threading

import pytest

from core.auth import create_user
from core.db import own_connection
from crowd import cameras
from crowd.capture import CameraFeed, SourceError
from crowd.checks import SourcePolicy, mask_source, mask_urls_in
from crowd.worker import source_factory_for
from testkit import PASSWORD, csrf_of

HOSTS = ["10.0.0.0/8", "cam.example", "*.cams.example"]
CAM = {"id": "cam-x", "name": "Gate camera", "site_id": "kongmiao", "width": 640,
       "height": 480}


@pytest.fixture
def prod(production_app, clock):
    """A production app with camera hosts configured, and an admin logged in."""
    app = production_app(CROWD_SOURCE_HOSTS=HOSTS)
    with own_connection(app.config) as db:
        create_user(db, username="admin1", password=PASSWORD, role="admin", clock=clock)
    client = app.test_client()
    r = client.post("/login", data={"username": "admin1", "password": PASSWORD,
                                    "csrf_token": csrf_of(client)})
    assert r.status_code == 302
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_of(client)
    return app, client


@pytest.mark.parametrize("source", [
    "data/crowd/vtest-clip.mp4",                      # a file on the worker
    "/etc/passwd",
    "0",                                              # a device on the worker
    "rtsp://127.0.0.1:8554/cam",                      # the worker's own loopback
    "rtsp://localhost/cam",
    "rtsp://[::1]/cam",
    "rtsp://[::ffff:127.0.0.1]/cam",                  # loopback in IPv6 clothing
    "https://169.254.169.254/latest/meta-data/",      # a cloud metadata service
    "rtsp://10.0.0.5@127.0.0.1/cam",                  # the real host is after the @
    "rtsp://127.1/cam",                               # 127.0.0.1 to a resolver
    "rtsp://2130706433/cam",
    "rtsp://cam.example.evil.net/s",
    "http://10.0.0.5/mjpeg",                          # scheme not configured
    "rtsp://192.168.1.20/s",                          # host not configured
])
def test_production_refuses_sources_outside_the_configured_schemes_and_hosts(prod, source):
    app, client = prod
    r = client.post("/api/crowd/cameras", json=dict(CAM, source=source))
    assert r.status_code == 400, r.json
    assert r.json["error"] == "source_not_allowed"
    with own_connection(app.config) as db:
        assert cameras.list_cameras(db) == []


@pytest.mark.parametrize("source", ["rtsp://10.1.2.3:554/Streaming/Channels/101",
                                    "rtsps://cam.example/live", "https://a.cams.example/x.mjpg"])
def test_production_accepts_listed_hosts(prod, source):
    _app, client = prod
    r = client.post("/api/crowd/cameras", json=dict(CAM, source=source))
    assert r.status_code == 201, r.json


def test_listing_loopback_opens_loopback_and_nothing_wider_does():
    wide = SourcePolicy(True, ("rtsp",), ("0.0.0.0/0",))
    assert wide.host_allowed("203.0.113.9") and not wide.host_allowed("127.0.0.1")
    assert not wide.host_allowed("169.254.169.254")
    narrow = SourcePolicy(True, ("rtsp",), ("127.0.0.1",))
    assert narrow.host_allowed("127.0.0.1") and not narrow.host_allowed("127.0.0.2")


def test_development_keeps_the_demo_file_source(client, login):
    login("admin")
    r = client.post("/api/crowd/cameras", json=dict(CAM, source="data/crowd/vtest-clip.mp4"),
                    headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 201


def test_the_worker_refuses_a_stored_source_its_policy_forbids(camera):
    # A record saved before the rules (or by hand in the database) is an offline camera.
    opener = source_factory_for(SourcePolicy(True, ("rtsp",), ("10.0.0.0/8",)))
    with pytest.raises(SourceError, match="not allowed"):
        opener({"source": "data/crowd/vtest-clip.mp4"})()
    with pytest.raises(SourceError, match="not allowed"):
        opener({"source": "rtsp://127.0.0.1/x"})()


SECRET_SOURCE = "rtsp://admin:pa55w0rd@10.0.0.5:554/live?channel=1&token=tok123"


def test_credentials_are_masked_wherever_a_source_is_shown(prod, caplog):
    app, client = prod
    r = client.post("/api/crowd/cameras", json=dict(CAM, source=SECRET_SOURCE))
    assert r.status_code == 201
    shown = [r.get_data(as_text=True)]
    for path in ("/api/crowd/cameras", "/crowd/cameras", "/crowd/cameras/cam-x/edit",
                 "/api/crowd/state", "/crowd"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        shown.append(resp.get_data(as_text=True))
    for text in shown:
        assert "pa55w0rd" not in text and "tok123" not in text and "admin:" not in text
    assert "rtsp://***@10.0.0.5:554/live?channel=1&amp;token=***" in shown[2]
    # The edit form sends the masked text back unchanged: the credentials are kept.
    form = {"name": "Gate camera", "site_id": "kongmiao", "zone_id": "",
            "source": mask_source(SECRET_SOURCE), "width": "640", "height": "480",
            "tile_rows": "2", "tile_cols": "2", "tile_overlap": "0.2", "inertia": "3",
            "detect_every": "1", "enabled": "on", "regions": "[]",
            "csrf_token": csrf_of(client, "/crowd/cameras/cam-x/edit")}
    assert client.post("/crowd/cameras/cam-x/edit", data=form).status_code == 302
    with own_connection(app.config) as db:
        assert cameras.get_camera(db, "cam-x").source == SECRET_SOURCE
    # Logs: a camera that cannot be opened is reported without its credentials.
    with caplog.at_level(logging.WARNING, logger="scenic.crowd.capture"):
        stop = threading.Event()

        def refuse():
            stop.set()
            raise OSError(f"could not connect to {SECRET_SOURCE}: timeout")
        feed = CameraFeed("cam-x", refuse, backoff_start=0.0)
        feed.run(stop)
    assert "pa55w0rd" not in caplog.text and "tok123" not in caplog.text
    assert "pa55w0rd" not in feed.stats.error and "rtsp://***@10.0.0.5" in feed.stats.error


def test_a_workers_error_text_is_stored_masked(client, post_obs, camera, login):
    r = post_obs({"status": "offline", "error": f"cannot open {SECRET_SOURCE}"}, people=None,
                 areas=None)
    assert r.status_code == 201
    login("staff")
    state = client.get("/api/crowd/state").get_data(as_text=True)
    assert "pa55w0rd" not in state and "tok123" not in state


@pytest.mark.parametrize("source, shown", [
    ("rtsp://u:p@h/s", "rtsp://***@h/s"),
    ("rtsp://onlyuser@h/s", "rtsp://***@h/s"),
    ("http://cam/video.cgi?user=admin&pwd=xx&resolution=640x480",
     "http://cam/video.cgi?user=***&pwd=***&resolution=640x480"),
    ("https://cam/x?sessiontoken", "https://cam/x?***"),
    ("https://cam/x#access_token=abc", "https://cam/x#***"),
    ("data/crowd/vtest-clip.mp4", "data/crowd/vtest-clip.mp4"),
])
def test_mask_source(source, shown):
    assert mask_source(source) == shown
    assert mask_urls_in(f"error: {source} failed") == f"error: {shown} failed"
