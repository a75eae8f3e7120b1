"""The checks of camera records, counting regions and worker observations beyond their
contracts (crowd/schemas.py): camera sources (their policy in production, and masking
them for display), regions in the camera's frame, the camera's own area and line names
in a report.

Every check names the field and answers with a stable code, so a bad polygon or a
malformed ingest post is a clear 400, never a crash or a silent zero.
"""
from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from core.errors import ValidationError
from core.text import _l

from .count import polygon_area

if TYPE_CHECKING:
    from .schemas import ObservationIn, RegionIn

CAMERA_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
REGION_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$")
URL_RE = re.compile(r"^(rtsps?|https?)://[^\s]+$")
MAX_REGIONS = 16
MAX_POINTS = 32
MAX_COUNT = 100_000
HEAT_COLS, HEAT_ROWS = 32, 24


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


def _points(pts: list[list[float]], field: str, width: int, height: int) -> list[list[float]]:
    for x, y in pts:
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValidationError("point_outside_frame", _l("%(field)s: point (%(x)g, %(y)g) is "
                                                            "outside the %(width)sx%(height)s "
                                                            "frame.", field=field, x=x, y=y,
                                                            width=width, height=height),
                                  details={"field": field})
    return [[float(x), float(y)] for x, y in pts]


def check_regions(regions: list[RegionIn], width: int, height: int) -> list[dict]:
    """Counting areas (polygons with a capacity) and lines, inside the frame; each region's
    fields are checked by its contract first (crowd.cameras)."""
    out, names = [], set()
    for i, r in enumerate(regions):
        where = f"regions[{i}]"
        kind, name = r.kind, r.name
        if name in names:
            raise ValidationError("duplicate_region", _l("Two regions are named '%(name)s'.",
                                                         name=name),
                                  details={"field": f"{where}.name"})
        names.add(name)
        pts = _points(r.points, f"{where}.points", width, height)
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
            if r.capacity is None:
                raise ValidationError("invalid_capacity", _l("%(where)s: capacity must be a "
                                                             "whole number above 0.", where=where),
                                      details={"field": f"{where}.capacity"})
            capacity = r.capacity
        else:
            if len(pts) != 2:
                raise ValidationError("too_few_points", _l("%(where)s: a line has exactly 2 "
                                                           "points.", where=where),
                                      details={"field": f"{where}.points"})
            if math.dist(pts[0], pts[1]) < 2.0:
                raise ValidationError("zero_length_line", _l("%(where)s: the line's ends are the "
                                                             "same point.", where=where),
                                      details={"field": f"{where}.points"})
            if r.capacity is not None:
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


def check_observation(data: ObservationIn, area_names: set, line_names: set) -> Observation:
    """A worker's report for one camera, checked against the camera's areas and lines;
    offline reports carry no counts."""
    error = mask_urls_in(data.error or "")[:300]   # a source URL in it has credentials
    lines = _lines(data.lines or {}, line_names)
    if data.status == "offline":
        if data.people is not None or data.areas or data.heat:
            raise ValidationError("counts_while_offline", _l("An offline report carries no "
                                                             "counts: an unseen scene is "
                                                             "unknown, not empty."),
                                  details={"field": "people"})
        return Observation(data.camera_id, data.status, None, {}, lines, data.dropped_frames,
                           data.fps, error, [])
    if data.people is None:
        raise ValidationError("missing_people", _l("An online report needs 'people' (people in "
                                                   "view)."), details={"field": "people"})
    areas = data.areas or {}
    unknown = sorted(set(areas) - area_names)
    if unknown:
        raise ValidationError("unknown_area", _l("This camera has no area named '%(unknown)s'.",
                                                 unknown=unknown[0]), details={"field": "areas"})
    missing = sorted(area_names - set(areas))
    if missing:
        raise ValidationError("missing_area", _l("The report lacks the count of area "
                                                 "'%(missing)s'.", missing=missing[0]),
                              details={"field": "areas"})
    return Observation(data.camera_id, data.status, data.people, dict(areas), lines,
                       data.dropped_frames, data.fps, error, [tuple(h) for h in data.heat or ()])


def _lines(raw: dict, line_names: set) -> dict:
    out = {}
    for name, v in raw.items():
        if name not in line_names:
            raise ValidationError("unknown_line", _l("This camera has no line named '%(name)s'.",
                                                     name=name), details={"field": "lines"})
        out[name] = {"in": v.in_, "out": v.out}
    return out
