"""Ticketing fixtures: an app context and a quick order helper."""
from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest
from tk_helpers import holder

from ticketing import orders, services

# Test modules import helpers with ``from conftest import csrf_of``; without packages this
# directory's conftest can shadow the root one, so re-export what the root one offers.
_root = importlib.util.spec_from_file_location(
    "_root_conftest_for_ticketing", Path(__file__).resolve().parent.parent / "conftest.py")
_root_mod = importlib.util.module_from_spec(_root)
_root.loader.exec_module(_root_mod)
csrf_of = _root_mod.csrf_of
PASSWORD = _root_mod.PASSWORD


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def book(db, clock, ctx):
    """Create an order for the first open slot of a site's day (defaults: today at Kongmiao)."""
    def do(site="kongmiao", day=None, holders=None, product=None, slot_index=None, **kw):
        day = day or clock.now().date()
        slots = services.availability(db, site, day, clock)
        slot = slots[slot_index] if slot_index is not None else next((s for s in slots if s.left), slots[-1])
        product = product or services.list_products(db, site)[-1].id
        return orders.create_order(db, site_id=site, day=day, slot_id=slot.slot_id,
                                   product_id=product, holders=holders if holders is not None else [holder()],
                                   clock=clock, **kw)
    return do


@pytest.fixture
def today(clock) -> date:
    return clock.now().date()
