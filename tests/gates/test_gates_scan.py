"""The scan API against real tickets sold by ticketing: allow, every deny reason, nonce
idempotency, auth, bad input, and that nothing is counted that should not be."""
from __future__ import annotations

import json
from datetime import timedelta

from gates_helpers import scan
from testkit import resident_id

from gates import services as gates
from admission import codes
from ticketing import gate_feed, orders, payments, quota
from ticketing.providers import SIGNATURE_HEADER, SandboxProvider


def inside(db, clock, site="kongmiao"):
    return gates.people_inside(db, site, clock)


def scans_in_db(db):
    return db.execute("SELECT count(*) FROM gate_scans").fetchone()[0]


def test_entry_then_exit_then_single_entry_is_used_up(client, db, clock, make_gate, sell):
    _, tok_a = make_gate()
    _, tok_b = make_gate()
    (ticket, code, _doc), = sell()
    r = scan(client, tok_a, code)
    assert r.status_code == 200
    body = r.get_json()
    assert body["result"] == "allow" and body["reason"] is None
    assert body["inside"] == 1
    assert body["ticket"]["holder"] == "张*明"
    assert body["ticket"]["type"]["en"].startswith("Temple of Confucius")
    assert body["ticket"]["slot"]["start"].startswith("2026-07-15T10:00")
    # The same ticket at the other gate while inside.
    assert scan(client, tok_b, code).get_json()["reason"] == "already_inside"
    r = scan(client, tok_b, code, direction="exit")
    assert r.get_json()["result"] == "allow" and r.get_json()["inside"] == 0
    # Single entry by default: no second admission after leaving.
    assert scan(client, tok_a, code).get_json()["reason"] == "used_up"
    assert inside(db, clock) == 0
    counts = gates.counts_per_minute(db, "kongmiao", clock.now().date())
    assert counts == [{"minute": "2026-07-15T10:00", "entries": 1, "exits": 1, "checkouts": 0}]


