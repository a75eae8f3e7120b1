"""Fixtures of the ticketing tests (pytest finds them here; no imports needed)."""
from __future__ import annotations

import pytest

from tk_helpers import holder
from ticketing import orders, products, quota


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def book(db, clock, ctx):
    """Create an order for the first open slot of a site's day (defaults: today at Kongmiao)."""
    def do(site="kongmiao", day=None, holders=None, product=None, slot_index=None, **kw):
        day = day or clock.now().date()
        slots = quota.availability(db, site, day, clock)
        slot = slots[slot_index] if slot_index is not None else \
            next((s for s in slots if s.left), slots[-1])
        product = product or products.list_products(db, site)[-1].id
        return orders.create_order(db, site_id=site, day=day, slot_id=slot.slot_id,
                                   product_id=product, clock=clock,
                                   holders=holders if holders is not None else [holder()], **kw)
    return do


@pytest.fixture
def today(clock):
    return clock.now().date()
