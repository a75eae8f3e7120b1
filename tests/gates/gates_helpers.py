"""Fixtures and helpers for the gates tests; test modules import the fixtures by name."""
from __future__ import annotations

import itertools
import uuid

import pytest

from gates import services as gates
from testkit import PASSWORD, resident_id as make_id  # noqa: F401  (re-exported)
from ticketing import orders, services as tk


def scan(client, token, code=None, direction="entry", nonce=None, document=None, **extra):
    body = {"direction": direction, "nonce": nonce or uuid.uuid4().hex}
    if document is not None:
        body["document"] = document
    else:
        body["code"] = code
    body.update(extra)
    return client.post("/api/gate/scan", json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def make_gate(db, clock):
    counter = itertools.count(1)

    def make(site="kongmiao", direction="both", name=None):
        return gates.create_gate(db, site_id=site, name=name or f"Gate {next(counter)}",
                                 direction=direction, clock=clock)
    return make


@pytest.fixture
def signing_key(app):
    return tk.signing_key(app)


@pytest.fixture
def sell(app, db, clock, signing_key):
    """Sell window tickets for the slot that holds ``at`` (default: now). Returns a list of
    (ticket, code, document_number)."""
    def do(site="kongmiao", product=None, n=1, day=None, at=None, slot_index=None):
        day = day or clock.now().date()
        slots = tk.availability(db, site, day, clock)
        if slot_index is None:
            at = at or clock.now()
            slot = next(s for s in slots if s.start <= at < s.end)
        else:
            slot = slots[slot_index]
        if product is None:
            ids = [p.id for p in tk.list_products(db, site)]
            product = site if site in ids else ids[0]
        docs = [make_id() for _ in range(n)]
        # An app context only around the sale (pii needs the keys): a context held for
        # the whole test would be shared by the test client's requests, and with it flask.g.
        with app.app_context():
            order = orders.create_order(db, site_id=site, day=day, slot_id=slot.slot_id,
                                        product_id=product, clock=clock, channel="window",
                                        holders=[{"name": "张小明", "document_type": "resident_id",
                                                  "document_number": d} for d in docs])
        out = []
        for tv, doc in zip(order.tickets, docs):
            t = tk.ticket_for_gate(db, tv.id)
            out.append((t, tk.code_for(db, t.id, signing_key), doc))
        do.last_order = order
        return out
    return do

