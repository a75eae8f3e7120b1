"""The gates' metrics (core/metrics.py; names in docs/operations.md#metrics).

Counters move in the views once a scan's transaction has committed; people inside is
database state, read at each scrape. Every label is bounded: sites come from the catalog,
reasons from ``admission.rules.REASONS`` (an offline gate's reason is its own text: any
other value is ``other``)."""
from __future__ import annotations

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from admission.rules import DIRECTIONS, REASONS
from catalog import interface as catalog
from core.metrics import bounded

from . import services

SOURCES = ("online", "handheld", "offline")
OFFLINE_STATUSES = ("recorded", "conflict", "duplicate", "nonce_conflict", "invalid")
CONFLICTS = ("double_admission", "rule_mismatch")

SCANS = Counter("scenic_gate_scans", "Scans answered (online and handheld) or recorded "
                "(offline), by site, source, direction, result and reason",
                ["site", "source", "direction", "result", "reason"])
OFFLINE_UPLOADS = Counter("scenic_gate_offline_syncs", "Uploads of offline scans an offline "
                          "gate sent when it came back", ["site"])
OFFLINE_SCANS = Counter("scenic_gate_offline_scans", "Offline scans in those uploads, by "
                        "how the server took them", ["site", "status"])
CONFLICTS_FLAGGED = Counter("scenic_gate_offline_conflicts", "Offline admissions the server "
                            "would have denied, flagged for staff", ["site", "kind"])


def scan_answered(site_id: str, source: str, direction: str, answer: dict) -> None:
    """Count one scan's answer (``services.scan``'s dict) after it committed."""
    allowed = answer.get("result") == "allow"
    SCANS.labels(site_id, bounded(source, SOURCES), bounded(direction, DIRECTIONS),
                 "allow" if allowed else "deny",
                 "" if allowed else bounded(answer.get("reason"), REASONS)).inc()


def offline_synced(site_id: str, items: list, results: list[dict]) -> None:
    """Count an upload of offline scans (``services.record_offline_scans``' results)."""
    OFFLINE_UPLOADS.labels(site_id).inc()
    for item, res in zip(items, results):
        status = bounded(res.get("status"), OFFLINE_STATUSES)
        OFFLINE_SCANS.labels(site_id, status).inc()
        if status in ("duplicate", "nonce_conflict", "invalid") or not isinstance(item, dict):
            continue
        if res.get("conflict"):
            CONFLICTS_FLAGGED.labels(site_id, bounded(res["conflict"], CONFLICTS)).inc()
        allowed = item.get("result") == "allow"
        SCANS.labels(site_id, "offline", bounded(item.get("direction"), DIRECTIONS),
                     "allow" if allowed else "deny",
                     "" if allowed else bounded(item.get("reason"), REASONS)).inc()


def collect(db, clock, config):
    """People inside each site (entries - exits since the last closing), at scrape time."""
    inside = GaugeMetricFamily("scenic_gate_people_inside", "People inside a site by its "
                               "gates' count (entries - exits since the last closing)",
                               labels=["site"])
    for site in catalog.list_sites(db):
        inside.add_metric([site.id], services.people_inside(db, site.id, clock))
    yield inside
