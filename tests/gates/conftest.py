"""Fixtures of the gates tests (pytest finds them here; no imports needed)."""
from __future__ import annotations

import itertools

import pytest

from gates import services as gates
from testkit import resident_id
from ticketing import gate_feed, orders, products, quota


@pytest.fixture
def make_gate(db, clock):
    counter = itertools.count(1)

    def make(site="kongmiao", direction="both", name=None):
        return gates.create_gate(db, site_id=site, name=name or f"Gate {next(counter)}",
                                 direction=direction, clock=clock)
    return make


@pytest.fixture
def signing_key(app):
    return gate_feed.signing_key(app.instance_path)


@pytest.fixture
def sell(app, db, clock, signing_key):
    """Sell window tickets for the slot that holds ``at`` (default: now). Returns a list of
    (ticket, code, document_number); ``holders`` replaces the n default resident-ID holders."""
    def do(site="kongmiao", product=None, n=1, day=None, at=None, slot_index=None, fare="auto",
           holders=None):
        day = day or clock.now().date()
        slots = quota.availability(db, site, day, clock)
        if slot_index is None:
            at = at or clock.now()
            slot = next(s for s in slots if s.start <= at < s.end)
        else:
            slot = slots[slot_index]
        if product is None:
            ids = [p.id for p in products.list_products(db, site)]
            product = site if site in ids else ids[0]
        holders = holders or [{"name": "张小明", "document_type": "resident_id",
                               "document_number": resident_id(), "fare": fare}
                              for _ in range(n)]
        docs = [h["document_number"] for h in holders]
        # An app context only around the sale (pii needs the keys): a context held for
        # the whole test would be shared by the test client's requests, and with it flask.g.
        with app.app_context():
            order = orders.create_order(db, site_id=site, day=day, slot_id=slot.slot_id,
                                        product_id=product, clock=clock, channel="window",
                                        holders=holders)
        out = []
        for tv, doc in zip(order.tickets, docs):
            t = gate_feed.ticket_for_gate(db, tv.id)
            out.append((t, gate_feed.code_for(db, t.id, signing_key), doc))
        do.last_order = order
        return out
    return do
