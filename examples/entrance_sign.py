"""An entrance sign driven by MQTT: shows a site's visitors now and its crowd level.

    python examples/entrance_sign.py --site taishan --host 127.0.0.1 --port 1883 \\
        --username sign-taishan --password-file sign.secret [--lang zh|en] [--once]

prints, each time the site's occupancy changes:

    泰山 在园 12,340 人 · 舒适          (zh)
    Mount Tai: 12,340 visitors · Comfortable   (en)

It subscribes to ``<prefix>/+/<site>/occupancy`` (retained: the sign shows the current
figure as soon as it connects) with a read-only broker account
(``flask --app app crowd mqtt-credentials sign-taishan --reader``). It needs only
paho-mqtt, nothing of the site's code: copy it to the sign's controller and replace
``show()`` with what drives the LED panel.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

# LB/T 034-2014 speaks of comfort and congestion; the words a visitor reads on the sign.
LEVEL_WORDS = {
    "zh": {"normal": "舒适", "notice": "较多", "warning": "拥挤", "critical": "已满",
           "unknown": "暂无数据"},
    "en": {"normal": "Comfortable", "notice": "Busy", "warning": "Crowded", "critical": "Full",
           "unknown": "No data"},
}


def sign_text(payload: dict, lang: str = "zh") -> str:
    """The sign's line for one occupancy message (schema scenic.occupancy, version 1)."""
    name = payload.get("name") or {}
    site = name.get(lang) or name.get("en") or payload.get("site_id", "")
    level = LEVEL_WORDS[lang].get(payload.get("level"), LEVEL_WORDS[lang]["unknown"])
    people = payload.get("people")
    if lang == "zh":
        count = "—" if people is None else f"{people:,}"
        return f"{site} 在园 {count} 人 · {level}"
    count = "—" if people is None else f"{people:,} visitors"
    return f"{site}: {count} · {level}"


def show(text: str) -> None:
    print(text, flush=True)


def main(argv=None) -> int:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", required=True, help="site id, e.g. taishan, kongmiao")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--tls", action="store_true", help="TLS with the system's CAs")
    ap.add_argument("--username", required=True)
    ap.add_argument("--password-file", required=True, type=Path)
    ap.add_argument("--prefix", default="scenic")
    ap.add_argument("--lang", choices=sorted(LEVEL_WORDS), default="zh")
    ap.add_argument("--once", action="store_true", help="exit after the first figure")
    ap.add_argument("--timeout", type=float, default=0, help="give up after this many s")
    args = ap.parse_args(argv)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(args.username, args.password_file.read_text().strip())
    if args.tls:
        client.tls_set()
    client.reconnect_delay_set(1, 60)
    topic = f"{args.prefix}/+/{args.site}/occupancy"
    done = threading.Event()
    state = {"rc": 0}

    def on_connect(c, _u, _f, reason, _p):
        if reason.is_failure:
            print(f"broker refused the sign: {reason}", file=sys.stderr)
            state["rc"] = 2
            done.set()
            return
        c.subscribe(topic, qos=1)

    def on_message(_c, _u, msg):
        if not msg.payload:
            return   # an empty retained message only deletes the retained one
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            return
        if payload.get("schema") != "scenic.occupancy" or payload.get("scope") != "site":
            return
        show(sign_text(payload, args.lang))
        if args.once:
            done.set()

    client.on_connect, client.on_message = on_connect, on_message
    client.connect_async(args.host, args.port, keepalive=30)
    client.loop_start()   # reconnects by itself when the broker goes away
    try:
        if not done.wait(args.timeout or None):
            state["rc"] = 3   # nothing within --timeout
    except KeyboardInterrupt:
        pass
    finally:
        client.disconnect()
        client.loop_stop()
    return state["rc"]


if __name__ == "__main__":
    sys.exit(main())
