"""Command line of the gate client, what a turnstile's computer runs.

    export GATE_TOKEN=...            # or --token-file; never on the command line
    python -m gate_client --server http://10.0.0.5:8000 --data /var/lib/gate fetch-bundle
    python -m gate_client ... scan TK0123...          # prints the verdict as JSON
    python -m gate_client ... scan --document 370102199003071234
    python -m gate_client ... scan --photo ticket.png   # a screenshot, read with OpenCV
    python -m gate_client ... sync
    python -m gate_client ... status
    python -m gate_client ... run    # codes from a keyboard-mode scanner on stdin, one a line

Exit status of ``scan``: 0 allow, 1 deny, 2 cannot decide (offline without a bundle,
queue full, or the server refused the request).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from admission.errors import AdmissionError
from admission.qr import decode_qr

from .client import GateClient, GateError, NoBundle
from .store import QueueFull

MAX_PHOTO_PIXELS = 40_000_000  # as the server's GATES_PHOTO_MAX_PIXELS default


def _token(args) -> str:
    if args.token_file:
        return Path(args.token_file).read_text().strip()
    token = os.environ.get("GATE_TOKEN", "").strip()
    if not token:
        raise SystemExit("set GATE_TOKEN or pass --token-file (the token is never an argument)")
    return token


def _print(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _scan(client, value, direction, is_document) -> int:
    try:
        if is_document:
            verdict = client.scan(document=value, direction=direction)
        else:
            verdict = client.scan(value, direction=direction)
    except (NoBundle, QueueFull) as exc:
        _print({"result": "error", "error": type(exc).__name__, "message": str(exc)})
        return 2
    except GateError as exc:
        _print({"result": "error", "status": exc.status, **exc.body})
        return 2
    _print(verdict)
    return 0 if verdict["result"] == "allow" else 1


def _looks_like_id(value: str) -> bool:
    v = "".join(value.split()).upper()
    return len(v) == 18 and v[:17].isdigit() and (v[17].isdigit() or v[17] == "X")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gate_client", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True, help="base URL of the scenic server")
    p.add_argument("--data", required=True, help="folder for the bundle and the offline queue")
    p.add_argument("--token-file", help="file holding the gate's device token")
    p.add_argument("--timeout", type=float, default=1.5,
                   help="seconds to wait for the server before deciding offline")
    p.add_argument("--max-pending", type=int, default=100_000,
                   help="bound of the offline queue")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch-bundle", help="download today's offline bundle")
    s = sub.add_parser("scan", help="scan one code (or --document ID number)")
    s.add_argument("value", help="the QR text (or an ID number with --document, or an image "
                   "file with --photo)")
    s.add_argument("--document", action="store_true", help="the value is a resident ID number")
    s.add_argument("--photo", action="store_true",
                   help="the value is a photo or screenshot of the ticket (read with OpenCV)")
    s.add_argument("--exit", action="store_true", help="an exit scan (default: entry)")
    sub.add_parser("sync", help="upload queued offline scans")
    sub.add_parser("status", help="queue length and bundle age")
    r = sub.add_parser("run", help="scan lines from stdin; sync and refresh in the background")
    r.add_argument("--exit", action="store_true")
    r.add_argument("--sync-every", type=float, default=30.0)
    args = p.parse_args(argv)

    client = GateClient(args.server, _token(args), args.data, timeout=args.timeout,
                        max_pending=args.max_pending)
    try:
        if args.command == "fetch-bundle":
            try:
                bundle = client.fetch_bundle()
            except (ConnectionError, GateError) as exc:
                _print({"error": "fetch_failed", "message": str(exc)})
                return 2
            _print({"day": bundle["day"], "site": bundle["gate"]["site"],
                    "tickets": len(bundle["tickets"]),
                    "revocations": len(bundle["revocations"])})
            return 0
        if args.command == "scan":
            value = args.value
            if args.photo:
                try:
                    value = decode_qr(Path(value).read_bytes(), max_pixels=MAX_PHOTO_PIXELS)
                except ImportError:
                    _print({"result": "error", "error": "no_opencv",
                            "message": "reading photos needs OpenCV: "
                                       "pip install './turnstile[photo]'"})
                    return 2
                except (OSError, AdmissionError) as exc:
                    _print({"result": "error", "error": getattr(exc, "code", "bad_image"),
                            "message": str(exc)})
                    return 2
            return _scan(client, value, "exit" if args.exit else "entry", args.document)
        if args.command == "sync":
            _print(client.sync())
            return 0
        if args.command == "status":
            _print(client.status())
            return 0
        return _run(client, "exit" if args.exit else "entry", args.sync_every)
    finally:
        client.close()


def _run(client: GateClient, direction: str, every: float) -> int:
    stop = threading.Event()
    lock = threading.Lock()

    def background():
        # Upload the queue and refresh the bundle while the gate idles; a network fault
        # just waits for the next round.
        while not stop.wait(every):
            with lock:
                try:
                    client.sync()
                    client.fetch_bundle()
                except (ConnectionError, GateError):
                    pass

    worker = threading.Thread(target=background, daemon=True, name="gate-sync")
    worker.start()
    try:
        for line in sys.stdin:
            value = line.strip()
            if not value:
                continue
            with lock:
                _scan(client, value, direction, _looks_like_id(value))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        worker.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