def test_exit_without_entry_is_not_inside(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    (_t, code, _d), = sell()
    r = scan(client, tok, code, direction="exit").get_json()
    assert (r["result"], r["reason"]) == ("deny", "not_inside")
    assert inside(db, clock) == 0


def test_same_nonce_returns_first_answer_and_counts_once(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    (_t, code, _d), = sell()
    first = scan(client, tok, code, nonce="scan-0001").get_json()
    again = scan(client, tok, code, nonce="scan-0001").get_json()
    assert first == again and first["result"] == "allow"
    assert inside(db, clock) == 1
    assert scans_in_db(db) == 1
    # A new nonce for the same code is a new scan, denied.
    assert scan(client, tok, code, nonce="scan-0002").get_json()["reason"] == "already_inside"


def test_same_nonce_with_another_code_is_409_and_changes_nothing(client, db, clock, make_gate,
                                                                 sell):
    _, tok = make_gate()
    (_t1, code1, _), (_t2, code2, _) = sell(n=2)
    assert scan(client, tok, code1, nonce="n-1").get_json()["result"] == "allow"
    r = scan(client, tok, code2, nonce="n-1")
    assert r.status_code == 409 and r.get_json()["error"] == "nonce_reused"
    assert inside(db, clock) == 1 and scans_in_db(db) == 1
    # The second ticket is untouched and still admissible.
    assert scan(client, tok, code2).get_json()["result"] == "allow"


def test_nonce_is_per_gate(client, db, clock, make_gate, sell):
    _, tok_a = make_gate()
    _, tok_b = make_gate()
    (_t, code, _), = sell()
    assert scan(client, tok_a, code, nonce="same").get_json()["result"] == "allow"
    assert scan(client, tok_b, code, nonce="same").get_json()["reason"] == "already_inside"


def test_bad_and_missing_tokens_are_401_and_other_roles_403(client, db, make_gate, sell,
                                                          device_token, login):
    (_t, code, _), = sell()
    r = client.post("/api/gate/scan", json={"code": code, "nonce": "a"})
    assert r.status_code == 401 and r.get_json()["error"] == "missing_token"
    r = scan(client, "not-a-token", code)
    assert r.status_code == 401 and r.get_json()["error"] == "bad_token"
    r = scan(client, device_token("worker"), code)
    assert r.status_code == 403
    # A gate-role account that no gate record owns.
    r = scan(client, device_token("gate"), code)
    assert r.status_code == 403 and r.get_json()["error"] == "not_a_gate"
    assert scans_in_db(db) == 0


def test_garbage_truncated_altered_and_foreign_codes(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    (ticket, code, _), = sell()
    altered_char = "A" if code[40] != "A" else "B"
    foreign_key = codes.generate_signing_key()
    foreign = codes.encode(codes.TicketClaim(ticket.id, ticket.version, ticket.sites,
                                             ticket.valid_from, ticket.valid_until), foreign_key)
    cases = {
        "hello": "invalid_code",
        "": "invalid_code",
        code[:-5]: "invalid_code",
        code + "0": "invalid_code",
        code[:40] + altered_char + code[41:]: "bad_signature",
        foreign: "bad_signature",
        "TK" + "Z" * 200: "invalid_code",
        "x" * 2000: "invalid_code",
        "票" * 50: "invalid_code",
    }
    for bad, reason in cases.items():
        r = scan(client, tok, bad)
        assert r.status_code == 200, (bad, r.get_json())
        assert (r.get_json()["result"], r.get_json()["reason"]) == ("deny", reason), bad
    assert inside(db, clock) == 0
    assert db.execute("SELECT count(*) FROM gate_scans WHERE result='deny'").fetchone()[0] == len(cases)
    # The genuine code still works afterwards.
    assert scan(client, tok, code).get_json()["result"] == "allow"


def test_ticket_for_another_site(client, make_gate, sell):
    _, tok = make_gate(site="kongfu")
    (_t, code, _), = sell(site="kongmiao", product="kongmiao")
    assert scan(client, tok, code).get_json()["reason"] == "wrong_site"


def test_combined_ticket_admits_at_each_of_its_sites_once(client, make_gate, sell):
    _, tok_miao = make_gate(site="kongmiao")
    _, tok_fu = make_gate(site="kongfu")
    _, tok_tai = make_gate(site="taishan")
    (_t, code, _), = sell(site="kongmiao", product="sankong-combined")
    assert scan(client, tok_miao, code).get_json()["result"] == "allow"
    assert scan(client, tok_fu, code).get_json()["result"] == "allow"
    assert scan(client, tok_tai, code).get_json()["reason"] == "wrong_site"


def test_slot_tolerance_too_early_and_too_late(client, app, db, clock, make_gate, sell):
    _, tok = make_gate()
    # Slot 14:00-15:00; default tolerance 30 min before, 60 min after.
    (_t, code, _), = sell(at=clock.now().replace(hour=14, minute=10))
    assert scan(client, tok, code).get_json()["reason"] == "too_early"
    clock.set(clock.now().replace(hour=13, minute=29))
    assert scan(client, tok, code).get_json()["reason"] == "too_early"
    clock.set(clock.now().replace(hour=16, minute=1))
    assert scan(client, tok, code).get_json()["reason"] == "too_late"
    clock.set(clock.now().replace(hour=13, minute=30))
    assert scan(client, tok, code).get_json()["result"] == "allow"
    # The tolerance is a setting.
    app.config["GATES_SLOT_EARLY_MINUTES"] = 0
    (_t2, code2, _), = sell(at=clock.now().replace(hour=14, minute=10))
    assert scan(client, tok, code2).get_json()["reason"] == "too_early"


def test_ticket_for_another_day(client, clock, make_gate, sell):
    _, tok = make_gate()
    (_t, code, _), = sell(day=clock.now().date() + timedelta(days=1), slot_index=2)
    assert scan(client, tok, code).get_json()["reason"] == "too_early"
    clock.advance(days=2)
    assert scan(client, tok, code).get_json()["reason"] == "too_late"


def test_refunded_ticket_is_denied(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    (ticket, code, _), = sell(at=clock.now().replace(hour=15, minute=5))
    orders.refund(db, sell.last_order.number, clock=clock, provider=None)
    assert scan(client, tok, code).get_json()["reason"] == "refunded"


def test_rebooked_ticket_old_code_is_revoked(client, db, clock, make_gate, sell, signing_key):
    _, tok = make_gate()
    (ticket, old_code, _), = sell(at=clock.now().replace(hour=15, minute=5))
    slots = quota.availability(db, "kongmiao", clock.now().date(), clock)
    now_slot = next(s for s in slots if s.start <= clock.now() < s.end)
    orders.rebook(db, sell.last_order.number, ticket_id=ticket.id, slot_id=now_slot.slot_id,
                  clock=clock)
    assert scan(client, tok, old_code).get_json()["reason"] == "revoked"
    new_code = gate_feed.code_for(db, ticket.id, signing_key)
    assert scan(client, tok, new_code).get_json()["result"] == "allow"


def test_ticket_paid_online_through_the_sandbox_gateway(app, client, db, clock, make_gate,
                                                        signing_key):
    from ticketing.providers import sandbox_secret
    _, tok = make_gate()
    slot = next(s for s in quota.availability(db, "kongmiao", clock.now().date(), clock)
                if s.start <= clock.now() < s.end)
    with app.app_context():
        order = orders.create_order(db, site_id="kongmiao", day=clock.now().date(),
                                    slot_id=slot.slot_id, product_id="kongmiao", clock=clock,
                                    holders=[{"name": "李四", "document_number": resident_id()}])
    ticket_id = order.tickets[0].id
    # Unpaid: not admissible.
    code = gate_feed.ticket_code(gate_feed.ticket_for_gate(db, ticket_id), signing_key)
    assert scan(client, tok, code).get_json()["reason"] == "unknown_ticket"
    provider = SandboxProvider(sandbox_secret(app.config["SECRET_KEY"]))
    payments.start_payment(db, provider, order.number, clock)
    ref = db.execute("SELECT reference FROM tk_payments").fetchone()[0]
    body, sig = provider.notification(ref, "payment.succeeded", order.total_fen)
    assert payments.handle_notification(db, provider, body, {SIGNATURE_HEADER: sig}, clock) == "applied"
    r = scan(client, tok, gate_feed.code_for(db, ticket_id, signing_key)).get_json()
    assert r["result"] == "allow" and r["ticket"]["holder"] == "李*"


def test_id_card_fallback(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    (_t, _code, doc), = sell()
    r = scan(client, tok, document=resident_id(born="19850101"))
    assert r.get_json()["reason"] == "unknown_ticket"
    r = scan(client, tok, document="370102199003070000")
    assert r.get_json()["reason"] == "invalid_code"
    r = scan(client, tok, document=doc.lower()[:10] + " " + doc[10:])
    body = r.get_json()
    assert body["result"] == "allow" and body["ticket"]["holder"] == "张*明"
    assert scan(client, tok, document=doc).get_json()["reason"] == "already_inside"
    # The number is never stored in the clear: only masked in the audit.
    dump = "\n".join(str(tuple(r)) for t in ("gate_scans", "gate_passages", "gate_presence")
                     for r in db.execute(f"SELECT * FROM {t}").fetchall())
    assert doc not in dump and doc[:4] + "*" * 10 + doc[-4:] in dump


def test_bad_requests_get_stable_codes_and_count_nothing(client, db, clock, make_gate, sell):
    _, tok = make_gate()
    _, tok_in = make_gate(direction="entry")
    (_t, code, _), = sell()
    auth = {"Authorization": f"Bearer {tok}"}
    cases = [
        ({"code": code, "nonce": "x", "direction": "sideways"}, "bad_direction"),
        ({"code": code, "nonce": "", "direction": "entry"}, "bad_nonce"),
        ({"code": code, "nonce": "x" * 101}, "bad_nonce"),
        ({"code": code, "nonce": "a b"}, "bad_nonce"),
        ({"code": code}, "bad_nonce"),
        ({"nonce": "x"}, "code_or_document"),
        ({"nonce": "x", "code": code, "document": "1"}, "code_or_document"),
        ({"nonce": "x", "code": 12}, "bad_code"),
        ({"nonce": "x", "code": [code]}, "bad_code"),
        ({"nonce": "x", "document": 370102}, "bad_document"),
        ({"nonce": "x", "code": code, "scanned_at": "yesterday"}, "bad_time"),
        ({"nonce": "x", "code": code, "scanned_at": "2026-07-15T10:00:00"}, "bad_time"),
        ({"nonce": "x", "code": code, "method": "telepathy"}, "bad_method"),
    ]
    for body, error in cases:
        r = client.post("/api/gate/scan", json=body, headers=auth)
        assert r.status_code == 400, body
        assert r.get_json()["error"] == error, (body, r.get_json())
    r = client.post("/api/gate/scan", data="{not json", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_json"
    r = client.post("/api/gate/scan", json=[1, 2], headers=auth)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_json"
    big = json.dumps({"code": code, "nonce": "big", "pad": "x" * 20000})
    r = client.post("/api/gate/scan", data=big, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.get_json()["error"] == "too_large"
    r = scan(client, tok_in, code, direction="exit")
    assert r.status_code == 400 and r.get_json()["error"] == "direction_not_allowed"
    assert scans_in_db(db) == 0 and inside(db, clock) == 0
    assert scan(client, tok, code).get_json()["result"] == "allow"


def test_scan_records_an_audit_row_for_every_scan(client, db, make_gate, sell):
    gate, tok = make_gate()
    (_t, code, _), = sell()
    scan(client, tok, code, nonce="a1")
    scan(client, tok, code, nonce="a2")
    scan(client, tok, "junk", nonce="a3")
    rows = db.execute("SELECT nonce, gate_id, direction, result, reason, source FROM gate_scans "
                      "ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [
        ("a1", gate.id, "entry", "allow", None, "online"),
        ("a2", gate.id, "entry", "deny", "already_inside", "online"),
        ("a3", gate.id, "entry", "deny", "invalid_code", "online")]


def test_a_write_lock_held_too_long_is_a_503_not_a_500(app, client, db, clock, make_gate, sell):
    from core.db import connect
    _, tok = make_gate()
    (_t, code, _), = sell()
    app.config["DB_BUSY_TIMEOUT_MS"] = 100
    blocker = connect(app.config["DATABASE"])
    blocker.conn.execute("BEGIN IMMEDIATE")
    try:
        r = scan(client, tok, code, nonce="blocked-1")
        assert r.status_code == 503 and r.get_json()["error"] == "busy"
    finally:
        blocker.conn.execute("ROLLBACK")
        blocker.conn.close()
    assert scans_in_db(db) == 0 and inside(db, clock) == 0
    # The gate retries with the same nonce once the lock is gone.
    assert scan(client, tok, code, nonce="blocked-1").get_json()["result"] == "allow"


def test_an_id_number_sent_as_the_code_is_the_id_card_fallback(client, db, make_gate, sell):
    _, tok = make_gate()
    (_t, _code, doc), = sell()
    body = scan(client, tok, doc[:6] + " " + doc[6:]).get_json()
    assert body["result"] == "allow" and body["ticket"]["holder"] == "张*明"
    assert db.execute("SELECT method FROM gate_scans").fetchone()[0] == "document"
