"""Slots, quotas, holds, fares, payments, refunds and rebooking on a real SQLite file."""
from datetime import timedelta

import pytest
from testkit import resident_id
from tk_helpers import holder

from catalog.services import site_capacity
from core.errors import DomainError
from admission import codes
from ticketing import gate_feed, orders, payments, quota
from ticketing.providers import SIGNATURE_HEADER, SandboxProvider


@pytest.fixture
def provider():
    return SandboxProvider(b"k" * 32)


def _code(fn, *a, **kw):
    with pytest.raises(DomainError) as err:
        fn(*a, **kw)
    return err.value.code


def test_quotas_leave_the_reserved_share_for_the_window(db, clock, ctx, today):
    for site in ("taishan", "kongmiao", "konglin"):
        slots = quota.availability(db, site, today + timedelta(days=1), clock)
        daily = site_capacity(db, site).daily
        online, window = sum(s.quota for s in slots), sum(s.window_quota for s in slots)
        assert online + window == daily
        assert window == -(-daily // 10)  # ceil(10 %)
        assert all(s.left == s.quota and s.sold == 0 for s in slots)
    kongmiao = quota.availability(db, "kongmiao", today, clock)
    assert kongmiao[0].start.strftime("%H:%M") == "08:00"
    assert kongmiao[-1].end.strftime("%H:%M") == "17:10"      # last entry
    assert [s.left for s in kongmiao[:2]] == [0, 0]            # 08:00-10:00 are over at 10:00


def test_hold_then_expiry_releases_quota_without_a_request(db, clock, ctx, book, today):
    order = book(hold_minutes=15)
    assert order.status == "held" and order.total_fen == 8000
    slot_id = order.tickets[0].slot_id
    a = next(s for s in quota.availability(db, "kongmiao", today, clock) if s.slot_id == slot_id)
    assert (a.held, a.sold, a.left) == (1, 0, a.quota - 1)
    clock.advance(minutes=16)
    assert quota.expire_holds(db, clock) == 1
    a = next(s for s in quota.availability(db, "kongmiao", today, clock) if s.slot_id == slot_id)
    assert (a.held, a.left) == (0, a.quota)
    assert orders.get_order(db, order.number).status == "expired"


def test_ages_decide_free_fares_and_the_price_is_computed_here(db, clock, ctx, book, today):
    senior, child, adult = holder(born="19600101"), holder(born="20220101"), holder()
    order = book(site="taishan", product="taishan-standard", holders=[senior, child, adult])
    fares = [t.fare_id for t in order.tickets]
    assert fares == ["senior_60", "taishan_child", "full"] and order.total_fen == 11500
    assert _code(book, site="taishan", product="taishan-standard",
                 holders=[holder(fare="senior_60")]) == "not_eligible"
    assert _code(book, holders=[holder()], expected_total_fen=1) == "price_mismatch"
    student = book(holders=[holder(fare="student_half")])
    assert student.total_fen == 4000 and student.tickets[0].proof_required
    assert _code(book, holders=[holder(fare="sankong_minor")]) == "unknown_fare"  # disabled rule
    assert _code(book, holders=[holder(fare="child_under_1_4m")]) == "unknown_fare"  # retired
    passport = {"name": "John Smith", "document_type": "passport", "document_number": "E7654321",
                "birth_date": "1950-05-05"}
    assert book(holders=[passport]).tickets[0].fare_id == "senior_60"
    for name in ("Seán O'Brien-Ng", "买买提·艾力"):
        assert book(holders=[holder(name=name)]).tickets[0].holder_masked


def test_bad_requests_have_their_own_codes_and_write_nothing(db, clock, ctx, book, today):
    bad_id = holder(document_number="110105194912310021")
    assert _code(book, holders=[bad_id]) == "id_check_digit"
    h = holder()
    assert _code(book, holders=[h, dict(h, name="李四")]) == "duplicate_holder"
    assert _code(book, day=today - timedelta(days=1)) == "date_in_past"
    assert _code(book, day=today + timedelta(days=30)) == "date_too_far"
    assert _code(book, holders=[holder(name="<b>x</b>")]) == "bad_holder_name"
    assert _code(book, holders=[holder()] * 0) == "bad_holders"
    assert _code(book, product="taishan-standard") == "product_not_for_site"
    assert db.execute("SELECT count(*) FROM tk_orders").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM tk_tickets").fetchone()[0] == 0


def test_one_ticket_per_holder_per_site_per_day(db, clock, ctx, book, today):
    h = holder()
    book(site="taishan", product="taishan-standard", holders=[h])
    # the Mount Tai ticket covers Dai Temple too
    assert _code(book, site="daimiao", product="daimiao-single", holders=[h]) == "holder_has_ticket"
    assert book(site="daimiao", product="daimiao-single", holders=[h],
                day=today + timedelta(days=1)).status == "held"


def test_idempotency_key_returns_the_same_order(db, clock, ctx, book):
    h = holder()
    first = book(holders=[h], idempotency_key="key-123456")
    again = book(holders=[h], idempotency_key="key-123456")
    assert again.number == first.number
    assert db.execute("SELECT count(*) FROM tk_orders").fetchone()[0] == 1
    assert _code(book, holders=[holder()], idempotency_key="key-123456") == "idempotency_conflict"


def test_sold_out_and_paused(db, clock, ctx, book, today):
    slots = quota.availability(db, "konglin", today, clock)
    slot = next(s for s in slots if s.left)
    quota.set_slot_quota(db, slot.slot_id, quota=2, window_quota=slot.window_quota,
                            clock=clock, actor="test")
    idx = slots.index(slot)
    book(site="konglin", slot_index=idx, holders=[holder(), holder()])
    assert _code(book, site="konglin", slot_index=idx) == "sold_out"
    # the window still sells from its reserved share
    w = book(site="konglin", slot_index=idx, channel="window")
    assert w.status == "paid" and w.tickets[0].status == "valid"
    quota.pause_sales(db, site_id="konglin", reason="crowd", actor="crowd-monitor", clock=clock)
    assert quota.is_paused(db, "konglin") and quota.is_paused(db, "konglin", today, today)
    assert _code(book, site="konglin") == "sales_paused"
    quota.pause_sales(db, site_id="konglin", reason="crowd", actor="crowd-monitor", clock=clock)
    quota.resume_sales(db, site_id="konglin", actor="crowd-monitor", clock=clock)
    assert not quota.is_paused(db, "konglin")


def test_monitor_cannot_lift_a_staff_pause_but_staff_lift_all(db, clock, ctx, today):
    quota.pause_sales(db, site_id="kongfu", reason="repairs", actor="staff:amy", clock=clock)
    quota.pause_sales(db, site_id="kongfu", reason="full", actor="crowd-monitor", clock=clock)
    quota.resume_sales(db, site_id="kongfu", actor="crowd-monitor", clock=clock)
    assert quota.is_paused(db, "kongfu")
    quota.resume_sales(db, site_id="kongfu", actor="staff:bob", clock=clock)
    assert not quota.is_paused(db, "kongfu")
    slot = quota.availability(db, "kongfu", today, clock)[-1]
    quota.pause_sales(db, site_id="kongfu", reason="x", actor="staff:amy", clock=clock,
                         slot_id=slot.slot_id)
    assert quota.availability(db, "kongfu", today, clock)[-1].paused
    assert not quota.is_paused(db, "kongfu", today, today)
    assert _code(quota.pause_sales, db, site_id="kongfu", reason="", actor="a", clock=clock) \
        == "reason_required"


def test_the_monitors_pause_stops_todays_sales_only_and_moves_on_at_midnight(db, clock, ctx,
                                                                               book, today):
    """A crowd at the gates now says nothing about next week's visitors: the monitor's pause
    refuses today's slots and leaves later days on sale; a staff pause stops every day."""
    tomorrow = today + timedelta(days=1)
    quota.pause_sales(db, site_id="kongmiao", reason="crowd", actor="crowd-monitor", clock=clock)
    assert _code(book) == "sales_paused"
    assert all(s.paused for s in quota.availability(db, "kongmiao", today, clock))
    assert not any(s.paused for s in quota.availability(db, "kongmiao", tomorrow, clock))
    assert book(day=tomorrow).status == "held"
    days = {d["date"]: d["paused"] for d in quota.calendar(db, "kongmiao", clock)}
    assert days[today] and not days[tomorrow]
    assert quota.is_paused(db, "kongmiao", today, today)
    assert not quota.is_paused(db, "kongmiao", tomorrow, today)
    assert [p["today_only"] for p in quota.pauses(db, "kongmiao")] == [True]

    clock.advance(days=1)                     # still crowded after midnight: the new today
    assert _code(book) == "sales_paused"
    assert book(day=today + timedelta(days=2)).status == "held"

    quota.resume_sales(db, site_id="kongmiao", actor="crowd-monitor", clock=clock)
    quota.pause_sales(db, site_id="kongmiao", reason="storm", actor="staff:amy", clock=clock)
    assert _code(book, day=today + timedelta(days=3)) == "sales_paused"
    assert [p["today_only"] for p in quota.pauses(db, "kongmiao")] == [False]


def _notify(db, provider, clock, order, kind="payment.succeeded", amount=None, sign=True):
    ref = db.execute("SELECT reference FROM tk_payments p JOIN tk_orders o ON o.id = p.order_id"
                     " WHERE o.number = ? AND kind = 'charge'", [order.number]).fetchone()[0]
    body, sig = provider.notification(ref, kind, order.total_fen if amount is None else amount)
    headers = {SIGNATURE_HEADER: sig if sign else "0" * 64}
    return body, headers


def test_payment_notifications_duplicates_out_of_order_and_bad_signature(db, clock, ctx, book,
                                                                          provider):
    order = book()
    assert payments.start_payment(db, provider, order.number, clock).startswith("/ticketing/sandbox/pay/")
    body, headers = _notify(db, provider, clock, order, sign=False)
    assert _code(payments.handle_notification, db, provider, body, headers, clock) == "bad_signature"
    body, headers = _notify(db, provider, clock, order, amount=1)
    assert _code(payments.handle_notification, db, provider, body, headers, clock) == "amount_mismatch"
    assert orders.get_order(db, order.number).status == "held"
    body, headers = _notify(db, provider, clock, order)
    assert payments.handle_notification(db, provider, body, headers, clock) == "applied"
    assert payments.handle_notification(db, provider, body, headers, clock) == "duplicate"
    late_fail, h2 = _notify(db, provider, clock, order, kind="payment.failed")
    assert payments.handle_notification(db, provider, late_fail, h2, clock) == "ignored"
    paid = orders.get_order(db, order.number)
    assert paid.status == "paid" and paid.tickets[0].status == "valid"
    outcomes = [r[0] for r in db.execute("SELECT outcome FROM tk_payment_events ORDER BY id")]
    assert outcomes == ["rejected", "rejected", "applied", "ignored"]


def test_payment_after_expiry_keeps_or_refunds(db, clock, ctx, book, provider, today):
    order = book(hold_minutes=5)
    payments.start_payment(db, provider, order.number, clock)
    body, headers = _notify(db, provider, clock, order)
    clock.advance(minutes=10)
    assert payments.handle_notification(db, provider, body, headers, clock) == "applied"
    assert orders.get_order(db, order.number).status == "paid"


def test_refund_one_holder_and_rebook(db, clock, ctx, book, provider, today):
    tomorrow = today + timedelta(days=1)
    order = book(day=tomorrow, holders=[holder(), holder()])
    payments.start_payment(db, provider, order.number, clock)
    payments.handle_notification(db, provider, *_notify(db, provider, clock, order), clock)
    first, second = orders.get_order(db, order.number).tickets
    out = orders.refund(db, order.number, clock=clock, provider=provider, ticket_ids=[first.id])
    assert [t.status for t in out.tickets] == ["refunded", "valid"] and out.status == "paid"
    assert codes.revocation_key(first.id, first.version) in gate_feed.revocation_list(db)
    gate = gate_feed.ticket_for_gate(db, first.id)
    assert gate.status == "refunded" and gate.version == first.version + 1
    later = [s for s in quota.availability(db, "kongmiao", tomorrow, clock)
             if s.slot_id != second.slot_id][-1]
    moved = orders.rebook(db, order.number, ticket_id=second.id, slot_id=later.slot_id, clock=clock)
    assert moved.tickets[1].slot_id == later.slot_id and moved.tickets[1].version == 2
    assert codes.revocation_key(second.id, 1) in gate_feed.revocation_list(db)
    refunds = db.execute("SELECT amount_fen FROM tk_payments WHERE kind = 'refund'").fetchall()
    assert [r[0] for r in refunds] == [8000]
    clock.set(later.start + timedelta(minutes=1))
    assert _code(orders.refund, db, order.number, clock=clock, provider=provider) == "refund_too_late"


def test_gate_views_and_codes(app, db, clock, ctx, book, provider, today):
    number = resident_id("19800101")
    order = book(site="taishan", product="taishan-standard",
                 holders=[holder(document_number=number)], channel="window")
    t = order.tickets[0]
    g = gate_feed.ticket_for_gate(db, t.id)
    assert g.sites == ("taishan", "daimiao") and g.status == "valid"
    assert g.holder_masked == "张*" and g.document_hash != number
    assert [x.id for x in gate_feed.tickets_for_gate_bundle(db, "daimiao", today + timedelta(days=2))] == [t.id]
    assert gate_feed.tickets_for_gate_bundle(db, "daimiao", today + timedelta(days=3)) == []
    assert gate_feed.find_ticket_by_document(db, "taishan", today, number).id == t.id
    assert gate_feed.find_ticket_by_document(db, "kongmiao", today, number) is None
    key = gate_feed.signing_key(app.instance_path)
    claim = codes.decode(gate_feed.code_for(db, t.id, key), gate_feed.ticket_signing_public_key(app.instance_path))
    assert claim.ticket_id == t.id and claim.sites == ("taishan", "daimiao")
    assert gate_feed.ticket_for_gate(db, 999999) is None


def test_holds_lapse_inside_the_next_quota_transaction(db, clock, ctx, book, today):
    slots = quota.availability(db, "kongfu", today, clock)
    idx = next(i for i, s in enumerate(slots) if s.left)
    quota.set_slot_quota(db, slots[idx].slot_id, quota=2, window_quota=0, clock=clock, actor="t")
    book(site="kongfu", slot_index=idx, holders=[holder(), holder()], hold_minutes=10)
    assert _code(book, site="kongfu", slot_index=idx) == "sold_out"
    clock.advance(minutes=11)  # nobody runs expire-holds: the next booking releases them
    assert book(site="kongfu", slot_index=idx).status == "held"


def test_expire_holds_command(app, db, clock, ctx, book):
    book(hold_minutes=1)
    clock.advance(minutes=2)
    result = app.test_cli_runner().invoke(args=["ticketing", "expire-holds"])
    assert result.exit_code == 0 and "expired holds: 1" in result.output


def test_slot_quotas_stay_within_daily_capacity(db, clock, ctx, make_user, today):
    from catalog.services import adjust_capacity
    day = today + timedelta(days=1)
    slots = quota.availability(db, "konglin", day, clock)
    s = slots[0]
    assert _code(quota.set_slot_quota, db, s.slot_id, quota=s.quota + 1,
                 window_quota=s.window_quota, clock=clock, actor="t") == "over_capacity"
    assert _code(quota.set_slot_quota, db, s.slot_id, quota=-1, window_quota=0,
                 clock=clock, actor="t") == "bad_quota"
    adjust_capacity(db, kind="site", target_id="konglin", field="daily", value=5000,
                    reason="storm", user=make_user("admin"), clock=clock)
    shrunk = quota.availability(db, "konglin", day, clock)
    assert sum(x.quota + x.window_quota for x in shrunk) <= 5000
    assert sum(x.quota for x in shrunk) > 0


def test_expire_holds_loop_stops_on_sigterm(app, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    target = f"app:create_app(instance_path={app.instance_path!r})"
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", target, "ticketing",
                             "expire-holds", "--every", "1"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    deadline = time.time() + 20
    first = proc.stdout.readline()  # blocks until the first sweep is done
    assert first.startswith("expired holds: 0"), proc.stderr.read() if not first else first
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=max(1, deadline - time.time())) == 0


def test_reissue_gives_a_new_code_and_revokes_the_old(app, db, clock, ctx, book):
    order = book(channel="window")
    t = order.tickets[0]
    key = gate_feed.signing_key(app.instance_path)
    old = gate_feed.code_for(db, t.id, key)
    out = orders.reissue(db, order.number, ticket_id=t.id, clock=clock)
    new = gate_feed.code_for(db, t.id, key)
    assert out.tickets[0].version == 2 and new != old
    assert codes.revocation_key(t.id, 1) in gate_feed.revocation_list(db)
    assert codes.decode(new, gate_feed.ticket_signing_public_key(app.instance_path)).version == 2
    assert _code(orders.reissue, db, order.number, ticket_id=999, clock=clock) == "unknown_ticket"


def test_demo_seed_is_idempotent_and_survives_a_new_day(app, db, clock, ctx):
    from ticketing import demo
    creds = {}
    demo.seed(app, db, creds)
    demo.seed(app, db, creds)
    clock.advance(days=1)
    demo.seed(app, db, creds)
    assert db.execute("SELECT count(*) FROM tk_orders").fetchone()[0] == 2
    number, last4 = creds["ticketing demo order (number / last 4 of ID)"].split(" / ")
    from core.ratelimit import limits
    with app.test_request_context():
        found = orders.recover_order(db, number, last4, clock, limits=limits(), failures="5/hour")
    assert found.status == "paid"
    link = creds["ticketing demo order link"]
    assert link.endswith(f"/tickets/orders/{number}/{found.secret}")
