"""The gates' seam: what other domains may use of the ticket gates.

Other domains import this module only (``from gates import interface as gates``);
tests/test_layers.py enforces it.
"""
from .services import people_inside
from .visits import Visit, entries_per_day, visits

__all__ = [
    # people_inside(db, site_id, clock) -> int: entries - exits since the last closing
    "people_inside",
    # visits(db, site_id, day, tz) -> [Visit(ticket_id, entered_at, exited_at | None)]
    # entries_per_day(db, site_id, first, last) -> {date: entries}
    "Visit", "visits", "entries_per_day",
]
