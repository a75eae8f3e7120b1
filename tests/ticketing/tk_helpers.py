"""Helpers for ticketing tests: valid GB 11643 numbers and holders."""
from __future__ import annotations

from testkit import csrf_of, resident_id as make_id  # noqa: F401  (re-exported)


def holder(name="张三", born="19900307", **kw):
    h = {"name": name, "document_type": "resident_id", "document_number": make_id(born)}
    h.update(kw)
    return h


# --- fixtures (imported by the test modules that use them) ---------------------------

import pytest  # noqa: E402


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def book(db, clock, ctx):
    """Create an order for the first open slot of a site's day (defaults: today at Kongmiao)."""
    from ticketing import orders, services

    def do(site="kongmiao", day=None, holders=None, product=None, slot_index=None, **kw):
        day = day or clock.now().date()
        slots = services.availability(db, site, day, clock)
        slot = slots[slot_index] if slot_index is not None else \
            next((s for s in slots if s.left), slots[-1])
        product = product or services.list_products(db, site)[-1].id
        return orders.create_order(db, site_id=site, day=day, slot_id=slot.slot_id,
                                   product_id=product, clock=clock,
                                   holders=holders if holders is not None else [holder()], **kw)
    return do


@pytest.fixture
def today(clock):
    return clock.now().date()
