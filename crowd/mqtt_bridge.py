"""The site's MQTT bridge: a process of its own (``flask --app app crowd mqtt-bridge``).

Inbound, it subscribes to every worker's ``<prefix>/worker/<device>/observations`` and
hands each report to ``services.ingest``, the function behind the HTTP ingest API: the same
validation, the same stored rows, the same alert evaluation. The broker's ACL lets a
device publish only under its own name, so the topic names the device; the bridge checks
that it is an active worker account. A worker's last will (``.../status`` offline) marks
the cameras it reported for offline, through the same ingest.

Outbound, it publishes what changed: occupancy per site and zone, camera status, sales
paused/resumed (retained state topics, polled from the database each second) and alert
events (QoS 1, from the outbox table that ``services.evaluate`` writes in the same
transaction as the alert change). Requests never talk to the broker: a gate scan or a
booking costs the same with the broker down, and the bridge catches up when it is back
(paho reconnects with backoff; all state is published again after each reconnect).
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from typing import Callable

from catalog import interface as catalog
from core.auth import find_account
from core.clock import iso
from core.db import connect
from core.errors import DomainError
from ticketing import interface as ticketing

from . import broker, mqtt_topics, repo, services
from .mqtt_client import BrokerAddress, Connection, PublishError, Will
from .mqtt_topics import Topics, encode

log = logging.getLogger("scenic.crowd.mqtt_bridge")

INBOX_SIZE = 500          # reports waiting for the ingest thread (bounded)
SEEN_SIZE = 4096          # recent (device, camera, observed_at): redelivered copies dropped
RETAINED_EVENTS = ("raised", "escalated", "lowered", "updated", "acknowledged")
VOLATILE = ("at", "last_report_at")   # fields that change without the state changing


class Bridge:
    def __init__(self, *, db_path: str, busy_ms: int, clock, policy: services.Policy,
                 topics: Topics, address: BrokerAddress, username: str, password: str,
                 sync_broker: Callable | None = None, interval: float = 1.0,
                 refresh: float = 60.0, stop: threading.Event | None = None):
        self.db_path, self.busy_ms = db_path, busy_ms
        self.clock, self.policy, self.topics = clock, policy, topics
        self.interval, self.refresh = interval, refresh
        self.sync_broker = sync_broker   # keeps the broker's password file and ACL current
        self.stop = stop or threading.Event()
        self.inbox: queue.Queue = queue.Queue(maxsize=INBOX_SIZE)
        self.stats = Counter()
        self.rejected = Counter()
        self.cameras_of: dict[str, set] = {}
        self._seen: OrderedDict = OrderedDict()
        self._published: dict[str, tuple] = {}   # topic -> (fingerprint, monotonic time)
        self._republish = threading.Event()
        self.conn = Connection(
            "scenic-bridge", username, password, address,
            will=Will(topics.bridge_status(), encode({"schema": "scenic.bridge.status",
                                                      "version": 1, "status": "offline"})),
            subscriptions=tuple((t, 1) for t in topics.inbound_filters()),
            on_message=self._received, on_connect=self._republish.set)

    # --- inbound ----------------------------------------------------------------------

    def _received(self, topic: str, payload: bytes, retain: bool) -> None:
        """On paho's thread: check the cheap things, queue the rest for the ingest thread."""
        parsed = self.topics.parse_worker(topic)
        if parsed is None:
            return
        device, kind = parsed
        if not payload:
            return   # an empty message only deletes a retained one
        if kind == "observations" and retain:
            # A retained report would come back at every restart as if new.
            self._reject(device, "retained_observation")
            return
        self.stats["received"] += 1
        try:
            self.inbox.put((device, kind, payload), timeout=2.0)
        except queue.Full:
            self.stats["dropped"] += 1
            log.warning("bridge inbox full: report from %s dropped", device,
                        extra={"event": "mqtt_inbox_full"})

    def _reject(self, device: str, code: str) -> None:
        self.rejected[code] += 1
        log.warning("report from worker %s refused: %s", device, code,
                    extra={"event": "mqtt_report_refused", "code": code})

    def handle(self, db, device: str, kind: str, payload: bytes) -> dict | None:
        """One inbound message: an observation through ``services.ingest``, or a worker's
        status. Returns the ingest's answer, or None when refused or not a report."""
        account = find_account(db, device)
        if account is None or account.role != "worker":
            self._reject(device, "not_a_worker")
            return None
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            self._reject(device, "invalid_json")
            return None
        if kind == "status":
            if isinstance(data, dict) and data.get("status") == "offline":
                self._worker_offline(db, account)
            return None
        if isinstance(data, dict):
            key = (device, str(data.get("camera_id")), str(data.get("observed_at")))
            if data.get("observed_at") is not None and key in self._seen:
                self.stats["duplicates"] += 1
                return None
        try:
            # The device is known from the topic the broker's ACL pins to its account: the
            # same call as the HTTP path, so the same per-camera authorisation applies.
            result = services.ingest(db, data, worker=account, clock=self.clock,
                                     policy=self.policy)
        except DomainError as exc:
            self._reject(device, exc.code)
            return None
        if data.get("observed_at") is not None:
            self._seen[key] = True
            while len(self._seen) > SEEN_SIZE:
                self._seen.popitem(last=False)
        # Cameras are known to the site (ingest checked), so this stays bounded.
        self.cameras_of.setdefault(device, set()).add(result["camera_id"])
        self.stats["ingested"] += 1
        return result

    def _worker_offline(self, db, account) -> None:
        device = account.username
        for camera_id in sorted(self.cameras_of.pop(device, ())):
            try:
                services.ingest(db, {"camera_id": camera_id, "status": "offline",
                                     "error": f"worker {device} is offline (MQTT)"},
                                worker=account, clock=self.clock, policy=self.policy)
                self.stats["marked_offline"] += 1
            except DomainError as exc:   # the camera was removed or disabled meanwhile
                self._reject(device, exc.code)

    def _ingest_loop(self) -> None:
        db = connect(self.db_path, self.busy_ms)
        try:
            while not self.stop.is_set():
                try:
                    device, kind, payload = self.inbox.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    self.handle(db, device, kind, payload)
                except Exception:   # one bad report must not stop the bridge
                    log.exception("bridge could not handle a report from %s", device)
        finally:
            db.conn.close()

    # --- outbound ---------------------------------------------------------------------

    def state_messages(self, db) -> dict[str, dict]:
        """Every retained state topic and its payload, as the database says now."""
        at = iso(self.clock.now())
        readings, zones, sites = services.occupancy_now(db, self.clock, policy=self.policy)
        by_site = {s.id: s for s in catalog.list_sites(db)}
        out = {}
        for occ in sites:
            site = by_site[occ.site_id]
            out[self.topics.site_occupancy(site.area_id, site.id)] = \
                mqtt_topics.site_occupancy_payload(occ, site, at)
            for z in occ.zones:
                out[self.topics.zone_occupancy(site.area_id, site.id, z.zone_id)] = \
                    mqtt_topics.zone_occupancy_payload(z, site, at)
            out[self.topics.sales(site.id)] = mqtt_topics.sales_payload(
                ticketing.sales_state(db, site.id), at)
        for rd in readings:
            out[self.topics.camera_status(rd.camera.id)] = \
                mqtt_topics.camera_status_payload(rd, at)
        return out

    def publish_state(self, db) -> int:
        """Publish the state topics whose content changed (or is ``refresh`` s old)."""
        if self._republish.is_set():
            self._republish.clear()
            self._published.clear()
            self.conn.publish(self.topics.bridge_status(), encode(
                {"schema": "scenic.bridge.status", "version": 1, "status": "online",
                 "at": iso(self.clock.now())}), qos=1, retain=True)
        now, sent = time.monotonic(), 0
        for topic, payload in self.state_messages(db).items():
            mark = json.dumps({k: v for k, v in payload.items() if k not in VOLATILE},
                              sort_keys=True, default=str)
            last = self._published.get(topic)
            if last is not None and last[0] == mark and now - last[1] < self.refresh:
                continue
            # Sales changes are events too: QoS 1. Occupancy is superseded every second.
            qos = 1 if payload["schema"] == "scenic.sales" else 0
            self.conn.publish(topic, encode(payload), qos=qos, retain=True)
            self._published[topic] = (mark, now)
            sent += 1
        self.stats["state_published"] += sent
        return sent

    def drain_outbox(self, db, batch: int = 100) -> int:
        """Publish queued alert events at QoS 1; delete those the broker acknowledged."""
        done = []
        for row in repo.outbox(db, batch):
            payload = json.loads(row["payload_json"])
            topic = self.topics.alert(row["key"])
            retain = payload.get("event") in RETAINED_EVENTS
            if not self.conn.publish(topic, encode(payload), qos=1, retain=retain, wait=5.0):
                break   # not acknowledged yet: paho retries it; the rest waits its turn
            if not retain:
                # A cleared alert leaves no retained message behind (an empty retained
                # payload deletes it; subscribers skip empty payloads).
                self.conn.publish(topic, b"", qos=1, retain=True)
            done.append(row["id"])
        repo.delete_outbox(db, done)
        self.stats["events_published"] += len(done)
        return len(done)

    # --- the process --------------------------------------------------------------------

    def run_forever(self, max_seconds: float | None = None, sync_every: float = 10.0) -> None:
        self.conn.start()
        ingest = threading.Thread(target=self._ingest_loop, name="mqtt-ingest", daemon=True)
        ingest.start()
        db = connect(self.db_path, self.busy_ms)
        started, last_sync = time.monotonic(), float("-inf")
        try:
            while not self.stop.is_set():
                if max_seconds is not None and time.monotonic() - started >= max_seconds:
                    break
                if self.sync_broker is not None and time.monotonic() - last_sync >= sync_every:
                    last_sync = time.monotonic()
                    try:
                        self.sync_broker(db)
                    except (OSError, broker.BrokerError) as exc:
                        log.error("cannot update the broker's files: %s", exc)
                if self.conn.connected.is_set():
                    try:
                        self.drain_outbox(db)
                        self.publish_state(db)
                    except PublishError as exc:   # the broker went away mid-round
                        log.warning("publishing paused: %s", exc)
                    except Exception:   # a bug must not end the bridge: log, go on
                        log.exception("bridge round failed")
                self.stop.wait(self.interval)
        finally:
            self.stop.set()
            ingest.join(timeout=5)
            try:
                self.conn.publish(self.topics.bridge_status(), encode(
                    {"schema": "scenic.bridge.status", "version": 1, "status": "offline",
                     "at": iso(self.clock.now())}), qos=1, retain=True, wait=2.0)
            except PublishError:
                pass
            self.conn.stop()
            db.conn.close()


