"""What ticketing gives the crowd forecast: each slot of a site's day with its valid
tickets and when each was sold (arrivals, show rate and the booking curve come from these)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.clock import from_iso
from core.db import Database

from . import repo


@dataclass(frozen=True)
class SlotSales:
    slot_id: int
    start: datetime
    end: datetime
    quota: int                # online and window quota together
    tickets: tuple            # ((ticket_id, sold_at: datetime), ...) of valid tickets


def slot_sales(db: Database, site_id: str, day: date) -> list[SlotSales]:
    """The slots of a site's day (none if no slot was ever offered) with their valid
    tickets; a Mount Tai ticket counts in the Mount Tai slot it was booked for."""
    sold: dict[int, list] = {}
    for r in repo.valid_tickets_of_day(db, site_id, day.isoformat()):
        sold.setdefault(r["slot_id"], []).append((int(r["id"]), from_iso(r["created_at"])))
    return [SlotSales(r["id"], from_iso(r["start_at"]), from_iso(r["end_at"]),
                      int(r["quota"]) + int(r["window_quota"]), tuple(sold.get(r["id"], ())))
            for r in repo.slots_of_day(db, site_id, day.isoformat())]
