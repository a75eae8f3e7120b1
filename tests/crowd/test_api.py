"""The ingest API, occupancy, alerts and sales pausing through real HTTP calls (the Flask
test client) on a real SQLite file."""
from __future__ import annotations

import json

import pytest

from catalog import services as catalog
from crowd import services
from gates import repo as gates_repo
from gates import services as gates
from ticketing import quota


from testkit import csrf_of  # noqa: E402


def auth(token):
    return {"Authorization": f"Bearer {token}"}


# --- auth --------------------------------------------------------------------------------

def test_ingest_needs_a_worker_token(client, camera, device_token):
    body = {"camera_id": "cam-a", "status": "online", "people": 1, "areas": {"path": 1}}
    r = client.post("/api/crowd/observations", json=body)
    assert r.status_code == 401 and r.json["error"] == "missing_token"
    r = client.post("/api/crowd/observations", json=body, headers=auth("not-a-token"))
    assert r.status_code == 401 and r.json["error"] == "bad_token"
    r = client.post("/api/crowd/observations", json=body, headers=auth(device_token("gate")))
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    r = client.get("/api/crowd/worker/config", headers=auth(device_token("gate")))
    assert r.status_code == 403


def test_worker_config_lists_enabled_cameras_with_regions(client, camera, worker_token):
    r = client.get("/api/crowd/worker/config", headers=auth(worker_token))
    assert r.status_code == 200
    cam = r.json["cameras"][0]
    assert cam["id"] == "cam-a" and cam["source"] == "data/crowd/vtest-clip.mp4"
    assert {x["name"] for x in cam["regions"]} == {"path", "mid"}


# --- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("fields, code", [
    ({"people": -1}, "invalid_number"),
    ({"people": "many"}, "invalid_number"),
    ({"people": True}, "invalid_number"),
    ({"areas": {"nowhere": 1}}, "unknown_area"),
    ({"areas": {}}, "missing_area"),
    ({"areas": {"path": 1.5}}, "invalid_number"),
    ({"areas": [1]}, "invalid_areas"),
    ({"lines": {"mid": {"in": -2}}}, "invalid_number"),
    ({"lines": {"ghost": {"in": 1}}}, "unknown_line"),
    ({"lines": {"mid": {"sideways": 1}}}, "invalid_lines"),
    ({"status": "asleep"}, "invalid_status"),
    ({"status": "offline", "people": 0}, "counts_while_offline"),
    ({"heat": [[99, 0, 1]]}, "invalid_number"),
    ({"surprise": 1}, "unknown_field"),
    # A camera the worker may not report for, existing or not: the same 403.
    ({"camera_id": "nope"}, "camera_not_allowed"),
    ({"camera_id": 7}, "camera_not_allowed"),
])
def test_malformed_observations_get_a_stable_code_and_store_nothing(post_obs, camera, db,
                                                                    fields, code):
    r = post_obs(fields)
    assert r.status_code == (403 if code == "camera_not_allowed" else 400), r.json
    assert r.json["error"] == code
    assert db.execute("SELECT count(*) FROM crowd_observations").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM crowd_camera_state").fetchone()[0] == 0


def test_missing_people_is_refused(client, camera, worker_token):
    r = client.post("/api/crowd/observations", json={"camera_id": "cam-a", "areas": {"path": 1}},
                    headers=auth(worker_token))
    assert r.status_code == 400 and r.json["error"] == "missing_people"


def test_non_json_body_is_refused(client, camera, worker_token):
    r = client.post("/api/crowd/observations", data="people=3", headers=auth(worker_token))
    assert r.status_code == 400 and r.json["error"] == "invalid_json"


# --- storing and reading back -----------------------------------------------------------------

