"""The catalog's seam: what other domains may use of sites, zones, hours and capacities.

Other domains import this module only (``from catalog import interface as catalog``),
never ``catalog.services`` or ``catalog.repo``; tests/test_layers.py enforces it.
Site ids: ``taishan``, ``daimiao``, ``kongmiao``, ``kongfu``, ``konglin``.
"""
from .services import (Capacity, Season, Site, SiteStatus, Zone, closing_time, get_site,
                       get_zone, list_areas, list_sites, list_zones, site_capacity,
                       status_now, zone_capacity)

__all__ = [
    # dataclasses
    "Capacity", "Season", "Site", "SiteStatus", "Zone",
    # functions: (db, ...) -> value; NotFound('unknown_site' / 'unknown_zone')
    "closing_time", "get_site", "get_zone", "list_areas", "list_sites", "list_zones",
    "site_capacity", "status_now", "zone_capacity",
]
