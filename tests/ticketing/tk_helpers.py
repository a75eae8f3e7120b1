"""Helpers for ticketing tests: valid GB 11643 numbers and holders."""
from __future__ import annotations

import itertools

from ticketing.identity import check_digit

_seq = itertools.count(100)


def make_id(born: str = "19900307", region: str = "370102", seq: int | None = None) -> str:
    """A valid resident ID number (check digit computed) for a birth date YYYYMMDD."""
    body = f"{region}{born}{(seq if seq is not None else next(_seq)) % 1000:03d}"
    return body + check_digit(body)


def holder(name="张三", born="19900307", **kw):
    h = {"name": name, "document_type": "resident_id", "document_number": make_id(born)}
    h.update(kw)
    return h


def csrf_of(client) -> str:
    """The CSRF token of a test client's session (same as the root conftest's helper; kept
    here so no test module has to import a module named ``conftest``)."""
    import re
    html = client.get("/tickets").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


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