def test_observation_updates_occupancy_trend_and_heat(post_obs, camera, db, clock, login, client,
                                                      app):
    r = post_obs(people=6, areas={"path": 5}, lines={"mid": {"in": 2, "out": 1}},
                 heat=[[3, 4, 2], [31, 23, 1]], fps=4.5, dropped_frames=3)
    assert r.status_code == 201 and r.json["counted"] == 5
    zones = services.zone_levels(db, clock)
    assert zones["qianyuan"].people == 5 and zones["qianyuan"].stale is False
    assert zones["qianyuan"].level == "normal"
    assert zones["dacheng"].people is None and zones["dacheng"].level == "unknown"
    occ = services.site_occupancy(db, "kongmiao", clock)
    assert occ.camera_people == 5 and occ.people >= 5 and "cameras" in occ.source
    login("staff")
    t = client.get("/api/crowd/trend?window=hour").json
    assert t["points"][-1]["people"] == 5 and t["points"][-1]["ins"] == 2
    h = client.get("/api/crowd/cameras/cam-a/heatmap").json
    assert h["cells"][4 * h["cols"] + 3] == 2 and h["max"] == 2
    st = client.get("/api/crowd/state").json
    cam = [c for c in st["cameras"] if c["camera_id"] == "cam-a"][0]
    assert cam["status"] == "online" and cam["counted"] == 5 and cam["dropped"] == 3
    # The heatmap fades: after one half-life the cell holds half, and new heat adds to that.
    clock.advance(minutes=app.config["CROWD_HEAT_HALF_LIFE_MINUTES"])
    assert client.get("/api/crowd/cameras/cam-a/heatmap").json["cells"][4 * 32 + 3] == 1
    post_obs(people=6, areas={"path": 5}, heat=[[3, 4, 2]])
    h = client.get("/api/crowd/cameras/cam-a/heatmap").json
    assert h["cells"][4 * 32 + 3] == 3 and h["cells"][23 * 32 + 31] == 0.5
    clock.advance(hours=12)   # long quiet: cells fade to nothing, the grid stays 32x24
    h = client.get("/api/crowd/cameras/cam-a/heatmap").json
    assert h["max"] == 0 and len(h["cells"]) == 32 * 24


def test_rollups_downsample_and_raw_history_is_bounded(post_obs, camera, db, clock, app):
    app.config["CROWD_RAW_RETENTION_MINUTES"] = 2
    for i in range(30):
        assert post_obs(people=i % 4, areas={"path": i % 4}).status_code == 201
        clock.advance(seconds=10)
    raw = db.execute("SELECT count(*) FROM crowd_observations").fetchone()[0]
    assert raw <= 13   # two minutes of 10-second reports, not all thirty
    minutes = db.execute("SELECT count(*), sum(samples) FROM crowd_rollups").fetchone()
    assert minutes[1] == 30 and 5 <= minutes[0] <= 6


def test_offline_camera_reads_unknown_never_zero(post_obs, camera, db, clock):
    post_obs(people=4, areas={"path": 4})
    r = post_obs({"status": "offline", "error": "cannot open source"}, people=None, areas=None)
    assert r.status_code == 201 and r.json["counted"] is None
    z = services.zone_levels(db, clock)["qianyuan"]
    assert z.people is None and z.level == "unknown" and z.stale is True
    alerts = services.list_alerts(db, active_only=True)
    assert [(a["kind"], a["target_id"]) for a in alerts] == [("camera_offline", "cam-a")]
    assert alerts[0]["target_name"] == {"zh": "Test camera", "en": "Test camera"}
    assert "cannot open source" in alerts[0]["detail"]
    post_obs(people=2, areas={"path": 2})      # back online: the alert resolves
    assert services.list_alerts(db, active_only=True) == []


def test_silent_camera_goes_stale_and_raises_offline(post_obs, camera, db, clock, app):
    post_obs(people=3, areas={"path": 3})
    clock.advance(seconds=app.config["CROWD_STALE_SECONDS"] + 1)
    services.evaluate(db, clock, services.Policy.from_config(app.config))
    z = services.zone_levels(db, clock, policy=services.Policy.from_config(app.config))
    assert z["qianyuan"].people is None and z["qianyuan"].stale
    kinds = [a["kind"] for a in services.list_alerts(db, active_only=True)]
    assert kinds == ["camera_offline"]


# --- capacity alerts, acknowledgement, sales pause -------------------------------------------