def address_of(cfg) -> BrokerAddress:
    return BrokerAddress(cfg["CROWD_MQTT_HOST"], cfg["CROWD_MQTT_PORT"], cfg["CROWD_MQTT_TLS"])


def bridge_from_config(cfg, instance_path: str, clock, *, interval: float = 1.0,
                       stop: threading.Event | None = None) -> Bridge:
    """The bridge as the settings describe it. With the local broker the bridge also keeps
    its password file and ACL in step with the accounts (every 10 s)."""
    files = broker.files_for(instance_path)
    topics = Topics(cfg["CROWD_MQTT_PREFIX"])
    sync = None
    db = connect(cfg["DATABASE"], cfg["DB_BUSY_TIMEOUT_MS"])
    try:
        if cfg["CROWD_MQTT_BROKER"] == "local":
            def sync(conn):
                return broker.sync_files(conn, files, topics, clock=clock,
                                         host=cfg["CROWD_MQTT_HOST"],
                                         port=cfg["CROWD_MQTT_PORT"])
            sync(db)
            password = broker.bridge_password(db, files, clock=clock)
        elif files.bridge_secret.is_file():
            password = files.bridge_secret.read_text().strip()
        else:
            raise broker.BrokerError(f"no bridge password: write the broker account's "
                                     f"password for {broker.BRIDGE_USER} to "
                                     f"{files.bridge_secret} (mode 0600)")
    finally:
        db.conn.close()
    return Bridge(db_path=cfg["DATABASE"], busy_ms=cfg["DB_BUSY_TIMEOUT_MS"], clock=clock,
                  policy=services.Policy.from_config(cfg), topics=topics,
                  address=address_of(cfg), username=broker.BRIDGE_USER, password=password,
                  sync_broker=sync, interval=interval, stop=stop)
