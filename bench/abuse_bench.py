"""A scripted bot against the real server while honest visitors book, beside the same
visitors with no bot.

    .venv/bin/python bench/abuse_bench.py [--seconds 60] [--buyers 50] [--bot-threads 4]
                                          [--think 4]

Each scenario starts a fresh server the way ./run.sh does (flask migrate, catalog load,
python -m scripts.serve; no demo workers) with TRUSTED_PROXY_HOPS=2, as behind the TLS
proxy production needs: every client sends the address a proxy would put in
X-Forwarded-For. Scenarios, ``--seconds`` each:

  no bot        ``--buyers`` honest visitors book;
  bot, 1 addr   the same, while a bot tries to take one slot's places as fast as it can
                from one address;
  bot, 20 addr  the same bot from 20 addresses.

An honest visitor does what the booking page does: picks a slot of tomorrow at Kongmiao
(the bot's slot among them), fetches a proof-of-work challenge and solves it, books one
adult with a new real-looking ID number from its own address, starts the payment and pays
at the sandbox gateway; then thinks (``--think`` s on average) and a new visitor comes. The
bot, in ``--bot-threads`` threads, solves a challenge for every attempt and asks for 3
made-up seniors (free tickets, taken for good) in its slot, never waiting, ignoring every
Retry-After (it runs at a lower CPU priority, standing in for its own machines: on one
small machine it would otherwise take the server's cores by itself). Printed: the bot's
requests and the places it got, the honest success rate and booking latency (p50/p99 of
POST /api/ticketing/orders) beside the no-bot run, the server's CPU and memory.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from admission.identity import check_digit  # noqa: E402
from bench.serverkit import free_port, tree_sample, wait_up  # noqa: E402


def fast_solve(challenge: dict) -> str:
    """An ALTCHA v2 SHA-256 challenge solved the way a bot would: a tight hashlib loop."""
    import base64
    p = challenge["parameters"]
    prefix = bytes.fromhex(p["keyPrefix"])
    base = hashlib.sha256(bytes.fromhex(p["salt"]) + bytes.fromhex(p["nonce"]))
    for counter in itertools.count():
        h = base.copy()
        h.update(struct.pack(">I", counter))
        key = h.digest()
        if key.startswith(prefix):
            solution = {"counter": counter, "derivedKey": key.hex()}
            return base64.b64encode(json.dumps({"challenge": challenge,
                                                "solution": solution}).encode()).decode()
    raise AssertionError("unreachable")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the site's processes have used."""
    return sum(tree_sample(pid, lambda p: sum(p.cpu_times()[:2])).values())


def rss_mb(pid: int) -> float:
    """Resident memory of the site's processes together."""
    return sum(tree_sample(pid, lambda p: p.memory_info().rss).values()) / 2 ** 20


