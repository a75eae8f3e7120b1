"""Admit once under races through a real server, people inside, counts per minute and the
check-out at closing time (lazy and by CLI)."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime

import requests
from gates_helpers import scan

from core.clock import DEFAULT_TZ
from gates import services as gates


def test_same_ticket_at_two_gates_at_once_is_admitted_exactly_once(live_server, db, clock,
                                                                     make_gate, sell):
    tokens = [make_gate()[1], make_gate()[1]]
    (ticket, code, _), = sell()
    other_tickets = sell(n=3)
    threads_n = 24
    barrier = threading.Barrier(threads_n)
    results = []
    lock = threading.Lock()

    def worker(i):
        session = requests.Session()
        barrier.wait()
        r = session.post(f"{live_server}/api/gate/scan", timeout=30,
                         json={"code": code, "direction": "entry", "nonce": uuid.uuid4().hex},
                         headers={"Authorization": f"Bearer {tokens[i % 2]}"})
        with lock:
            results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(status == 200 for status, _ in results), results
    allows = [b for _, b in results if b["result"] == "allow"]
    denies = [b["reason"] for _, b in results if b["result"] == "deny"]
    assert len(allows) == 1
    assert denies == ["already_inside"] * (threads_n - 1)
    assert gates.people_inside(db, "kongmiao", clock) == 1
    assert db.execute("SELECT count(*) FROM gate_passages WHERE ticket_id = ?",
                      [str(ticket.id)]).fetchone()[0] == 1
    assert db.execute("SELECT entries FROM gate_presence WHERE ticket_id = ?",
                      [str(ticket.id)]).fetchone()[0] == 1
    # Other tickets pass untouched by the race.
    for _t, c, _d in other_tickets:
        r = requests.post(f"{live_server}/api/gate/scan", timeout=30,
                          json={"code": c, "direction": "entry", "nonce": uuid.uuid4().hex},
                          headers={"Authorization": f"Bearer {tokens[0]}"})
        assert r.json()["result"] == "allow"
    assert gates.people_inside(db, "kongmiao", clock) == 4


def test_same_nonce_raced_counts_once(live_server, db, clock, make_gate, sell):
    _, tok = make_gate()
    (_t, code, _), = sell()
    barrier = threading.Barrier(8)
    bodies = []

    def worker():
        barrier.wait()
        r = requests.post(f"{live_server}/api/gate/scan", timeout=30,
                          json={"code": code, "direction": "entry", "nonce": "one-scan"},
                          headers={"Authorization": f"Bearer {tok}"})
        bodies.append(r.json())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(b == bodies[0] for b in bodies) and bodies[0]["result"] == "allow"
    assert db.execute("SELECT count(*) FROM gate_scans").fetchone()[0] == 1
    assert gates.people_inside(db, "kongmiao", clock) == 1


def test_people_inside_is_not_public(client, device_token):
    # A head count per site told to anyone (a stranger timing a visit, or a crowd-level
    # scraper) is for gates and staff; visitors get coarse levels from the crowd seam.
    assert client.get("/api/gate/inside?site=kongmiao").status_code == 401
    r = client.get("/api/gate/inside?site=kongmiao",
                   headers={"Authorization": f"Bearer {device_token('worker')}"})
    assert r.status_code == 403
    assert client.get("/api/crowd/sites/kongmiao/occupancy").status_code == 200
    assert set(client.get("/api/crowd/sites/kongmiao/occupancy").get_json()) == \
        {"site_id", "level", "ratio"}


def test_inside_api_and_counts_per_minute(client, db, clock, make_gate, sell, login):
    _, tok = make_gate()
    sold = sell(n=3)
    for _t, code, _d in sold:
        scan(client, tok, code)
    clock.advance(minutes=2)
    scan(client, tok, sold[0][1], direction="exit")
    gate_auth = {"Authorization": f"Bearer {tok}"}
    r = client.get("/api/gate/inside?site=kongmiao", headers=gate_auth)
    assert r.status_code == 200
    assert r.get_json()["inside"] == 2 and r.get_json()["instant_capacity"] > 0
    assert client.get("/api/gate/inside?site=atlantis", headers=gate_auth).status_code == 404
    assert client.get("/api/gate/inside", headers=gate_auth).status_code == 404
    assert client.get("/api/gate/counts?site=kongmiao").status_code == 401
    login("staff")
    assert client.get("/api/gate/inside?site=kongmiao").get_json()["inside"] == 2
    body = client.get("/api/gate/counts?site=kongmiao&day=2026-07-15").get_json()
    assert "minutes" in body, body
    assert body["minutes"] == [
        {"minute": "2026-07-15T10:00", "entries": 3, "exits": 0, "checkouts": 0},
        {"minute": "2026-07-15T10:02", "entries": 0, "exits": 1, "checkouts": 0}]
    assert body["inside"] == 2
    r = client.get("/api/gate/counts?site=kongmiao&day=15/07/2026")
    assert r.status_code == 400 and r.get_json()["error"] == "bad_day"


def test_check_out_at_closing_time_is_lazy_and_idempotent(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    sold = sell(n=2)
    for _t, code, _d in sold:
        scan(client, tok, code)
    assert gates.people_inside(db, "kongmiao", clock) == 2
    clock.set(datetime(2026, 7, 15, 17, 29, tzinfo=DEFAULT_TZ))   # closes 17:30 in summer
    assert gates.people_inside(db, "kongmiao", clock) == 2
    clock.set(datetime(2026, 7, 15, 17, 30, tzinfo=DEFAULT_TZ))
    assert gates.people_inside(db, "kongmiao", clock) == 0
    assert gates.check_out_at_closing(db, "kongmiao", clock) == 0   # already done
    counts = gates.counts_per_minute(db, "kongmiao", clock.now().date())
    assert {"minute": "2026-07-15T17:30", "entries": 0, "exits": 0, "checkouts": 2} in counts
    # A checked-out visitor is no longer inside: an exit scan is 'not_inside'.
    assert scan(client, tok, sold[0][1], direction="exit").get_json()["reason"] == "not_inside"
    totals = db.execute("SELECT sum(entries) - sum(exits) - sum(checkouts) FROM gate_counts "
                        "WHERE site_id = 'kongmiao'").fetchone()[0]
    assert totals == 0


def test_checkout_cli(app, db, clock, make_gate, sell, client):
    _, tok = make_gate()
    (_t, code, _), = sell()
    scan(client, tok, code)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["gates", "checkout"])
    assert out.exit_code == 0 and "kongmiao: checked out 0, inside now 1" in out.output
    clock.set(datetime(2026, 7, 15, 18, 0, tzinfo=DEFAULT_TZ))
    out = runner.invoke(args=["gates", "checkout"])
    assert "kongmiao: checked out 1, inside now 0" in out.output


def test_create_gate_cli_prints_a_working_token(app, client, db, sell):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["gates", "create-gate", "--site", "kongmiao", "--name",
                              "East 1", "--direction", "entry"])
    assert out.exit_code == 0, out.output
    token = out.output.strip().splitlines()[-1]
    (_t, code, _), = sell()
    assert scan(client, token, code).get_json()["result"] == "allow"
    out = runner.invoke(args=["gates", "create-gate", "--site", "kongmiao", "--name", "East 1"])
    assert out.exit_code != 0 and "already has a gate" in out.output
    out = runner.invoke(args=["gates", "create-gate", "--site", "atlantis", "--name", "X"])
    assert out.exit_code != 0


def test_prune_keeps_admissions_and_conflicts(app, client, db, clock, make_gate, sell):
    _, tok = make_gate()
    (_t, code, _), = sell()
    scan(client, tok, code)
    scan(client, tok, code)
    scan(client, tok, "junk")
    clock.advance(days=181)
    out = app.test_cli_runner().invoke(args=["gates", "prune"])
    assert out.exit_code == 0 and "pruned 2 scan records" in out.output
    rows = db.execute("SELECT result FROM gate_scans").fetchall()
    assert [r[0] for r in rows] == ["allow"]
