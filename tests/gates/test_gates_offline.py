"""Offline gates: the bundle, uploads of offline scans (idempotent, conflicts flagged), and
the gate client deciding offline, queueing on disk and syncing when the server is back."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from gates_helpers import scan

from core.clock import DEFAULT_TZ
from gate_client import GateClient, OfflineValidator, QueueFull
from gates import services as gates
from ticketing import gate_feed, orders

DEAD = "http://127.0.0.1:1"   # nothing listens there: every request fails at once
ROOT = Path(__file__).resolve().parents[2]


def upload(client, token, scans):
    return client.post("/api/gate/offline-scans", json={"scans": scans},
                       headers={"Authorization": f"Bearer {token}"})


def offline_item(code, at="2026-07-15T09:58:00+08:00", result="allow", reason=None,
                 direction="entry", nonce=None):
    return {"nonce": nonce or uuid.uuid4().hex, "code": code, "direction": direction,
            "scanned_at": at, "result": result, "reason": reason}


def test_bundle_has_what_an_offline_gate_needs_and_no_id_numbers(app, client, db, clock,
                                                                   make_gate, sell):
    gate, tok = make_gate()
    sold = sell(n=2)
    refunded = sell(at=clock.now().replace(hour=15, minute=5))
    orders.refund(db, sell.last_order.number, clock=clock, provider=None)
    scan(client, tok, sold[0][1])
    r = client.get("/api/gate/bundle", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    b = r.get_json()
    assert b["gate"] == {"id": gate.id, "site": "kongmiao", "name": gate.name, "direction": "both",
                         "place": None}
    assert b["entry_windows"] == [["2026-07-15T08:00:00+08:00", "2026-07-15T17:10:00+08:00"]]
    assert bytes.fromhex(b["public_key"]) == gate_feed.ticket_signing_public_key(app.instance_path)
    assert b["rules"] == {"early_minutes": 30, "late_minutes": 60}
    assert b["day"] == "2026-07-15" and b["closing_at"] == "2026-07-15T17:30:00+08:00"
    # The site's zone travels with the bundle: the turnstile counts days as the site does.
    assert b["timezone"] == "Asia/Shanghai"
    assert str(OfflineValidator(b).tz) == "Asia/Shanghai"
    refunded_id = refunded[0][0].id
    assert f"{refunded_id}.1" in b["revocations"]
    rows = {t["id"]: t for t in b["tickets"]}
    assert set(rows) == {sold[0][0].id, sold[1][0].id}
    assert all(row["document_digest"] is None for row in rows.values())   # off by default
    assert rows[sold[0][0].id]["inside"] is True and rows[sold[0][0].id]["entries"] == 1
    assert rows[sold[1][0].id]["inside"] is False
    text = r.get_data(as_text=True)
    assert all(doc not in text for _t, _c, doc in sold)
    assert b["document_key"] is None and b["document_kdf"] is None
    assert client.get("/api/gate/bundle").status_code == 401


def test_offline_uploads_are_recorded_once_and_counted(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    (t1, c1, _), (t2, c2, _) = sell(n=2)
    items = [offline_item(c1, nonce="off-1"),
             offline_item("garbage", result="deny", reason="invalid_code", nonce="off-2"),
             offline_item(c2, at="2026-07-15T09:59:30+08:00", nonce="off-3")]
    r = upload(client, tok, items)
    assert r.status_code == 200
    assert [x["status"] for x in r.get_json()["results"]] == ["recorded"] * 3
    assert gates.people_inside(db, "kongmiao", clock) == 2
    # Uploading the same batch again (a sync that lost its answer) changes nothing.
    again = upload(client, tok, items).get_json()["results"]
    assert [x["status"] for x in again] == ["duplicate"] * 3
    assert gates.people_inside(db, "kongmiao", clock) == 2
    # The same nonce with another code is not taken.
    r = upload(client, tok, [offline_item(c2, nonce="off-1")]).get_json()["results"]
    assert r[0]["status"] == "nonce_conflict"
    counts = gates.counts_per_minute(db, "kongmiao", clock.now().date())
    assert counts == [{"minute": "2026-07-15T09:58", "entries": 1, "exits": 0, "checkouts": 0},
                      {"minute": "2026-07-15T09:59", "entries": 1, "exits": 0, "checkouts": 0}]
    # Online, the server knows both are inside.
    assert scan(client, tok, c1).get_json()["reason"] == "already_inside"


def test_bad_offline_items_are_reported_per_item(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    _, tok_exit = make_gate(direction="exit")
    (_t, code, _), = sell()
    items = [
        "not an object",
        {"nonce": "a", "code": code, "direction": "entry", "result": "allow"},      # no time
        offline_item(code, at="2026-07-01T10:00:00+08:00"),                         # too old
        offline_item(code, at="2026-07-15T12:00:00+08:00"),                         # future
        offline_item(code, result="maybe"),
        offline_item(code, result="deny"),                                          # no reason
        {**offline_item(code), "code": None, "ticket_id": "7"},
        {**offline_item(code), "nonce": "bad nonce"},
    ]
    res = upload(client, tok, items).get_json()["results"]
    assert [x["error"] for x in res] == ["bad_scan", "bad_time", "bad_time", "bad_time",
                                         "bad_result", "bad_reason", "bad_ticket_id",
                                         "bad_nonce"]
    res = upload(client, tok_exit, [offline_item(code)]).get_json()["results"]
    assert res[0]["error"] == "direction_not_allowed"
    assert gates.people_inside(db, "kongmiao", clock) == 0
    auth = {"Authorization": f"Bearer {tok}"}
    for body, error in [({"scans": []}, "bad_scans"), ({"scans": "x"}, "bad_scans"),
                        ({}, "bad_scans"), ({"scans": [{}] * 501}, "too_many_scans")]:
        r = client.post("/api/gate/offline-scans", json=body, headers=auth)
        assert r.status_code == 400 and r.get_json()["error"] == error


def test_one_ticket_admitted_at_two_offline_gates_is_flagged_for_staff(client, db, clock,
                                                                         make_gate, sell, login):
    _, tok_a = make_gate()
    _, tok_b = make_gate()
    (ticket, code, _), = sell()
    assert upload(client, tok_a, [offline_item(code, at="2026-07-15T09:50:00+08:00")]
                  ).get_json()["results"][0]["status"] == "recorded"
    res = upload(client, tok_b, [offline_item(code, at="2026-07-15T09:52:00+08:00")]
                 ).get_json()["results"][0]
    assert res == {"nonce": res["nonce"], "status": "conflict", "conflict": "double_admission"}
    # Two people walked through on one ticket: both are counted inside.
    assert gates.people_inside(db, "kongmiao", clock) == 2
    conflicts = gates.open_conflicts(db)
    assert len(conflicts) == 1 and conflicts[0]["ticket_id"] == str(ticket.id)
    login("staff")
    page = client.get("/gates/audit?lang=en").get_data(as_text=True)
    assert "One ticket admitted twice (offline)" in page and "Already inside" in page
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    cid = conflicts[0]["id"]
    r = client.post(f"/gates/conflicts/{cid}/resolve", data={"note": "checked CCTV",
                                                              "csrf_token": token})
    assert r.status_code == 302
    assert gates.open_conflicts(db) == []
    r = client.post(f"/gates/conflicts/{cid}/resolve", data={"csrf_token": token})
    assert r.status_code == 409
    r = client.post("/gates/conflicts/99999/resolve", data={"csrf_token": token})
    assert r.status_code == 404
    r = client.post(f"/gates/conflicts/{cid}/resolve", data={"note": "no csrf"})
    assert r.status_code == 400


def test_offline_passage_before_the_last_check_out_is_history(client, db, clock, make_gate,
                                                                sell):
    _, tok = make_gate()
    (_t, code, _), = sell()
    clock.set(datetime(2026, 7, 15, 18, 0, tzinfo=DEFAULT_TZ))
    assert gates.people_inside(db, "kongmiao", clock) == 0     # check-out at 17:30 done
    res = upload(client, tok, [offline_item(code, at="2026-07-15T10:05:00+08:00")]).get_json()
    assert res["results"][0]["status"] == "recorded"
    assert gates.people_inside(db, "kongmiao", clock) == 0
    counts = gates.counts_per_minute(db, "kongmiao", clock.now().date())
    assert {"minute": "2026-07-15T10:05", "entries": 1, "exits": 0, "checkouts": 0} in counts


# --- the gate client ---------------------------------------------------------------

@pytest.fixture
def gate_client(live_server, make_gate, clock, tmp_path):
    made = []

    def make(server=None, site="kongmiao", token=None, **kw):
        tok = token or make_gate(site=site)[1]
        c = GateClient(server or live_server, tok, tmp_path / f"gate{len(made)}", clock=clock,
                       timeout=2, **kw)
        made.append(c)
        return c, tok
    yield make
    for c in made:
        c.close()


def test_client_online_then_offline_then_sync(live_server, db, clock, gate_client, sell):
    (t1, c1, _), (t2, c2, _), (t3, c3, _) = sell(n=3)
    client, tok = gate_client()
    client.fetch_bundle()
    assert client.scan(c1)["mode"] == "online"
    # The network goes down.
    client.server = DEAD
    v = client.scan(c2)
    assert (v["mode"], v["result"]) == ("offline", "allow")
    assert v["ticket"]["holder"] == "张*明"
    assert client.scan(c2)["reason"] == "already_inside"          # local presence
    assert client.scan(c1)["reason"] == "already_inside"          # admitted online earlier
    assert client.scan("TK" + "0" * 118)["reason"] == "invalid_code"
    assert client.scan(c3, direction="exit")["reason"] == "not_inside"
    assert client.status()["pending"] == 5
    assert client.sync()["remaining"] == 5                        # still down: kept
    assert gates.people_inside(db, "kongmiao", clock) == 1
    # The server is back.
    client.server = live_server
    totals = client.sync()
    assert totals["recorded"] == 5 and totals["remaining"] == 0
    assert gates.people_inside(db, "kongmiao", clock) == 2
    assert client.sync()["sent"] == 0
    denied = db.execute("SELECT reason FROM gate_scans WHERE source = 'offline' AND "
                        "result = 'deny' ORDER BY id").fetchall()
    assert [r[0] for r in denied] == ["already_inside", "already_inside", "invalid_code",
                                      "not_inside"]


def test_client_offline_knows_tickets_sold_after_the_bundle_and_revocations(
        live_server, db, clock, gate_client, sell):
    client, _tok = gate_client()
    (refund_me, refund_code, _), = sell(at=clock.now().replace(hour=15, minute=5))
    orders.refund(db, sell.last_order.number, clock=clock, provider=None)
    client.fetch_bundle()
    (late, late_code, _), = sell()       # sold after the bundle: only the signed claim
    client.server = DEAD
    assert client.scan(refund_code)["reason"] == "revoked"
    v = client.scan(late_code)
    assert v["result"] == "allow" and v["ticket"]["id"] == late.id
    assert client.scan(late_code)["reason"] == "already_inside"


def test_client_offline_wrong_site_and_no_bundle(live_server, gate_client, sell):
    from gate_client import NoBundle
    (_t, code, _), = sell(site="kongmiao", product="kongmiao")
    client, _ = gate_client(site="kongfu")
    client.server = DEAD
    with pytest.raises(NoBundle):
        client.scan(code)
    client.server = live_server
    client.fetch_bundle()
    client.server = DEAD
    assert client.scan(code)["reason"] == "wrong_site"


def test_client_offline_id_fallback_needs_the_document_key(app, live_server, db, clock,
                                                            gate_client, sell):
    (ticket, _code, doc), = sell()
    client, _ = gate_client()
    client.fetch_bundle()
    client.server = DEAD
    assert client.scan(document=doc)["reason"] == "unknown_ticket"   # no key by default
    app.config["GATES_BUNDLE_DOCUMENT_KEY"] = True
    client.server = live_server
    client.fetch_bundle()
    client.server = DEAD
    v = client.scan(document=doc)
    assert v["result"] == "allow" and v["ticket"]["id"] == ticket.id
    assert client.scan(document="370102199003070000")["reason"] == "invalid_code"
    # The queue on disk never holds the number.
    raw = (client.data_dir / "gate.sqlite").read_bytes()
    assert doc.encode() not in raw
    client.server = live_server
    assert client.sync()["recorded"] == 3
    assert gates.people_inside(db, "kongmiao", clock) == 1


def test_client_queue_is_bounded(live_server, db, clock, gate_client, sell):
    sold = sell(n=3)
    client, _ = gate_client(max_pending=2)
    client.fetch_bundle()
    client.server = DEAD
    client.scan(sold[0][1])
    client.scan(sold[1][1])
    with pytest.raises(QueueFull):
        client.scan(sold[2][1])
    assert client.status()["pending"] == 2
    client.server = live_server
    assert client.sync()["recorded"] == 2
    # The refused scan left nothing behind: the ticket was not marked inside.
    client.server = DEAD
    assert client.scan(sold[2][1])["result"] == "allow"


def test_client_bundle_refresh_keeps_unsynced_admissions(live_server, gate_client, sell):
    (_t, code, _), = sell()
    client, _ = gate_client()
    client.fetch_bundle()
    client.server = DEAD
    assert client.scan(code)["result"] == "allow"
    client.server = live_server
    client.fetch_bundle()            # the server does not know yet; the queue does
    client.server = DEAD
    assert client.scan(code)["reason"] == "already_inside"


def test_cli_fetch_scan_status_sync(live_server, tmp_path, make_gate, sell):
    (_t, code, _), = sell()
    _gate, token = make_gate()
    token_file = tmp_path / "token"
    token_file.write_text(token)
    base = [sys.executable, "-m", "gate_client", "--server", live_server, "--data",
            str(tmp_path / "cli"), "--token-file", str(token_file)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args, server=None):
        cmd = list(base)
        if server:
            cmd[cmd.index(live_server)] = server
        return subprocess.run(cmd + list(args), capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=60)

    out = run("fetch-bundle")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tickets"] == 1
    out = run("scan", code)
    assert out.returncode == 0 and json.loads(out.stdout)["result"] == "allow"
    out = run("scan", code, server=DEAD)
    assert out.returncode == 1 and json.loads(out.stdout)["reason"] == "already_inside"
    # A screenshot of the ticket, read by OpenCV on the gate.
    import qrcode
    qrcode.make(code).save(tmp_path / "shot.png")
    out = run("scan", "--photo", str(tmp_path / "shot.png"), server=DEAD)
    assert out.returncode == 1 and json.loads(out.stdout)["reason"] == "already_inside"
    out = run("scan", "--photo", str(tmp_path / "token"), server=DEAD)
    assert out.returncode == 2 and json.loads(out.stdout)["error"] == "bad_image"
    assert json.loads(run("status").stdout)["pending"] == 2
    # The CLI runs on the wall clock, months away from the test server's fixed clock, so
    # the server answers this one "invalid" (bad_time); either way it leaves the queue.
    synced = json.loads(run("sync").stdout)
    assert synced["sent"] == 2 and synced["remaining"] == 0
    out = subprocess.run(base[:-2] + ["status"], capture_output=True, text=True,
                         env={k: v for k, v in env.items() if k != "GATE_TOKEN"}, cwd=ROOT,
                         timeout=60)
    assert out.returncode != 0 and "GATE_TOKEN" in out.stderr


def test_cli_run_reads_codes_from_a_keyboard_scanner(live_server, tmp_path, make_gate, sell):
    (_t, code, _), (_t2, _c2, doc2) = sell(n=2)
    _gate, token = make_gate()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GATE_TOKEN": token}
    cmd = [sys.executable, "-m", "gate_client", "--server", live_server, "--data",
           str(tmp_path / "run"), "run", "--sync-every", "0.2"]
    out = subprocess.run(cmd, input=f"{code}\n\n{code}\n{doc2}\n", capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    verdicts = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(v["result"], v["reason"]) for v in verdicts] == [
        ("allow", None), ("deny", "already_inside"), ("allow", None)]
