"""The crowd monitor's seam: what other domains may use of occupancy and crowd levels.

Other domains import this module only (``from crowd import interface as crowd``);
tests/test_layers.py enforces it. Levels: ``normal``, ``notice``, ``warning``,
``critical``, or ``unknown`` when no camera or gate reports (never a false 0).
Readings follow the monitor's Policy: build it from the app's settings with
``Policy.from_config(current_app.config)`` in a view and pass it down.
"""
from .alert_levels import LEVELS
from .services import Policy, SiteOccupancy, ZoneOccupancy, site_occupancy, zone_levels

__all__ = [
    "LEVELS", "Policy", "SiteOccupancy", "ZoneOccupancy",
    # zone_levels(db, clock, *, policy) -> {zone_id: ZoneOccupancy}
    # site_occupancy(db, site_id, clock, *, policy) -> SiteOccupancy
    "zone_levels", "site_occupancy",
]
