"""Ticketing's metrics (core/metrics.py; names in docs/operations.md#metrics).

Counted in the views once the service's transaction has committed and the order is
acknowledged to the buyer. A booking that waits for payment holds its tickets (status
``held``); a window sale or a free order is ``paid`` at once. Labels are bounded: sites
from the catalog, channels and statuses from the code."""
from __future__ import annotations

from prometheus_client import Counter

from core.metrics import bounded

CHANNELS = ("online", "window")
ORDER_STATUSES = ("held", "paid", "refunded", "expired")
ACTORS = ("visitor", "api", "staff")

BOOKINGS = Counter("scenic_ticketing_bookings", "Orders booked, by site, channel and status "
                   "(held: tickets held until paid; paid: sold at once)",
                   ["site", "channel", "status"])
BOOKED_TICKETS = Counter("scenic_ticketing_booked_tickets", "Tickets in those orders",
                         ["site", "channel", "status"])
REFUNDS = Counter("scenic_ticketing_refunds", "Refunds and cancelled holds, by site, who asked "
                  "and the order's status after (refunded, paid: some tickets left, expired: "
                  "a hold cancelled)", ["site", "by", "status"])


def booked(order) -> None:
    """Count an order (``orders.OrderView``) just created."""
    if order.secret is None:
        return      # the same Idempotency-Key again: the order that was already counted
    labels = (order.site_id, bounded(order.channel, CHANNELS),
              bounded(order.status, ORDER_STATUSES))
    BOOKINGS.labels(*labels).inc()
    BOOKED_TICKETS.labels(*labels).inc(len(order.tickets))


def refunded(order, by: str) -> None:
    """Count a refund (``orders.refund``'s answer)."""
    REFUNDS.labels(order.site_id, bounded(by, ACTORS), bounded(order.status, ORDER_STATUSES)).inc()
