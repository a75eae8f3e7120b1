"""Demo data for ticketing: today's slots for every site and one paid demo order at
Mount Tai (window sale) so the gates and the order page have something to show."""
from __future__ import annotations

import sys

from admission.identity import check_digit
from catalog import interface as catalog

from . import orders, quota


def _demo_id() -> str:
    body = "37010219900307123"  # synthetic: region 370102 (Jinan), born 1990-03-07
    return body + check_digit(body)


def seed(app, db, credentials: dict) -> None:
    clock = app.extensions["scenic.clock"]
    today = clock.now().date()
    for site in catalog.list_sites(db):
        quota.availability(db, site.id, today, clock)
    slots = [s for s in quota.availability(db, "taishan", today, clock) if s.window_left]
    if not slots:
        return
    order = orders.create_order(
        db, site_id="taishan", day=today, slot_id=slots[0].slot_id,
        product_id="taishan-standard", channel="window",
        idempotency_key=f"demo-ticketing-{today.isoformat()}", clock=clock,
        holders=[{"name": "演示游客", "document_type": "resident_id",
                  "document_number": _demo_id()}], actor="demo")
    credentials["ticketing demo order (number / last 4 of ID)"] = f"{order.number} / {_demo_id()[-4:]}"
    # The order's own link (its secret is in it), relative to the site's address.
    credentials["ticketing demo order link"] = \
        f"/tickets/orders/{order.number}/{orders.order_secret(db, order.number)}"


def processes(app) -> list[list[str]]:
    # Holds lapse inside every quota transaction anyway; this sweeps them on quiet days too.
    procs = [[sys.executable, "-m", "flask", "--app", "app", "ticketing", "expire-holds",
              "--every", "60"]]
    if app.config["TICKETING_SANDBOX_DELIVERY"] == "outbox":
        procs.append([sys.executable, "-m", "flask", "--app", "app", "ticketing",
                      "sandbox-deliver", "--every", "1"])
    return procs
