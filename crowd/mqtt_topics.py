"""The MQTT topic layout and message payloads (pure: no broker, no database).

Everything lives under one prefix (the ``CROWD_MQTT_PREFIX`` setting, ``scenic``):

    <p>/<area>/<site>/occupancy                 retained  site occupancy
    <p>/<area>/<site>/zone/<zone>/occupancy     retained  zone occupancy
    <p>/camera/<camera>/status                  retained  camera online/offline/stale
    <p>/sales/<site>                            retained, QoS 1  sales paused/resumed
    <p>/alert/<id>                              QoS 1, retained while active  alert events
    <p>/bridge/status                           retained  the site's bridge (last will)
    <p>/worker/<device>/observations            inbound, QoS 1  a worker's reports
    <p>/worker/<device>/status                  inbound, retained  online, or its last will

Payloads are JSON objects with ``schema`` (what it is) and ``version`` (1: fields are
only ever added), ``at`` (ISO 8601 with the zone's offset) and, where they carry numbers,
``units``. Docs: docs/crowd.md, "MQTT".
"""
from __future__ import annotations

import json
import re

VERSION = 1
OCCUPANCY_UNITS = {"people": "persons", "capacity": "persons",
                   "ratio": "people / capacity (1.0 = full)"}
PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


class Topics:
    """Topic names under a prefix (no wildcards or empty levels in it)."""

    def __init__(self, prefix: str = "scenic"):
        if not PREFIX_RE.match(prefix or ""):
            raise ValueError("CROWD_MQTT_PREFIX: letters, digits, '_', '-' and '/' between "
                             "levels")
        self.prefix = prefix

    def site_occupancy(self, area_id: str, site_id: str) -> str:
        return f"{self.prefix}/{area_id}/{site_id}/occupancy"

    def zone_occupancy(self, area_id: str, site_id: str, zone_id: str) -> str:
        return f"{self.prefix}/{area_id}/{site_id}/zone/{zone_id}/occupancy"

    def camera_status(self, camera_id: str) -> str:
        return f"{self.prefix}/camera/{camera_id}/status"

    def sales(self, site_id: str) -> str:
        return f"{self.prefix}/sales/{site_id}"

    def alert(self, alert_id) -> str:
        return f"{self.prefix}/alert/{alert_id}"

    def bridge_status(self) -> str:
        return f"{self.prefix}/bridge/status"

    def worker_observations(self, device: str) -> str:
        return f"{self.prefix}/worker/{device}/observations"

    def worker_status(self, device: str) -> str:
        return f"{self.prefix}/worker/{device}/status"

    def inbound_filters(self) -> list[str]:
        return [f"{self.prefix}/worker/+/observations", f"{self.prefix}/worker/+/status"]

    def reader_filters(self) -> list[str]:
        """What a read-only account (a sign, a control-room system) may subscribe to."""
        p = self.prefix
        return [f"{p}/+/+/occupancy", f"{p}/+/+/zone/+/occupancy", f"{p}/camera/+/status",
                f"{p}/sales/+", f"{p}/alert/+", f"{p}/bridge/status"]

    def parse_worker(self, topic: str) -> tuple[str, str] | None:
        """(device, "observations" | "status") for an inbound topic, else None."""
        head = f"{self.prefix}/worker/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) != 2 or not parts[0] or parts[1] not in ("observations", "status"):
            return None
        return parts[0], parts[1]


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _ratio(r):
    return None if r is None else round(r, 4)


def site_occupancy_payload(occ, site, at: str) -> dict:
    """``occ``: crowd.services.SiteOccupancy; ``site``: the catalog's Site."""
    return {"schema": "scenic.occupancy", "version": VERSION, "scope": "site",
            "area_id": site.area_id, "site_id": site.id, "name": site.name,
            "people": occ.people, "capacity": occ.capacity, "ratio": _ratio(occ.ratio),
            "level": occ.level, "source": occ.source, "stale_cameras": occ.stale_cameras,
            "units": OCCUPANCY_UNITS, "at": at}


def zone_occupancy_payload(zone, site, at: str) -> dict:
    """``zone``: crowd.services.ZoneOccupancy of one of ``site``'s zones."""
    return {"schema": "scenic.occupancy", "version": VERSION, "scope": "zone",
            "area_id": site.area_id, "site_id": site.id, "zone_id": zone.zone_id,
            "name": zone.name, "people": zone.people, "capacity": zone.capacity,
            "ratio": _ratio(zone.ratio), "level": zone.level, "stale": zone.stale,
            "units": OCCUPANCY_UNITS, "at": at}


def camera_status_payload(reading, at: str) -> dict:
    """``reading``: crowd.services.CameraReading. ``people`` is None unless online."""
    return {"schema": "scenic.camera.status", "version": VERSION,
            "camera_id": reading.camera.id, "site_id": reading.camera.site_id,
            "zone_id": reading.camera.zone_id, "status": reading.status,
            "people": reading.counted, "last_report_at": reading.last_at,
            "error": reading.error, "units": {"people": "persons"}, "at": at}


def sales_payload(state, at: str) -> dict:
    """``state``: ticketing.interface.SalesState."""
    return {"schema": "scenic.sales", "version": VERSION, "site_id": state.site_id,
            "event": "paused" if state.paused else "resumed", "paused": state.paused,
            "by": list(state.by), "today_only": state.today_only, "reason": state.reason,
            "since": state.since, "at": at}


def alert_payload(row, event: str, at: str) -> dict:
    """``row``: a crowd_alerts row after the change; ``event``: raised, escalated,
    lowered, updated (a predicted alert's expected time), acknowledged or cleared."""
    ratio = None
    if row["people"] is not None and row["capacity"]:
        ratio = round(row["people"] / row["capacity"], 4)
    return {"schema": "scenic.alert", "version": VERSION, "alert_id": row["id"],
            "event": event, "kind": row["kind"], "scope": row["scope"],
            "target_id": row["target_id"], "site_id": row["site_id"], "level": row["level"],
            "state": row["state"], "people": row["people"], "capacity": row["capacity"],
            "ratio": ratio, "opened_at": row["opened_at"],
            "acknowledged_by": row["acknowledged_by"], "detail": row["detail"],
            # kind "predicted": when the forecast expects the warning level.
            "expected_at": row["expected_at"] if "expected_at" in row.keys() else None,
            "units": OCCUPANCY_UNITS, "at": at}
