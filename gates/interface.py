"""The gates' seam: what other domains may use of the ticket gates.

Other domains import this module only (``from gates import interface as gates``);
tests/test_layers.py enforces it.
"""
from .services import people_inside

__all__ = [
    # people_inside(db, site_id, clock) -> int: entries - exits since the last closing
    "people_inside",
]
