"""MQTT with a real mosquitto: workers' observations in through the site's bridge (the same
ingest, validation and stored rows as HTTP), state and alert events out, the worker's last
will, the broker's authorisation, and reconnecting after the broker restarts."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.auth import deactivate_account, find_account
from core.files import write_secret
from crowd import broker, repo, services
from crowd.mqtt_client import Connection, PublishError
from crowd.mqtt_poster import MqttPoster
from crowd.worker import PostError

from mqtt_helpers import TOPICS, Mosquitto, Subscriber, wait_for

ROOT = Path(__file__).resolve().parents[2]
SITE_TOPIC = TOPICS.site_occupancy("sankong", "kongmiao")


class NoHttp:
    """The worker's HTTP side is not under test here (config and frames)."""

    def config(self):
        return {"cameras": []}

    def frame(self, camera_id, jpeg):
        pass


def poster(site, password=None, device="cam-worker-1", address=None):
    return MqttPoster(NoHttp(), device=device, password=password or site.worker_pw,
                      address=address or site.broker.address, topics=TOPICS,
                      connect_timeout=5)


def obs(people=3, **extra):
    return dict({"camera_id": "cam-a", "status": "online", "people": people,
                 "areas": {"path": people}, "lines": {"mid": {"in": 1, "out": 0}}}, **extra)


def state(db):
    return repo.camera_state(db, "cam-a")


def test_observation_over_mqtt_is_ingested_like_http_and_occupancy_is_published(
        mqtt_site, db, client):
    sign = mqtt_site.subscribe("sign-1", mqtt_site.reader_pw, SITE_TOPIC,
                               TOPICS.camera_status("cam-a"))
    mqtt_site.start_bridge()
    p = poster(mqtt_site)
    answer = p.observation(obs(7))
    assert answer["acked"] is True
    assert wait_for(lambda: state(db) is not None and state(db)["counted"] == 7)
    row = state(db)
    assert row["status"] == "online" and row["ins_total"] == 1
    # The same report over HTTP lands in the same rows the same way.
    r = client.post("/api/crowd/observations", json=obs(7),
                    headers={"Authorization": f"Bearer {mqtt_site.token}"})
    assert r.status_code == 201 and state(db)["ins_total"] == 2
    assert wait_for(lambda: any(m["people"] == 7 for m in sign.json_on(SITE_TOPIC)))
    msg = [m for m in sign.json_on(SITE_TOPIC) if m["people"] == 7][-1]
    assert msg["schema"] == "scenic.occupancy" and msg["version"] == 1
    assert msg["site_id"] == "kongmiao" and msg["name"]["zh"] == "孔庙"
    assert msg["capacity"] == 1900 and msg["ratio"] == round(7 / 1900, 4)
    assert msg["units"]["people"] == "persons" and msg["at"].endswith("+08:00")
    assert wait_for(lambda: any(m["status"] == "online"
                                for m in sign.json_on(TOPICS.camera_status("cam-a"))))
    # A clean stop says so: the worker's cameras read offline, not a stale count.
    p.close()
    assert wait_for(lambda: state(db)["status"] == "offline")


def test_state_topics_are_retained_for_late_subscribers(mqtt_site, db):
    mqtt_site.start_bridge()
    p = poster(mqtt_site)
    p.observation(obs(4))
    assert wait_for(lambda: state(db) is not None and state(db)["counted"] == 4)
    time.sleep(0.3)
    late = mqtt_site.subscribe("sign-1", mqtt_site.reader_pw, SITE_TOPIC,
                               TOPICS.zone_occupancy("sankong", "kongmiao", "qianyuan"))
    assert wait_for(lambda: any(m["people"] == 4 for m in late.json_on(SITE_TOPIC)))
    zone = late.json_on(TOPICS.zone_occupancy("sankong", "kongmiao", "qianyuan"))
    assert zone and zone[-1]["scope"] == "zone" and zone[-1]["people"] == 4
    assert all(r for _t, _p, r in late.messages)   # delivered from the retained store
    p.close()


