"""Crowd-monitoring settings (prefix CROWD_); read by core.config.load_config."""
from core.config import Setting, fraction, positive

SOURCE_SCHEMES = ("rtsp", "rtsps", "http", "https", "device")


def _schemes(v):
    bad = [s for s in v if s.lower() not in SOURCE_SCHEMES]
    return f"unknown scheme(s) {', '.join(bad)}; choose from {', '.join(SOURCE_SCHEMES)}" \
        if bad else None


def _hosts(v):
    import ipaddress
    import re
    name = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")
    bad = []
    for h in v:
        try:
            ipaddress.ip_network(h, strict=False)
        except ValueError:
            if not name.match(h):
                bad.append(h)
    return f"not a host name, address or network: {', '.join(bad)}" if bad else None


def _ratio(v):
    return None if 0 < v <= 2 else "must be above 0 and at most 2 (200% of capacity)"


SETTINGS = [
    Setting("CROWD_NOTICE_RATIO", float, 0.7, "Occupancy/capacity at which a notice opens", _ratio),
    Setting("CROWD_WARNING_RATIO", float, 0.8,
            "Occupancy/capacity for a warning (LB/T 034: announce, report, stop selling)", _ratio),
    Setting("CROWD_CRITICAL_RATIO", float, 1.0, "Occupancy/capacity for a critical alert", _ratio),
    Setting("CROWD_HYSTERESIS", float, 0.05,
            "A level clears only below its mark minus this fraction of capacity", fraction),
    Setting("CROWD_DEBOUNCE_SECONDS", float, 10.0,
            "A level change must hold this long before it takes effect", lambda v: None if v >= 0
            else "must be 0 or more"),
    Setting("CROWD_STALE_SECONDS", float, 10.0,
            "No observation from a camera for this long raises 'camera offline'", positive),
    Setting("CROWD_PAUSE_SALES", bool, True,
            "Pause a site's ticket sales at warning and resume when it clears"),
    Setting("CROWD_PAUSE_SALES_SITES", list, [],
            "Sites whose sales the monitor may pause; empty means every site"),
    Setting("CROWD_RAW_RETENTION_MINUTES", int, 120,
            "Raw observations kept this long; per-minute rollups keep the history", positive),
    Setting("CROWD_ROLLUP_RETENTION_DAYS", int, 14, "Per-minute rollups kept this long", positive),
    Setting("CROWD_HEAT_HALF_LIFE_MINUTES", float, 30.0,
            "Heatmap cells fade by half over this many minutes", positive),
    Setting("CROWD_PREDICTED_PAUSE", bool, False,
            "Pause a site's ticket sales when a crossing of the warning level is predicted "
            "(off: the predicted alert only warns staff)"),
    Setting("CROWD_FORECAST_EVERY_SECONDS", int, 60,
            "How often a site's 3-hour occupancy forecast is recomputed", positive),
    Setting("CROWD_FORECAST_LEARN_DAYS", int, 7,
            "Past days the forecast learns dwell times and arrivals from", positive),
    Setting("CROWD_SSE_MAX_SECONDS", int, 300,
            "A dashboard event stream ends after this long (the browser reconnects)", positive),
    Setting("CROWD_SSE_INTERVAL", float, 1.0, "How often the event stream checks for changes",
            positive),
    Setting("CROWD_LIVE_DIR", str, "", "Folder of the live frames shared by the site's "
            "processes; empty means a folder in /dev/shm (memory)"),
    Setting("CROWD_SOURCE_SCHEMES", list, ["rtsp", "rtsps", "https"],
            "In production, the URL schemes camera sources may use (rtsp, rtsps, http, https; "
            "'device' allows local device numbers); files never", _schemes),
    Setting("CROWD_SOURCE_HOSTS", list, [],
            "In production, the hosts camera sources may point at: names, *.domain, "
            "addresses or CIDR networks (empty: none). Loopback and link-local addresses "
            "only when listed as such", _hosts),
    Setting("CROWD_FRAME_MAX_BYTES", int, 600_000, "Largest annotated JPEG a worker may post",
            positive),
    Setting("CROWD_DETECTOR_PRECISION", str, "int8",
            "Worker's person model on OpenVINO: int8 (NNCF-quantised; kept because its counting "
            "error stays within 0.1 of fp32, see bench/crowd_fleet_bench.py) or fp32",
            choices=("int8", "fp32")),
]
