"""A connection to the MQTT broker (paho-mqtt 2.x, MQTT 5) shared by the worker's poster
and the site's bridge: connects in the background, reconnects with backoff (0.5 s doubling
to 30 s) when the broker goes away, keeps its own outgoing queue bounded, and lets a caller
wait for the broker's acknowledgement of a QoS 1 message.

paho-mqtt is the Eclipse Foundation's client, the one mosquitto, EMQX and Frigate's users
document; MQTT 5 because its PUBACK carries a reason code, so a publish the broker's ACL
refuses is an error we see instead of a silent drop.
"""
from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("scenic.crowd.mqtt")

MAX_QUEUED = 200   # messages paho holds while the broker is away or slow


class PublishError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


@dataclass(frozen=True)
class BrokerAddress:
    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False          # TLS with the system's CA certificates (external brokers)
    keepalive: int = 15        # seconds; a dead peer's last will goes out after 1.5x this


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class Connection:
    """One paho client on its own network thread. ``on_connect`` runs (on that thread)
    after every successful (re)connect; ``on_message(topic, payload, retain)`` for each
    message of the subscriptions, which are renewed on every reconnect."""

    def __init__(self, client_id: str, username: str, password: str, address: BrokerAddress,
                 *, will: Will | None = None, subscriptions: tuple = (),
                 on_message: Callable | None = None, on_connect: Callable | None = None):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        self.address = address
        self.subscriptions = tuple(subscriptions)
        self._on_message, self._on_connect_cb = on_message, on_connect
        self.connected = threading.Event()
        # Set once the broker acknowledged every subscription of this connection: messages
        # published before that are not delivered to us (nothing subscribed yet).
        self.subscribed = threading.Event()
        self._pending_subs: set[int] = set()
        self.refused: str | None = None   # the broker's reason when it refused us
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        if address.tls:
            self.client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        if will is not None:
            self.client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self.client.max_queued_messages_set(MAX_QUEUED)
        self.client.reconnect_delay_set(min_delay=0.5, max_delay=30)
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message
        self.client.on_publish = self._published
        self.client.on_subscribe = self._subscribed
        self._acks: dict[int, object] = {}
        self._ack_ready = threading.Condition()

    def start(self) -> "Connection":
        # connect_async + loop_start: the first attempt and every retry run on paho's thread,
        # so a broker that is down at start is the same case as one that goes away later.
        self.client.connect_async(self.address.host, self.address.port,
                                  keepalive=self.address.keepalive)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.connected.clear()   # a chosen stop is not a lost connection
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self.connected.clear()

    def _connected(self, client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            log.warning("broker refused the connection: %s", reason,
                        extra={"event": "mqtt_refused"})
            return
        self.refused = None
        self.subscribed.clear()
        self._pending_subs = {client.subscribe(topic, qos=qos)[1]
                              for topic, qos in self.subscriptions}
        if not self._pending_subs:
            self.subscribed.set()
        self.connected.set()
        if self._on_connect_cb is not None:
            self._on_connect_cb()

    def _disconnected(self, _client, _userdata, _flags, reason, _props) -> None:
        if self.connected.is_set():
            log.warning("broker connection lost (%s); reconnecting", reason,
                        extra={"event": "mqtt_disconnected"})
        self.connected.clear()
        self.subscribed.clear()

    def _subscribed(self, _client, _userdata, mid, _reasons, _props) -> None:
        self._pending_subs.discard(mid)
        if not self._pending_subs:
            self.subscribed.set()

    def _message(self, _client, _userdata, msg) -> None:
        if self._on_message is not None:
            self._on_message(msg.topic, msg.payload, bool(msg.retain))

    def _published(self, _client, _userdata, mid, reason, _props) -> None:
        with self._ack_ready:
            self._acks[mid] = reason
            while len(self._acks) > 1000:   # acks nobody waits for (bounded)
                del self._acks[next(iter(self._acks))]
            self._ack_ready.notify_all()

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False,
                wait: float | None = None) -> bool:
        """Hand a message to paho. Raises ``PublishError`` if it is not taken (not connected,
        queue full) or, with ``wait``, if the broker refuses it; returns whether the broker
        acknowledged it within ``wait`` seconds (QoS 1; paho keeps retrying one taken but
        not yet acknowledged, so it must not be sent again)."""
        import paho.mqtt.client as mqtt
        if not self.connected.is_set():
            raise PublishError("broker_unavailable", "not connected to the broker")
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise PublishError("broker_busy", "too many messages waiting for the broker")
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise PublishError("publish_failed", mqtt.error_string(info.rc))
        if wait is None or qos == 0:
            return info.rc == mqtt.MQTT_ERR_SUCCESS
        with self._ack_ready:
            self._ack_ready.wait_for(lambda: info.mid in self._acks, timeout=wait)
            reason = self._acks.pop(info.mid, None)
        if reason is None:
            return False
        if getattr(reason, "is_failure", False):
            raise PublishError("not_authorized" if getattr(reason, "value", 0) == 0x87
                               else "refused", str(reason))
        return True