class Server:
    """The system started as ./run.sh starts it, on a fresh instance folder."""

    def __init__(self, root: Path, extra_env: dict | None = None):
        self.port = free_port()
        self.env = dict(os.environ, SCENIC_INSTANCE=str(root / "instance"),
                        SCENIC_PORT=str(self.port), SCENIC_NO_WORKERS="1",
                        # Two hops: the clients play the TLS proxy in front (each sends the
                        # visitor's address), and the site's own nginx appends theirs.
                        SCENIC_TRUSTED_PROXY_HOPS="2", SCENIC_LOG_LEVEL="WARNING",
                        YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false", **(extra_env or {}))
        self.url = f"http://127.0.0.1:{self.port}"
        self.day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date().isoformat()
        self.proc = None

    def __enter__(self):
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        for cmd in (flask + ["migrate"], flask + ["catalog", "load"]):
            subprocess.run(cmd, cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)
        # waitress's "task queue depth" warnings under the bot are expected: not printed
        self.proc = subprocess.Popen([sys.executable, "-m", "scripts.serve"], cwd=ROOT,
                                     env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_up(self.port, timeout=120)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def slots(self, site="kongmiao") -> list[dict]:
        return requests.get(f"{self.url}/api/ticketing/sites/{site}/availability",
                            params={"date": self.day}, timeout=30).json()["slots"]

    def challenge(self, addr: str, session=None) -> dict:
        return (session or requests).get(f"{self.url}/api/pow/challenge", timeout=30,
                                         headers={"X-Forwarded-For": addr}).json()

    def config_value(self, name: str):
        from core.config import all_settings
        return self.env.get("SCENIC_" + name) or all_settings()[name].default


def resident_id(n: int, born: str) -> str:
    body = f"370102{born}{n % 1000:03d}"
    return body + check_digit(body)


def born_for(n: int, senior: bool) -> str:
    # A new birth date per 1000 people keeps every made-up ID number distinct.
    base = datetime(1930 if senior else 1980, 1, 1) + timedelta(days=n // 1000)
    return base.strftime("%Y%m%d")


class Target:
    """What a client process needs to know of the server (picklable)."""

    def __init__(self, server: Server):
        self.url, self.day = server.url, server.day
        self.slots = [x["slot_id"] for x in server.slots() if x["left"]]

    def challenge(self, addr: str, session) -> dict:
        return session.get(f"{self.url}/api/pow/challenge", timeout=30,
                           headers={"X-Forwarded-For": addr}).json()


def honest_buyer(server: Target, stop: float, think: float, out: list, lock, rng, first: int):
    s = requests.Session()
    slots = server.slots
    people = itertools.count(first)
    while time.time() < stop:
        n = next(people)
        addr = f"10.{100 + n // 65536 % 100}.{n // 256 % 256}.{n % 256}"
        h = {"X-Forwarded-For": addr}
        record = {"ok": False, "ms": None, "error": None}
        try:
            slot = rng.choice(slots)
            s.get(f"{server.url}/api/ticketing/sites/kongmiao/availability",
                  params={"date": server.day}, headers=h, timeout=60)
            altcha = fast_solve(server.challenge(addr, s))
            body = {"site_id": "kongmiao", "date": server.day, "slot_id": slot,
                    "product_id": "kongmiao", "altcha": altcha,
                    "holders": [{"name": "游客", "document_type": "resident_id",
                                 "document_number": resident_id(n, born_for(n, False))}]}
            t = time.perf_counter()
            r = s.post(f"{server.url}/api/ticketing/orders", json=body, headers=h, timeout=60)
            record["ms"] = (time.perf_counter() - t) * 1000
            order = r.json()
            if r.status_code != 201:
                record["error"] = order.get("error")
            else:
                hs = {**h, "X-Order-Secret": order["secret"]}
                pay = s.post(server.url + order["payment_start"], headers=hs, timeout=60).json()
                done = s.post(f"{server.url}/api/ticketing/sandbox/pay/{pay['reference']}",
                              json={}, headers=h, timeout=60).json()
                record["ok"] = done.get("outcome") == "applied"
                record["error"] = None if record["ok"] else "payment"
        except (requests.RequestException, ValueError, KeyError) as exc:
            record["error"] = type(exc).__name__
        with lock:
            out.append(record)
        time.sleep(rng.expovariate(1 / think))


def bot(server: Target, stop: float, slot_id: int, addresses: list[str], out: dict, lock,
        first: int):
    s = requests.Session()
    turn = itertools.cycle(addresses)
    people = itertools.count(first)
    while time.time() < stop:
        addr = next(turn)
        h = {"X-Forwarded-For": addr}
        try:
            with lock:
                out["requests"] += 2
            altcha = fast_solve(server.challenge(addr, s))
            holders = [{"name": "机器人", "document_type": "resident_id",
                        "document_number": resident_id(n, born_for(n, True))}
                       for n in (next(people), next(people), next(people))]
            r = s.post(f"{server.url}/api/ticketing/orders", headers=h, timeout=60, json={
                "site_id": "kongmiao", "date": server.day, "slot_id": slot_id,
                "product_id": "kongmiao", "altcha": altcha, "holders": holders})
            body = r.json()
        except (requests.RequestException, ValueError, KeyError):
            continue
        with lock:
            out["attempts"] += 1
            if r.status_code == 201:
                out["places"] += len(body["tickets"])
            else:
                out["refusals"][body.get("error")] = out["refusals"].get(body.get("error"), 0) + 1


def _honest_process(target, stop, think, buyers, first, queue):
    out, lock = [], threading.Lock()
    threads = [threading.Thread(target=honest_buyer, args=(target, stop, think, out, lock,
                                                           random.Random(first + i),
                                                           (first + i) * 100_000))
               for i in range(buyers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(("honest", out))


def _bot_process(target, stop, slot_id, addresses, threads_n, queue):
    # A real bot runs on its own machines; here it shares the server's two cores, so it
    # runs at a lower priority: it still sends as fast as it can whenever a core is free.
    os.nice(10)
    out, lock = {"attempts": 0, "requests": 0, "places": 0, "refusals": {}}, threading.Lock()
    threads = [threading.Thread(target=bot, args=(target, stop, slot_id, addresses, out, lock,
                                                  i * 1_000_000))
               for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(("bot", out))


def scenario(name: str, bot_addresses: int, args) -> dict:
    """One run on a fresh server. Clients run in their own processes (the honest buyers
    split over ``--client-procs``, the bot apart), so one's Python lock never times another."""
    import multiprocessing as mp
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp)) as server:
        target = Target(server)
        slot_id = target.slots[3]
        rss0, cpu0 = rss_mb(server.proc.pid), cpu_s(server.proc.pid)
        stop = time.time() + args.seconds
        queue = mp.Queue()
        share = [args.buyers // args.client_procs + (i < args.buyers % args.client_procs)
                 for i in range(args.client_procs)]
        procs = [mp.Process(target=_honest_process,
                            args=(target, stop, args.think, n, sum(share[:i]), queue))
                 for i, n in enumerate(share)]
        if bot_addresses:
            addrs = [f"203.0.113.{i + 1}" for i in range(bot_addresses)]
            procs.append(mp.Process(target=_bot_process, args=(target, stop, slot_id, addrs,
                                                               args.bot_threads, queue)))
        for p in procs:
            p.start()
        honest, bot_out = [], {"attempts": 0, "requests": 0, "places": 0, "refusals": {}}
        for _ in procs:
            kind, data = queue.get()
            if kind == "honest":
                honest += data
            else:
                bot_out = data
        for p in procs:
            p.join()
        ms = sorted(r["ms"] for r in honest if r["ms"] is not None)
        errors = {}
        for r in honest:
            if not r["ok"]:
                errors[r["error"]] = errors.get(r["error"], 0) + 1
        return {"name": name, "bot_addresses": bot_addresses, "bot": bot_out,
                "honest": len(honest), "ok": sum(r["ok"] for r in honest), "errors": errors,
                "p50": statistics.median(ms) if ms else float("nan"),
                "p99": ms[min(len(ms) - 1, int(0.99 * len(ms)))] if ms else float("nan"),
                "rss0": rss0, "rss1": rss_mb(server.proc.pid),
                "cpu": cpu_s(server.proc.pid) - cpu0,
                "slot_cap": server.config_value("TICKETING_CLIENT_SLOT_TICKETS")}


def hostile_uploads() -> str:
    """The hostile-upload memory figures (bench/upload_bench.py) against the site as ./run.sh
    serves it: every process of the tree (pools, model workers, decoding children)."""
    from bench.upload_bench import hostile_upload_memory
    # One client sends them all: the per-address limit on voice questions lifted, so every
    # upload reaches the checks instead of a 429.
    with tempfile.TemporaryDirectory() as tmp, \
            Server(Path(tmp), {"SCENIC_GUIDE_VOICE_PER_MINUTE": "100000"}) as server:
        return hostile_upload_memory(server.url, server.proc.pid)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--buyers", type=int, default=50)
    ap.add_argument("--bot-threads", type=int, default=4)
    ap.add_argument("--think", type=float, default=4.0, help="mean seconds between visitors")
    ap.add_argument("--client-procs", type=int, default=2, help="processes for honest buyers")
    args = ap.parse_args(argv)
    runs = [scenario("no bot", 0, args), scenario("bot, 1 address", 1, args),
            scenario("bot, 20 addresses", 20, args)]
    base = runs[0]
    print(f"{args.buyers} honest buyers + bot ({args.bot_threads} threads), {args.seconds:g} s "
          f"per run, waitress threads=8, {os.cpu_count()} CPUs (shared machine), "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'':20}{'bot reqs':>9}{'bot places':>11}{'allowed':>8}{'honest ok':>12}"
          f"{'success':>9}{'p50 ms':>8}{'p99 ms':>8}{'p50/no-bot':>11}{'site CPU s':>13}"
          f"{'RSS MB':>12}")
    cap = int(str(base["slot_cap"]).split("/")[0])
    for r in runs:
        allowed = cap * r["bot_addresses"] if r["bot_addresses"] else 0
        bot_tries = r["bot"]["requests"] if r["bot_addresses"] else "-"
        places = r["bot"]["places"] if r["bot_addresses"] else "-"
        rate = r["ok"] / r["honest"] * 100 if r["honest"] else 0.0
        print(f"{r['name']:20}{bot_tries!s:>10}{places!s:>11}{allowed or '-'!s:>8}"
              f"{r['ok']:>6}/{r['honest']:<5}{rate:>8.1f}%{r['p50']:>8.1f}{r['p99']:>8.1f}"
              f"{r['p50'] / base['p50']:>11.2f}{r['cpu']:>13.1f}{r['rss0']:>6.0f}->{r['rss1']:<5.0f}")
    for r in runs[1:]:
        print(f"{r['name']}: bot refusals {r['bot']['refusals']}")
    for r in runs:
        if r["errors"]:
            print(f"{r['name']}: honest failures {r['errors']}")
    print("targets: bot places <= allowed (TICKETING_CLIENT_SLOT_TICKETS per address); "
          "honest success >= 99 %; honest p50 <= 2x no-bot")
    print(hostile_uploads())
    return 0


if __name__ == "__main__":
    sys.exit(main())