def test_area_alert_debounce_hysteresis_and_acknowledge(post_obs, camera, db, clock, login,
                                                         client):
    # Area capacity 10: 9 people is 90% (warning), held for the 10 s debounce.
    post_obs(people=9, areas={"path": 9})
    assert services.list_alerts(db, active_only=True) == []
    clock.advance(seconds=5)
    post_obs(people=9, areas={"path": 9})
    assert services.list_alerts(db, active_only=True) == []
    clock.advance(seconds=6)
    post_obs(people=9, areas={"path": 9})
    [a] = services.list_alerts(db, active_only=True)
    assert (a["scope"], a["target_id"], a["level"], a["state"]) == \
        ("area", "cam-a/path", "warning", "open")
    assert a["target_name"]["en"] == "Test camera / path"

    user = login("staff")
    token = csrf_of(client)
    r = client.post(f"/api/crowd/alerts/{a['id']}/ack")
    assert r.status_code == 400          # no CSRF token
    r = client.post(f"/api/crowd/alerts/{a['id']}/ack", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json["state"] == "acknowledged"
    assert r.json["acknowledged_by"] == user.username
    r = client.post(f"/api/crowd/alerts/{a['id']}/ack", headers={"X-CSRF-Token": token})
    assert r.status_code == 409 and r.json["error"] == "alert_not_open"
    assert client.post("/api/crowd/alerts/99999/ack",
                       headers={"X-CSRF-Token": token}).status_code == 404

    # 7.7 people is below 80% but above 75%: hysteresis keeps the warning.
    for _ in range(3):
        clock.advance(seconds=6)
        post_obs(people=8, areas={"path": 8})
    assert services.list_alerts(db, active_only=True)[0]["state"] == "acknowledged"
    for _ in range(3):
        clock.advance(seconds=6)
        post_obs(people=2, areas={"path": 2})
    assert services.list_alerts(db, active_only=True) == []
    assert services.list_alerts(db)[0]["state"] == "resolved"


def test_site_warning_pauses_sales_and_clearing_resumes(post_obs, camera, db, clock, make_user):
    admin = make_user("admin")
    catalog.adjust_capacity(db, kind="site", target_id="kongmiao", field="instant", value=10,
                            reason="test: a small site", user=admin, clock=clock)
    for _ in range(3):
        post_obs(people=9, areas={"path": 9})
        clock.advance(seconds=6)
    post_obs(people=9, areas={"path": 9})
    assert quota.is_paused(db, "kongmiao")
    # Staff read the reason in either language.
    assert [p["reason"] for p in quota.pauses(db, "kongmiao")] == [
        "人流监控：9/10 人（容量的 90%），预警级 / "
        "crowd monitor: 9/10 people (90% of capacity), level warning"]
    occ = services.site_occupancy(db, "kongmiao", clock)
    assert occ.level == "warning" and occ.people == 9 and occ.capacity == 10
    for _ in range(3):
        post_obs(people=1, areas={"path": 1})
        clock.advance(seconds=6)
    post_obs(people=1, areas={"path": 1})
    assert not quota.is_paused(db, "kongmiao")


def test_pausing_can_be_switched_off_per_site(post_obs, camera, db, clock, make_user, app):
    app.config["CROWD_PAUSE_SALES_SITES"] = ["taishan"]
    catalog.adjust_capacity(db, kind="site", target_id="kongmiao", field="instant", value=10,
                            reason="test", user=make_user("admin"), clock=clock)
    for _ in range(4):
        post_obs(people=10, areas={"path": 10})
        clock.advance(seconds=6)
    assert services.site_occupancy(db, "kongmiao", clock).level == "critical"
    assert not quota.is_paused(db, "kongmiao")


def test_site_uses_the_higher_of_cameras_and_gates(post_obs, camera, db, clock):
    gates.people_inside(db, "kongmiao", clock)   # yesterday's closing check-out happens first
    # Set-up only: 40 people counted in by the gates (the gates domain's own writer).
    gates_repo.add_occupancy(db, "kongmiao", 40, clock.now().isoformat())
    post_obs(people=12, areas={"path": 12})
    occ = services.site_occupancy(db, "kongmiao", clock)
    assert (occ.camera_people, occ.gate_people, occ.people) == (12, 40, 40)
    assert occ.source == "cameras+gates"


# --- pages and roles ---------------------------------------------------------------------------

def test_dashboard_needs_staff(client, login):
    assert client.get("/crowd").status_code == 302
    assert client.get("/api/crowd/state").status_code == 401
    login("staff")
    page = client.get("/crowd?lang=en")
    assert page.status_code == 200 and "Crowd control room" in page.get_data(as_text=True)


def test_public_occupancy_has_a_level_only(client, post_obs, camera):
    post_obs(people=3, areas={"path": 3})
    r = client.get("/api/crowd/sites/kongmiao/occupancy")
    assert r.status_code == 200 and set(r.json) == {"site_id", "level", "ratio"}
    assert client.get("/api/crowd/sites/atlantis/occupancy").status_code == 404


def test_frames_are_validated_and_streamed(client, camera, worker_token, login, app):
    import cv2
    import numpy as np
    ok, jpg = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))
    jpeg = jpg.tobytes()
    r = client.post("/api/crowd/cameras/cam-a/frame", data=b"GIF89a....",
                    headers=dict(auth(worker_token), **{"Content-Type": "image/jpeg"}))
    assert r.status_code == 400 and r.json["error"] == "invalid_jpeg"
    app.config["CROWD_FRAME_MAX_BYTES"] = 10
    r = client.post("/api/crowd/cameras/cam-a/frame", data=jpeg,
                    headers=dict(auth(worker_token), **{"Content-Type": "image/jpeg"}))
    assert r.status_code == 400 and r.json["error"] == "frame_too_large"
    app.config["CROWD_FRAME_MAX_BYTES"] = 600_000
    r = client.post("/api/crowd/cameras/cam-a/frame", data=jpeg,
                    headers=dict(auth(worker_token), **{"Content-Type": "image/jpeg"}))
    assert r.status_code == 201
    login("staff")
    snap = client.get("/crowd/cameras/cam-a/snapshot.jpg")
    assert snap.status_code == 200 and snap.data == jpeg
    app.config["CROWD_SSE_MAX_SECONDS"] = 1
    live = client.get("/crowd/cameras/cam-a/live.mjpg")
    body = live.get_data()      # the stream ends by itself after the bounded time
    assert live.mimetype == "multipart/x-mixed-replace" and jpeg in body


