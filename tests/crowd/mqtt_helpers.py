"""A real mosquitto for the MQTT tests (Debian's package), and small MQTT helpers."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from crowd import broker
from crowd.mqtt_client import BrokerAddress
from crowd.mqtt_topics import Topics

TOPICS = Topics("scenic")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


class Mosquitto:
    """mosquitto on a free loopback port with the config crowd.broker generates (no
    persistence), its password file and ACL in ``folder``; restartable on the same port."""

    def __init__(self, folder: Path):
        self.files = broker.BrokerFiles(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.files.conf.write_text(broker.conf_text(self.files, host="127.0.0.1",
                                                    port=self.port, persistence=False))
        for f in (self.files.passwd, self.files.acl):
            if not f.exists():
                f.write_text("\n")
        self.proc = None
        self.log = folder / "mosquitto.log"

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress("127.0.0.1", self.port, keepalive=2)

    def start(self) -> "Mosquitto":
        binary = broker.mosquitto_binary()
        assert binary, "mosquitto is not installed (scripts/setup.sh installs it)"
        self.proc = subprocess.Popen([binary, "-c", str(self.files.conf)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"))
        self.files.pid.write_text(str(self.proc.pid))
        assert wait_for(self._listening, 10), self.log.read_text()[-2000:]
        return self

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None

    def sync(self, db, clock) -> None:
        """The broker's password file and ACL from this test's database, reloaded."""
        broker.sync_files(db, self.files, TOPICS, clock=clock, host="127.0.0.1",
                          port=self.port, persistence=False)


class Subscriber:
    """A plain paho client that records what it receives (any account)."""

    def __init__(self, address: BrokerAddress, username: str, password: str, *filters):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.refused = None
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)

        def on_connect(c, _u, _f, reason, _p):
            if reason.is_failure:
                self.refused = str(reason)
                self.ready.set()
                return
            for f in filters:
                c.subscribe(f, qos=1)
            self.ready.set()

        def on_message(_c, _u, msg):
            with self.lock:
                self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

        self.client.on_connect, self.client.on_message = on_connect, on_message
        self.client.connect(address.host, address.port, keepalive=5)
        self.client.loop_start()
        assert self.ready.wait(5)
        time.sleep(0.2)   # subscriptions acknowledged

    def json_on(self, topic: str) -> list[dict]:
        with self.lock:
            return [json.loads(p) for t, p, _r in self.messages if t == topic and p]

    def topics(self) -> set[str]:
        with self.lock:
            return {t for t, _p, _r in self.messages}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def mosquitto_available() -> bool:
    return broker.mosquitto_binary() is not None and shutil.which("mosquitto_passwd") is not None


def env_without_proxy() -> dict:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
