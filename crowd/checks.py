"""Validation of camera records, counting regions and worker observations.

Every check names the field and answers with a stable code, so a bad polygon or a
malformed ingest post is a clear 400, never a crash or a silent zero. Unknown keys are
rejected (a typo must not be ignored).
"""
from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from core.errors import ValidationError
from core.text import _l

from .count import polygon_area

CAMERA_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
REGION_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$")
URL_RE = re.compile(r"^(rtsps?|https?)://[^\s]+$")
MAX_REGIONS = 16
MAX_POINTS = 32
MAX_COUNT = 100_000
HEAT_COLS, HEAT_ROWS = 32, 24


def _int(value, field: str, lo: int, hi: int) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError("invalid_number", _l("%(field)s must be a whole number from %(lo)s "
                                                   "to %(hi)s.", field=field, lo=lo, hi=hi),
                              details={"field": field})
    return value


def _float(value, field: str, lo: float, hi: float) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not lo <= value <= hi:
        raise ValidationError("invalid_number", _l("%(field)s must be a number from %(lo)s to "
                                                   "%(hi)s.", field=field, lo=lo, hi=hi),
                              details={"field": field})
    return float(value)


def _bool(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("1", "true", "on", "yes", "0", "false",
                                                    "off", "no", ""):
        return value.lower() in ("1", "true", "on", "yes")
    raise ValidationError("invalid_flag", _l("%(field)s must be true or false.", field=field),
                          details={"field": field})


def _reject_unknown(data: dict, allowed: set, where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise ValidationError("unknown_field", _l("Unknown field(s) in %(where)s: %(extra)s.",
                                                  where=where, extra=', '.join(extra)),
                              details={"field": extra[0]})


# --- camera sources ------------------------------------------------------------------

# Query parameters cameras commonly take that are not secrets; every other value is masked
# when a source is shown (deny by default: vendors name their secrets every which way).
PLAIN_QUERY_KEYS = frozenset({
    "channel", "ch", "subtype", "stream", "streamtype", "profile", "resolution", "fps",
    "camera", "cam", "codec", "videocodec", "quality", "width", "height", "transport",
    "rtsp_transport", "unicast", "proto", "tcp"})
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$")


def mask_source(source: str) -> str:
    """A camera source fit to show on a page, in an API answer or in a log: the user and
    password of a URL and every query value that is not plainly harmless become ***."""
    if not isinstance(source, str) or "://" not in source:
        return source
    scheme, rest = source.split("://", 1)
    try:
        parts = urlsplit(source)
    except ValueError:
        return f"{scheme}://***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(_mask_param(p) for p in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, "***" if parts.fragment else ""))


def _mask_param(param: str) -> str:
    key, eq, value = param.partition("=")
    if key.lower() in PLAIN_QUERY_KEYS:
        return param
    if not eq:
        return "***" if key else ""   # a bare token, perhaps
    return f"{key}=***" if value else param


def mask_urls_in(text: str) -> str:
    """Text (an error message, a log line) with every URL in it masked as mask_source does."""
    return _URL_IN_TEXT.sub(lambda m: mask_source(m.group(0)), text or "")


@dataclass(frozen=True)
class SourcePolicy:
    """Which camera sources may be used. In production (``restricted``) only URLs whose
    scheme is in ``schemes`` and whose host is in ``hosts`` (names, addresses or CIDR
    networks; ``*.example.org`` for a domain's hosts); never a file, and a loopback or
    link-local address only when an entry of its own kind lists it. Device indices need
    the scheme ``device``. Unrestricted (development): files, devices, any URL."""
    restricted: bool = False
    schemes: tuple = ("rtsp", "rtsps", "https")
    hosts: tuple = ()

    @classmethod
    def from_config(cls, cfg) -> "SourcePolicy":
        return cls(cfg["ENV"] == "production",
                   tuple(s.lower() for s in cfg["CROWD_SOURCE_SCHEMES"]),
                   tuple(h.lower() for h in cfg["CROWD_SOURCE_HOSTS"]))

    def host_allowed(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return any(host == h or (h.startswith("*.") and host.endswith(h[1:]))
                       for h in self.hosts)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for entry in self.hosts:
            try:
                net = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if ip.version != net.version or ip not in net:
                continue
            # 0.0.0.0/0 or 10.0.0.0/8 do not open loopback, link-local and the like: only
            # an entry inside such a range (127.0.0.1, 169.254.10.0/24) does.
            special = next((r for r in _SPECIAL if r.version == ip.version and ip in r), None)
            if special is None or net.subnet_of(special):
                return True
        return False


# Addresses a camera URL reaches only when an entry of CROWD_SOURCE_HOSTS lies inside them.
_SPECIAL = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4",
    "::1/128", "fe80::/10", "::/128", "ff00::/8"))


def _source_refused(message):
    return ValidationError("source_not_allowed", message, details={"field": "source"})


def _check_restricted(source: str, policy: SourcePolicy) -> None:
    if source.isdigit():
        if "device" not in policy.schemes:
            raise _source_refused(_l("Local camera devices are not allowed here."))
        return
    if "://" not in source:
        raise _source_refused(_l("In production a camera source is a URL, never a file."))
    try:
        parts = urlsplit(source)
        port = parts.port
    except ValueError:
        raise _source_refused(_l("The camera URL cannot be read.")) from None
    scheme = parts.scheme.lower()
    if scheme == "file" or scheme not in policy.schemes:
        schemes = ", ".join(s + "://" for s in policy.schemes)
        raise _source_refused(_l("Camera URLs here use %(schemes)s only.", schemes=schemes))
    host = (parts.hostname or "").rstrip(".")
    if "\\" in source or parts.netloc.count("@") > 1 or not host or port == 0 \
            or not (_HOST_NAME.match(host) or _is_ip(host)):
        raise _source_refused(_l("The camera URL's host cannot be read."))
    if not policy.host_allowed(host):
        raise _source_refused(_l("The host %(host)s is not on this site's list of camera hosts "
                                 "(CROWD_SOURCE_HOSTS).", host=host))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_source(source, policy: SourcePolicy = SourcePolicy()) -> str:
    """An RTSP/HTTP URL, a video file path or a device index (read by OpenCV), allowed by
    ``policy`` (in production: configured schemes and hosts only)."""
    if not isinstance(source, str) or not source.strip() or len(source) > 500 \
            or any(ord(c) < 32 or ord(c) == 127 for c in source):
        raise ValidationError("invalid_source", _l("Give the camera source: an rtsp:// or "
                                                   "http(s):// URL, a video file path or a "
                                                   "device number."), details={"field": "source"})
    source = source.strip()
    if "://" in source and not URL_RE.match(source):
        raise ValidationError("invalid_source", _l("Only rtsp://, rtsps://, http:// and https:// "
                                                   "URLs are supported."),
                              details={"field": "source"})
    if source.isdigit() and int(source) > 63:
        raise ValidationError("invalid_source", _l("A device index is 0-63."),
                              details={"field": "source"})
    if policy.restricted:
        _check_restricted(source, policy)
    return source


CAMERA_KEYS = {"id", "name", "site_id", "zone_id", "source", "width", "height", "tile_rows",
               "tile_cols", "tile_overlap", "full_frame", "inertia", "enabled", "detect_every",
               "wide_rows"}


def check_camera(data: dict, sources: SourcePolicy = SourcePolicy()) -> dict:
    """A camera record's fields, typed and range-checked (site/zone are checked by services;
    the source against ``sources``)."""
    if not isinstance(data, dict):
        raise ValidationError("invalid_json", _l("Send a JSON object."))
    _reject_unknown(data, CAMERA_KEYS | {"regions", "csrf_token"}, "camera")
    cid = data.get("id")
    if not isinstance(cid, str) or not CAMERA_ID_RE.match(cid):
        raise ValidationError("invalid_camera_id", _l("Camera ids are 2-40 lower-case letters, "
                                                      "digits or '-'."), details={"field": "id"})
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        raise ValidationError("invalid_name", _l("Give the camera a name (up to 80 characters)."),
                              details={"field": "name"})
    site_id = data.get("site_id")
    if not isinstance(site_id, str) or not site_id:
        raise ValidationError("unknown_site", _l("Choose the site the camera watches."),
                              details={"field": "site_id"})
    zone_id = data.get("zone_id") or None
    if zone_id is not None and not isinstance(zone_id, str):
        raise ValidationError("unknown_zone", _l("zone_id must be a zone id."),
                              details={"field": "zone_id"})
    tile_rows = _int(data.get("tile_rows", 2), "tile_rows", 1, 6)
    return {
        "id": cid, "name": name.strip(), "site_id": site_id, "zone_id": zone_id,
        "source": check_source(data.get("source"), sources),
        "width": _int(data.get("width"), "width", 16, 8192),
        "height": _int(data.get("height"), "height", 16, 8192),
        "tile_rows": tile_rows,
        # Bottom rows that are one whole-width tile each (near people need no zoom).
        "wide_rows": _int(data.get("wide_rows", 0) or 0, "wide_rows", 0, tile_rows),
        "tile_cols": _int(data.get("tile_cols", 2), "tile_cols", 1, 6),
        "tile_overlap": _float(data.get("tile_overlap", 0.2), "tile_overlap", 0.0, 0.45),
        "full_frame": _bool(data.get("full_frame", False), "full_frame"),
        "inertia": _int(data.get("inertia", 3), "inertia", 1, 50),
        "enabled": _bool(data.get("enabled", True), "enabled"),
        "detect_every": _int(data.get("detect_every", 1), "detect_every", 1, 10),
    }


def _points(raw, field: str, width: int, height: int) -> list[list[float]]:
    if not isinstance(raw, list) or len(raw) > MAX_POINTS:
        raise ValidationError("invalid_points", _l("%(field)s: points are a list of [x, y] pairs "
                                                   "(at most %(max_points)s).", field=field,
                                                   max_points=MAX_POINTS),
                              details={"field": field})
    pts = []
    for p in raw:
        if not (isinstance(p, (list, tuple)) and len(p) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in p)):
            raise ValidationError("invalid_points", _l("%(field)s: every point is [x, y] in "
                                                       "pixels.", field=field),
                                  details={"field": field})
        x, y = float(p[0]), float(p[1])
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValidationError("point_outside_frame", _l("%(field)s: point (%(x)g, %(y)g) is "
                                                            "outside the %(width)sx%(height)s "
                                                            "frame.", field=field, x=x, y=y,
                                                            width=width, height=height),
                                  details={"field": field})
        pts.append([x, y])
    return pts


