"""The catalog's seam: what other domains may use of sites, zones, hours and capacities.

Other domains import this module only (``from catalog import interface as catalog``),
never ``catalog.services`` or ``catalog.repo``; tests/test_layers.py enforces it.
Site ids: ``taishan``, ``daimiao``, ``kongmiao``, ``kongfu``, ``konglin``.
Hours: ask ``hours_on`` (a ``DayHours``: exceptions applied, with each place's hours) or
``is_open``; ``Site.season_on`` is the regular season only, before exceptions.
"""
from .hours import DayHours, HoursException, Place, Season
from .schemas import SiteId
from .schedule import hours_on, is_open, last_closing, status_now
from .services import (Capacity, Site, SiteStatus, Zone, file_hours_on, get_site, get_zone,
                       list_areas, list_sites, list_zones, place_capacity,
                       published_or_computed, site_capacity, site_from_data, zone_capacity)

__all__ = [
    # dataclasses
    "Capacity", "DayHours", "HoursException", "Place", "Season", "Site", "SiteStatus", "Zone",
    # a contract's field type (pydantic): a site id, 404 unknown_site when too long
    "SiteId",
    # functions: (db, ...) -> value; NotFound('unknown_site' / 'unknown_zone' / 'unknown_place')
    "get_site", "get_zone", "hours_on", "is_open", "last_closing", "list_areas", "list_sites",
    "list_zones", "place_capacity", "site_capacity", "status_now", "zone_capacity",
    # the data file as it is, without the database (simulations, checks):
    "file_hours_on", "published_or_computed", "site_from_data",
]