def test_sse_stream_sends_state_and_ends_cleanly(client, camera, post_obs, login, app):
    app.config["CROWD_SSE_MAX_SECONDS"] = 1
    app.config["CROWD_SSE_INTERVAL"] = 0.2
    post_obs(people=4, areas={"path": 4})
    login("staff")
    r = client.get("/crowd/stream")
    text = r.get_data(as_text=True)
    assert r.mimetype == "text/event-stream"
    events = [blk for blk in text.split("\n\n") if blk.startswith("event: state")]
    assert events, text[:200]
    state = json.loads(events[0].split("data: ", 1)[1])
    assert [c["counted"] for c in state["cameras"]] == [4]
    assert text.rstrip().endswith("data: {}")      # the closing "bye" event


def test_stream_slots_are_given_back(client, camera, login, app):
    app.config["CROWD_SSE_MAX_SECONDS"] = 0
    app.config["LIVE_MAX_STREAMS"] = 4
    login("staff")
    for _ in range(4 + 5):
        r = client.get("/crowd/stream")
        r.get_data()
        r.close()
    assert client.get("/crowd/stream").status_code == 200


def test_a_stream_over_the_bound_gets_503_with_retry_after(client, camera, login, app):
    app.config["LIVE_MAX_STREAMS"] = 2
    app.config["CROWD_SSE_MAX_SECONDS"] = 30
    login("staff")
    held = [client.get("/crowd/stream", buffered=False) for _ in range(2)]
    over = client.get("/crowd/stream", headers={"Accept": "application/json"})
    assert over.status_code == 503 and over.json["error"] == "too_many_streams"
    assert over.headers["Retry-After"] == "10"
    mjpeg = client.get("/crowd/cameras/cam-a/live.mjpg")
    assert mjpeg.status_code == 503 and mjpeg.headers["Retry-After"] == "10"
    for r in held:
        r.close()
    again = client.get("/crowd/stream", buffered=False)
    assert again.status_code == 200
    again.close()


def test_alerts_name_their_place_in_both_languages(post_obs, camera, db, clock, app, make_user):
    """Zone and site alerts carry the catalog's names (what the control room shows), in the
    stream's state as in the API."""
    from catalog.services import adjust_capacity
    app.config["CROWD_DEBOUNCE_SECONDS"] = 0
    for kind, target, value in (("zone", "qianyuan", 2), ("site", "kongmiao", 6)):
        adjust_capacity(db, kind=kind, target_id=target, field="instant", value=value,
                        reason="test", user=make_user("admin"), clock=clock)
    post_obs(people=7, areas={"path": 7})
    services.evaluate(db, clock, services.Policy.from_config(app.config))
    state = services.dashboard_state(db, clock, policy=services.Policy.from_config(app.config))
    named = {(a["scope"], a["target_id"]): a["target_name"] for a in state["alerts"]}
    assert named[("zone", "qianyuan")]["zh"] == "棂星门—大中门前院（古柏区）"
    assert named[("zone", "qianyuan")]["en"].startswith("Lingxing Gate to Dazhong Gate")
    assert named[("site", "kongmiao")] == {"zh": "孔庙", "en": "Temple of Confucius"}