def check_regions(raw, width: int, height: int) -> list[dict]:
    """Counting areas (polygons with a capacity) and lines, inside the frame."""
    if not isinstance(raw, list) or len(raw) > MAX_REGIONS:
        raise ValidationError("invalid_regions", _l("regions must be a list (at most "
                                                    "%(max_regions)s).", max_regions=MAX_REGIONS),
                              details={"field": "regions"})
    out, names = [], set()
    for i, r in enumerate(raw):
        where = f"regions[{i}]"
        if not isinstance(r, dict):
            raise ValidationError("invalid_regions", _l("%(where)s must be an object.",
                                                        where=where), details={"field": where})
        _reject_unknown(r, {"kind", "name", "points", "capacity"}, where)
        kind = r.get("kind")
        if kind not in ("area", "line"):
            raise ValidationError("invalid_region_kind", _l("%(where)s.kind is 'area' or 'line'.",
                                                            where=where),
                                  details={"field": f"{where}.kind"})
        name = r.get("name")
        if not isinstance(name, str) or not REGION_NAME_RE.match(name):
            raise ValidationError("invalid_region_name", _l("%(where)s.name: 1-40 letters, "
                                                            "digits, space, '_', '.' or '-'.",
                                                            where=where),
                                  details={"field": f"{where}.name"})
        if name in names:
            raise ValidationError("duplicate_region", _l("Two regions are named '%(name)s'.",
                                                         name=name),
                                  details={"field": f"{where}.name"})
        names.add(name)
        pts = _points(r.get("points"), f"{where}.points", width, height)
        capacity = None
        if kind == "area":
            if len(pts) < 3:
                raise ValidationError("too_few_points", _l("%(where)s: an area needs at least 3 "
                                                           "points.", where=where),
                                      details={"field": f"{where}.points"})
            if polygon_area(pts) < 1.0:
                raise ValidationError("zero_area",
                                      _l("%(where)s: the area's polygon has no area.",
                                         where=where), details={"field": f"{where}.points"})
            cap = r.get("capacity")
            if isinstance(cap, str) and cap.strip().isdigit():
                cap = int(cap)
            if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0 or cap > MAX_COUNT:
                raise ValidationError("invalid_capacity", _l("%(where)s: capacity must be a "
                                                             "whole number above 0.", where=where),
                                      details={"field": f"{where}.capacity"})
            capacity = cap
        else:
            if len(pts) != 2:
                raise ValidationError("too_few_points", _l("%(where)s: a line has exactly 2 "
                                                           "points.", where=where),
                                      details={"field": f"{where}.points"})
            if math.dist(pts[0], pts[1]) < 2.0:
                raise ValidationError("zero_length_line", _l("%(where)s: the line's ends are the "
                                                             "same point.", where=where),
                                      details={"field": f"{where}.points"})
            if r.get("capacity") not in (None, ""):
                raise ValidationError("invalid_capacity", _l("%(where)s: lines have no capacity.",
                                                             where=where),
                                      details={"field": f"{where}.capacity"})
        out.append({"kind": kind, "name": name, "points": pts, "capacity": capacity})
    return out