def test_bad_reports_get_the_same_codes_as_http_and_store_nothing(mqtt_site, db):
    conn = Connection("raw-worker", "cam-worker-1", mqtt_site.worker_pw,
                      mqtt_site.broker.address).start()
    assert conn.connected.wait(5)
    topic = TOPICS.worker_observations("cam-worker-1")
    # A retained report would come back at every restart of the bridge as if new: refused.
    conn.publish(topic, json.dumps(obs(2)).encode(), qos=1, retain=True, wait=5)
    bridge = mqtt_site.start_bridge()
    try:
        for body in (b"{not json", json.dumps({"camera_id": "cam-a", "status": "online",
                                                "people": 2, "areas": {"elsewhere": 1}}),
                     json.dumps(obs(2, areas={})), json.dumps(obs(-1)),
                     json.dumps({"camera_id": "nope", "people": 1}), b"[1, 2, 3]"):
            assert conn.publish(topic, body if isinstance(body, bytes) else body.encode(),
                                qos=1, wait=5)
    finally:
        conn.publish(topic, b"", qos=1, retain=True, wait=5)   # skipped by the bridge
        conn.stop()
    assert wait_for(lambda: sum(bridge.rejected.values()) >= 7)
    time.sleep(0.3)
    assert dict(bridge.rejected) == {"invalid_json": 2, "unknown_area": 1, "missing_area": 1,
                                     "invalid_number": 1, "camera_not_allowed": 1,
                                     "retained_observation": 1}
    assert state(db) is None and repo.raw_count(db, "cam-a") == 0


def test_a_redelivered_report_is_stored_once(mqtt_site, db):
    bridge = mqtt_site.start_bridge()
    conn = Connection("dup-worker", "cam-worker-1", mqtt_site.worker_pw,
                      mqtt_site.broker.address).start()
    assert conn.connected.wait(5)
    body = json.dumps(obs(5, observed_at="2026-07-15T02:00:00.000001+00:00")).encode()
    try:
        for _ in range(3):
            conn.publish(TOPICS.worker_observations("cam-worker-1"), body, qos=1, wait=5)
    finally:
        conn.stop()
    assert wait_for(lambda: bridge.stats["duplicates"] == 2)
    assert repo.raw_count(db, "cam-a") == 1 and state(db)["ins_total"] == 1


