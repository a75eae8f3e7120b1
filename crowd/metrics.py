"""The crowd monitor's metrics (core/metrics.py; names in docs/operations.md#metrics).

Everything here is database state, read at each scrape through the monitor's own service
functions (the same readings the control room shows): people, capacity and alert level of
each site and zone, and each camera's status, frame rate and dropped frames as the
counting worker last reported them. Levels are numbers so alerts can compare them:
-1 unknown (no fresh camera or gate figure), 0 normal, 1 notice, 2 warning, 3 critical."""
from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from catalog import interface as catalog

from .alert_levels import LEVELS
from .services import Policy, camera_readings, site_occupancy, zone_levels


def level_number(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def collect(db, clock, config):
    policy = Policy.from_config(config)
    people = _gauge("scenic_site_people", "People in a site now: the higher of its cameras' "
                    "and its gates' figures (absent when neither reports)", ["site"])
    capacity = _gauge("scenic_site_capacity", "A site's instantaneous capacity "
                      "(LB/T 034-2014)", ["site"])
    ratio = _gauge("scenic_site_occupancy_ratio", "People / capacity of a site", ["site"])
    level = _gauge("scenic_site_alert_level", "A site's alert level: -1 unknown, 0 normal, "
                   "1 notice, 2 warning, 3 critical", ["site"])
    for site in catalog.list_sites(db):
        occ = site_occupancy(db, site.id, clock, policy=policy)
        capacity.add_metric([site.id], occ.capacity)
        level.add_metric([site.id], level_number(occ.level))
        if occ.people is not None:
            people.add_metric([site.id], occ.people)
        if occ.ratio is not None:
            ratio.add_metric([site.id], occ.ratio)
    yield from (people, capacity, ratio, level)

    zone_people = _gauge("scenic_zone_people", "People its cameras count in a zone",
                         ["zone"])
    zone_ratio = _gauge("scenic_zone_occupancy_ratio", "People / capacity of a zone", ["zone"])
    zone_level = _gauge("scenic_zone_alert_level", "A zone's alert level (as the site's)",
                        ["zone"])
    for zone in zone_levels(db, clock, policy=policy).values():
        zone_level.add_metric([zone.zone_id], level_number(zone.level))
        if zone.people is not None:
            zone_people.add_metric([zone.zone_id], zone.people)
        if zone.ratio is not None:
            zone_ratio.add_metric([zone.zone_id], zone.ratio)
    yield from (zone_people, zone_ratio, zone_level)

    marks = _gauge("scenic_crowd_threshold_ratio", "The occupancy ratio at which each alert "
                   "level begins (CROWD_*_RATIO)", ["level"])
    for name in ("notice", "warning", "critical"):
        marks.add_metric([name], policy.thresholds.mark(name))
    yield marks

    up = _gauge("scenic_camera_up", "1 if the camera's worker reported it online within "
                "CROWD_STALE_SECONDS, else 0 (offline or silent)", ["camera", "site"])
    fps = _gauge("scenic_camera_fps", "Frames a second the worker counted, as last reported",
                 ["camera"])
    dropped = CounterMetricFamily("scenic_camera_dropped_frames", "Frames the worker dropped "
                                  "because counting fell behind (as reported)", labels=["camera"])
    for rd in camera_readings(db, clock, policy.stale_seconds):
        up.add_metric([rd.camera.id, rd.camera.site_id], 1 if rd.fresh else 0)
        if rd.fps is not None:
            fps.add_metric([rd.camera.id], rd.fps)
        dropped.add_metric([rd.camera.id], rd.dropped)
    yield from (up, fps, dropped)
