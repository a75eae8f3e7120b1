"""The worker's observations over MQTT (``CROWD_WORKER_TRANSPORT=mqtt``): a ``Poster``
that publishes each report at QoS 1 to ``<prefix>/worker/<device>/observations`` and returns
once the broker acknowledged it; the camera list and live frames still go over HTTP.

The worker's last will (``<prefix>/worker/<device>/status`` = offline, retained) is sent by
the broker when the worker dies or loses its network, and the site's bridge marks the
cameras it reported for offline. A clean stop says "offline" itself.
"""
from __future__ import annotations

import json
import socket
from datetime import datetime, timezone

from .mqtt_client import BrokerAddress, Connection, PublishError, Will
from .mqtt_topics import Topics, encode
from .worker import HttpPoster, PostError


def _status(status: str) -> bytes:
    return encode({"schema": "scenic.worker.status", "version": 1, "status": status,
                   "at": datetime.now(timezone.utc).isoformat(timespec="seconds")})


class MqttPoster:
    """Observations through the broker (QoS 1), config and frames through ``http``."""

    def __init__(self, http: HttpPoster, *, device: str, password: str,
                 address: BrokerAddress, topics: Topics, ack_timeout: float = 5.0,
                 connect_timeout: float = 10.0):
        self.http, self.device, self.topics = http, device, topics
        self.ack_timeout = ack_timeout
        self.conn = Connection(f"worker-{device}-{socket.gethostname()}"[:64], device, password,
                               address, will=Will(topics.worker_status(device),
                                                  _status("offline")),
                               on_connect=self._online)
        self.conn.start()
        # A wrong password is a configuration error, not an outage: say so at start.
        self.conn.connected.wait(connect_timeout)
        if self.conn.refused:
            self.conn.stop()
            raise PostError(401, "broker_refused", self.conn.refused)

    def _online(self) -> None:
        self.conn.client.publish(self.topics.worker_status(self.device), _status("online"),
                                 qos=1, retain=True)

    def config(self) -> dict:
        return self.http.config()

    def frame(self, camera_id: str, jpeg: bytes) -> None:
        self.http.frame(camera_id, jpeg)

    def observation(self, payload: dict) -> dict:
        """Publish one report; raises PostError when the broker cannot take it now (the
        worker keeps the crossings for the next report), returns once acknowledged (or,
        after ``ack_timeout``, while paho still retries it: never sent twice)."""
        body = dict(payload)
        # Each report names its moment: the bridge drops a redelivered copy (QoS 1 is
        # at-least-once), and the site never mistakes an old report for a new one.
        body.setdefault("observed_at",
                        datetime.now(timezone.utc).isoformat(timespec="microseconds"))
        try:
            acked = self.conn.publish(self.topics.worker_observations(self.device),
                                      json.dumps(body, separators=(",", ":")).encode(), qos=1,
                                      wait=self.ack_timeout)
        except PublishError as exc:
            status = 403 if exc.code == "not_authorized" else 503
            raise PostError(status, exc.code, str(exc)) from None
        return {"camera_id": payload.get("camera_id"), "published": True, "acked": acked}

    def close(self) -> None:
        """A clean stop: say offline (the broker sends no will then), then disconnect."""
        try:
            self.conn.publish(self.topics.worker_status(self.device), _status("offline"),
                              qos=1, retain=True, wait=2.0)
        except PublishError:
            pass   # not connected: the will (or the site's staleness) says it instead
        self.conn.stop()