@dataclass(frozen=True)
class Observation:
    camera_id: str
    status: str
    people: int | None
    areas: dict
    lines: dict
    dropped: int
    fps: float | None
    error: str
    heat: list


OBS_KEYS = {"camera_id", "status", "people", "areas", "lines", "dropped_frames", "fps",
            "error", "heat", "observed_at"}


def check_observation(data, area_names: set, line_names: set) -> Observation:
    """A worker's report for one camera; offline reports carry no counts."""
    if not isinstance(data, dict):
        raise ValidationError("invalid_json", _l("Send a JSON object."))
    _reject_unknown(data, OBS_KEYS, "observation")
    status = data.get("status", "online")
    if status not in ("online", "offline"):
        raise ValidationError("invalid_status", _l("status is 'online' or 'offline'."),
                              details={"field": "status"})
    error = data.get("error") or ""
    if not isinstance(error, str):
        raise ValidationError("invalid_error", _l("error must be text."),
                              details={"field": "error"})
    dropped = _int(data.get("dropped_frames", 0), "dropped_frames", 0, 10**9)
    fps = data.get("fps")
    fps = None if fps is None else _float(fps, "fps", 0.0, 1000.0)
    if status == "offline":
        if data.get("people") is not None or data.get("areas") or data.get("heat"):
            raise ValidationError("counts_while_offline", _l("An offline report carries no "
                                                             "counts: an unseen scene is "
                                                             "unknown, not empty."),
                                  details={"field": "people"})
        lines = _lines(data.get("lines") or {}, line_names)
        return Observation(data["camera_id"], status, None, {}, lines, dropped, fps,
                           mask_urls_in(error)[:300], [])
    if "people" not in data:
        raise ValidationError("missing_people", _l("An online report needs 'people' (people in "
                                                   "view)."), details={"field": "people"})
    people = _int(data.get("people"), "people", 0, MAX_COUNT)
    areas_raw = data.get("areas") or {}
    if not isinstance(areas_raw, dict):
        raise ValidationError("invalid_areas", _l("areas maps area names to people counts."),
                              details={"field": "areas"})
    unknown = sorted(set(areas_raw) - area_names)
    if unknown:
        raise ValidationError("unknown_area", _l("This camera has no area named '%(unknown)s'.",
                                                 unknown=unknown[0]), details={"field": "areas"})
    missing = sorted(area_names - set(areas_raw))
    if missing:
        raise ValidationError("missing_area", _l("The report lacks the count of area "
                                                 "'%(missing)s'.", missing=missing[0]),
                              details={"field": "areas"})
    areas = {k: _int(v, f"areas.{k}", 0, MAX_COUNT) for k, v in areas_raw.items()}
    heat = data.get("heat") or []
    if not isinstance(heat, list) or len(heat) > HEAT_COLS * HEAT_ROWS:
        raise ValidationError("invalid_heat", _l("heat is a list of [col, row, count]."),
                              details={"field": "heat"})
    cells = []
    for h in heat:
        if not (isinstance(h, list) and len(h) == 3):
            raise ValidationError("invalid_heat", _l("heat is a list of [col, row, count]."),
                                  details={"field": "heat"})
        cells.append((_int(h[0], "heat col", 0, HEAT_COLS - 1),
                      _int(h[1], "heat row", 0, HEAT_ROWS - 1),
                      _int(h[2], "heat count", 0, MAX_COUNT)))
    return Observation(data["camera_id"], status, people, areas,
                       _lines(data.get("lines") or {}, line_names), dropped, fps,
                       mask_urls_in(error)[:300], cells)


def _lines(raw, line_names: set) -> dict:
    if not isinstance(raw, dict):
        raise ValidationError("invalid_lines", _l('lines maps line names to {"in": n, "out": n}.'),
                              details={"field": "lines"})
    out = {}
    for name, v in raw.items():
        if name not in line_names:
            raise ValidationError("unknown_line", _l("This camera has no line named '%(name)s'.",
                                                     name=name), details={"field": "lines"})
        if not isinstance(v, dict) or set(v) - {"in", "out"}:
            raise ValidationError("invalid_lines", _l('lines.%(name)s is {"in": n, "out": n}.',
                                                      name=name), details={"field": "lines"})
        out[name] = {"in": _int(v.get("in", 0), f"lines.{name}.in", 0, MAX_COUNT),
                     "out": _int(v.get("out", 0), f"lines.{name}.out", 0, MAX_COUNT)}
    return out