def test_a_dead_worker_s_last_will_marks_its_cameras_offline(mqtt_site, db):
    bridge = mqtt_site.start_bridge()
    sub = mqtt_site.subscribe("sign-1", mqtt_site.reader_pw, TOPICS.camera_status("cam-a"))
    # A worker in its own process, killed with SIGKILL after one report: no goodbye.
    code = (f"import sys, time; sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]\n"
            "from test_mqtt import NoHttp\nfrom crowd.mqtt_poster import MqttPoster\n"
            "from crowd.mqtt_client import BrokerAddress\nfrom crowd.mqtt_topics import Topics\n"
            f"p = MqttPoster(NoHttp(), device='cam-worker-1', password={mqtt_site.worker_pw!r},"
            f" address=BrokerAddress('127.0.0.1', {mqtt_site.broker.port}, keepalive=2),"
            " topics=Topics('scenic'))\n"
            "p.observation({'camera_id': 'cam-a', 'status': 'online', 'people': 2, "
            "'areas': {'path': 2}})\nprint('sent', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "sent"
        assert wait_for(lambda: state(db) is not None and state(db)["status"] == "online")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert wait_for(lambda: state(db)["status"] == "offline", timeout=15)
    assert "cam-worker-1 is offline" in state(db)["error"]
    assert wait_for(lambda: bridge.stats["marked_offline"] == 1)
    assert wait_for(lambda: any(m["status"] == "offline"
                                for m in sub.json_on(TOPICS.camera_status("cam-a"))))


def test_a_worker_reports_over_mqtt_only_for_its_own_cameras(mqtt_site, db, clock):
    """The same per-camera authorisation as HTTP: a second worker device with a broker
    account of its own, but not assigned cam-a, gets nothing stored for it."""
    from core.auth import create_device
    create_device(db, username="cam-worker-2", role="worker", clock=clock)
    other_pw = broker.issue_credential(db, "cam-worker-2", kind="worker", clock=clock)
    mqtt_site.broker.sync(db, clock)
    bridge = mqtt_site.start_bridge()
    assert wait_for(lambda: _connects(mqtt_site, "cam-worker-2", other_pw), 10)
    stranger = poster(mqtt_site, password=other_pw, device="cam-worker-2")
    stranger.observation(obs(9))
    assert wait_for(lambda: bridge.rejected["camera_not_allowed"] == 1)
    assert state(db) is None and repo.raw_count(db, "cam-a") == 0
    # The worker it belongs to still gets in.
    poster(mqtt_site).observation(obs(4))
    assert wait_for(lambda: bridge.stats["ingested"] == 1)
    assert state(db)["counted"] == 4


def _connects(site, username, password) -> bool:
    conn = Connection("probe-" + username, username, password, site.broker.address).start()
    try:
        return conn.connected.wait(2)
    finally:
        conn.stop()


def test_broker_authorisation(mqtt_site, db, clock):
    bridge = mqtt_site.start_bridge()
    # A wrong password is refused at once, with a clear error.
    with pytest.raises(PostError) as exc:
        poster(mqtt_site, password="not-the-password")
    assert exc.value.code == "broker_refused"
    # No account at all (anonymous access is off).
    anon = Connection("anon", "", "", mqtt_site.broker.address).start()
    time.sleep(1.0)
    assert not anon.connected.is_set() and anon.refused is not None
    anon.stop()
    # A worker may not publish as another worker, nor as the site.
    conn = Connection("w1", "cam-worker-1", mqtt_site.worker_pw,
                      mqtt_site.broker.address).start()
    assert conn.connected.wait(5)
    try:
        for topic in (TOPICS.worker_observations("cam-worker-2"), SITE_TOPIC,
                      TOPICS.alert(1)):
            with pytest.raises(PublishError) as refused:
                conn.publish(topic, json.dumps(obs(9)).encode(), qos=1, wait=5)
            assert refused.value.code == "not_authorized"
        # ... and reads nothing, its own topics included.
        conn.client.subscribe("scenic/#", qos=1)
        time.sleep(0.5)
        got = []
        conn._on_message = lambda t, p, r: got.append(t)
        conn.publish(TOPICS.worker_observations("cam-worker-1"), json.dumps(obs(1)).encode(),
                     qos=1, wait=5)
        time.sleep(0.5)
        assert got == []
    finally:
        conn.stop()
    # A reader reads, and writes nothing.
    reader = Connection("r1", "sign-1", mqtt_site.reader_pw, mqtt_site.broker.address).start()
    assert reader.connected.wait(5)
    for topic in (TOPICS.worker_observations("sign-1"), SITE_TOPIC):
        with pytest.raises(PublishError):
            reader.publish(topic, json.dumps(obs(9)).encode(), qos=1, wait=5)
    reader.stop()
    assert wait_for(lambda: bridge.stats["ingested"] == 1)
    assert state(db)["counted"] == 1   # only the worker's own report got in


def test_a_deactivated_device_loses_the_broker(mqtt_site, db, clock, make_user):
    p = poster(mqtt_site)
    admin = make_user("admin")
    deactivate_account(db, user_id=find_account(db, "cam-worker-1").id, by=admin, clock=clock)
    mqtt_site.broker.sync(db, clock)
    assert "cam-worker-1:" not in mqtt_site.broker.files.passwd.read_text()
    assert wait_for(lambda: not p.conn.connected.is_set(), timeout=10)
    with pytest.raises(PostError) as exc:
        p.observation(obs(1))
    assert exc.value.code == "broker_unavailable"
    p.conn.stop()


def test_reconnect_after_the_broker_restarts(mqtt_site, db, clock, tmp_path):
    own = Mosquitto(tmp_path / "restarting").start()
    try:
        write_secret(own.files.bridge_secret, mqtt_site.bridge_pw)   # the same site
        own.sync(db, clock)
        time.sleep(0.3)
        bridge = mqtt_site.start_bridge(address=own.address)
        p = poster(mqtt_site, address=own.address)
        p.observation(obs(2))
        assert wait_for(lambda: state(db) is not None and state(db)["counted"] == 2)
        own.stop()
        assert wait_for(lambda: not p.conn.connected.is_set())
        with pytest.raises(PostError) as exc:
            p.observation(obs(3))
        assert exc.value.code == "broker_unavailable" and exc.value.status == 503
        own.start()
        assert wait_for(lambda: p.conn.connected.is_set() and bridge.conn.connected.is_set(),
                        timeout=40)
        p.observation(obs(6))
        assert wait_for(lambda: state(db)["counted"] == 6)
        # The restarted broker kept nothing; the bridge published the state again.
        sign = Subscriber(own.address, "sign-1", mqtt_site.reader_pw, SITE_TOPIC)
        try:
            assert wait_for(lambda: any(m["people"] == 6 for m in sign.json_on(SITE_TOPIC)))
        finally:
            sign.close()
        p.close()
    finally:
        own.stop()


def test_alert_events_and_sales_pauses_are_published(mqtt_site, db, clock, login):
    policy = services.Policy(outbox_max=100, thresholds=services.alert_levels.Thresholds(
        debounce_s=0))
    bridge = mqtt_site.start_bridge(policy=policy)
    sub = mqtt_site.subscribe("sign-1", mqtt_site.reader_pw, "scenic/alert/+",
                              TOPICS.sales("kongmiao"))
    # 1800 people in a site of 1900 (instant): warning -> an alert and sales paused.
    services.ingest(db, obs(1800, lines={}), worker=mqtt_site.device, clock=clock,
                    policy=policy)
    assert wait_for(lambda: any(m["paused"] for m in sub.json_on(TOPICS.sales("kongmiao"))))
    paused = [m for m in sub.json_on(TOPICS.sales("kongmiao")) if m["paused"]][-1]
    assert paused["by"] == ["crowd-monitor"] and paused["event"] == "paused"
    assert paused["today_only"] is True           # the monitor's pause: today's slots only
    site_alert = next(a for a in services.list_alerts(db, active_only=True)
                      if a["scope"] == "site")
    topic = TOPICS.alert(site_alert["id"])
    assert wait_for(lambda: sub.json_on(topic))
    raised = sub.json_on(topic)[0]
    assert raised["event"] == "raised" and raised["level"] == "warning"
    assert raised["people"] == 1800 and raised["units"]["people"] == "persons"
    user = login("staff")
    services.acknowledge(db, site_alert["id"], user=user, clock=clock, policy=policy)
    assert wait_for(lambda: any(m["event"] == "acknowledged" for m in sub.json_on(topic)))
    services.ingest(db, obs(10, lines={}), worker=mqtt_site.device, clock=clock,
                    policy=policy)
    assert wait_for(lambda: any(m["event"] == "cleared" for m in sub.json_on(topic)))
    assert wait_for(lambda: not sub.json_on(TOPICS.sales("kongmiao"))[-1]["paused"])
    assert wait_for(lambda: repo.outbox(db, 10) == [])
    # A cleared alert leaves nothing retained: a late subscriber sees no alert.
    late = mqtt_site.subscribe("sign-1", mqtt_site.reader_pw, topic)
    time.sleep(0.5)
    assert late.json_on(topic) == []
    assert bridge.stats["events_published"] >= 3


def test_the_outbox_is_bounded_and_requests_never_wait_for_a_broker(app, db, camera, clock,
                                                                      client, worker_token,
                                                                      worker_account):
    policy = services.Policy(outbox_max=3, thresholds=services.alert_levels.Thresholds(
        debounce_s=0))
    for people in (9, 0, 9, 0, 9, 0):    # area alert raised and cleared three times
        services.ingest(db, obs(people, lines={}), worker=worker_account[0], clock=clock,
                        policy=policy)
    assert len(repo.outbox(db, 100)) == 3
    # No broker is running for this app: the HTTP ingest answers as ever.
    t = time.monotonic()
    r = client.post("/api/crowd/observations", json=obs(1),
                    headers={"Authorization": f"Bearer {worker_token}"})
    assert r.status_code == 201 and time.monotonic() - t < 2


def test_broker_files_hold_no_password_and_only_their_owner_reads_them(mqtt_site):
    files = mqtt_site.broker.files
    text = files.passwd.read_text()
    assert mqtt_site.worker_pw not in text and mqtt_site.reader_pw not in text
    assert "cam-worker-1:$7$" in text and "sign-1:$7$" in text
    for f in (files.passwd, files.acl, files.bridge_secret):
        assert os.stat(f).st_mode & 0o077 == 0
    acl = files.acl.read_text()
    assert "user cam-worker-1\ntopic write scenic/worker/cam-worker-1/observations" in acl
    assert "pattern" not in acl
    assert "user sign-1\ntopic read scenic/+/+/occupancy" in acl
    assert "allow_anonymous false" in files.conf.read_text()


def test_reader_names_cannot_take_a_device_s_topics(db, clock, device_token):
    from core.errors import DomainError
    device_token("worker", username="gate-like")
    with pytest.raises(DomainError) as exc:
        broker.issue_credential(db, "gate-like", kind="reader", clock=clock)
    assert exc.value.code == "name_taken"
    with pytest.raises(DomainError) as exc:
        broker.issue_credential(db, "nobody-here", kind="worker", clock=clock)
    assert exc.value.code == "not_a_worker"
    with pytest.raises(DomainError) as exc:
        broker.issue_credential(db, "bad:name", kind="reader", clock=clock)
    assert exc.value.code == "invalid_username"


def test_the_entrance_sign_example_shows_the_site(mqtt_site, db, tmp_path):
    mqtt_site.start_bridge()
    p = poster(mqtt_site)
    p.observation(obs(1234, lines={}))
    assert wait_for(lambda: state(db) is not None and state(db)["counted"] == 1234)
    secret = tmp_path / "sign.secret"
    secret.write_text(mqtt_site.reader_pw)
    outputs = {}
    for lang in ("zh", "en"):
        done = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "entrance_sign.py"), "--site", "kongmiao",
             "--port", str(mqtt_site.broker.port), "--username", "sign-1", "--password-file",
             str(secret), "--lang", lang, "--once", "--timeout", "20"],
            capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        outputs[lang] = done.stdout.strip().splitlines()[-1]
    assert outputs["zh"] == "孔庙 在园 1,234 人 · 舒适"
    assert outputs["en"] == "Temple of Confucius: 1,234 visitors · Comfortable"
    p.close()
