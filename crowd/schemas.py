"""Contracts of the crowd monitor's JSON API (crowd/views.py): camera records and their
counting regions, workers' observations, and the control room's answers.

Fields are typed and range-checked here, unknown keys refused (a typo must not be
ignored), each with a stable code and the field's name in ``details``. What needs the
camera or its frame (region names, points inside the frame, polygons with an area) is
checked in crowd/checks.py."""
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from catalog import interface as catalog
from core.contracts import Body, Refuse, Reply, flag, number, reply_of, whole
from core.errors import Forbidden, NotFound, ValidationError
from core.text import _l

from .checks import (CAMERA_ID_RE, HEAT_COLS, HEAT_ROWS, MAX_COUNT, MAX_POINTS, MAX_REGIONS,
                     REGION_NAME_RE, check_source)

Localized = dict[str, str]  # {"zh": ..., "en": ...}
Level = Literal["normal", "notice", "warning", "critical", "unknown"]


# --- refusals: as crowd/checks.py answered before the contracts -------------------------

def _field(path: str) -> dict:
    return {"field": path}


def _whole(lo: int, hi: int) -> Any:
    return whole(lo, hi, lambda path: ValidationError(
        "invalid_number", _l("%(path)s must be a whole number from %(lo)s to %(hi)s.",
                             path=path, lo=lo, hi=hi), details=_field(path)))


def _number(lo: float, hi: float) -> Any:
    return number(lo, hi, lambda path: ValidationError(
        "invalid_number", _l("%(path)s must be a number from %(lo)s to %(hi)s.",
                             path=path, lo=lo, hi=hi), details=_field(path)))


def _flag() -> Any:
    return flag(lambda path: ValidationError(
        "invalid_flag", _l("%(path)s must be true or false.", path=path), details=_field(path)))


def _unknown_field(path: str) -> ValidationError:
    where, _, key = path.rpartition(".")
    if where:
        return ValidationError("unknown_field", _l("Unknown field in %(where)s: %(key)s.",
                                                   where=where, key=key), details=_field(key))
    return ValidationError("unknown_field", _l("Unknown field: %(key)s.", key=key),
                           details=_field(key))


def _no_source(path: str = "source") -> ValidationError:
    return ValidationError("invalid_source", _l("Give the camera source: an rtsp:// or "
                                                "http(s):// URL, a video file path or a device "
                                                "number."), details=_field("source"))


def _blank_is_none(value):
    # A form sends "" for an empty capacity box; a line has no capacity.
    return None if isinstance(value, str) and not value.strip() else value


class Strict(Body):
    """A body whose unknown keys are refused."""
    model_config = ConfigDict(extra="forbid")
    unknown_field = staticmethod(_unknown_field)


Point = Annotated[list[Annotated[float, Field(strict=True, allow_inf_nan=False)]],
                  Field(min_length=2, max_length=2, description="[x, y] in pixels")]


class RegionIn(Strict):
    """A counting area (a polygon with a capacity) or a counting line (2 points)."""
    kind: Annotated[Literal["area", "line"], Refuse(lambda path: ValidationError(
        "invalid_region_kind", _l("%(path)s is 'area' or 'line'.", path=path),
        details=_field(path)))]
    name: Annotated[str, Field(pattern=REGION_NAME_RE.pattern), Refuse(
        lambda path: ValidationError("invalid_region_name",
                                     _l("%(path)s: 1-40 letters, digits, space, '_', '.' or '-'.",
                                        path=path), details=_field(path)))]
    points: Annotated[list[Point], Field(max_length=MAX_POINTS), Refuse(
        lambda path: ValidationError("invalid_points",
                                     _l("%(path)s: every point is [x, y] in pixels (at most "
                                        "%(max_points)s).", path=path, max_points=MAX_POINTS),
                                     details=_field(path)))]
    capacity: Annotated[Annotated[int, Field(strict=True, ge=1, le=MAX_COUNT)] | None,
                        BeforeValidator(_blank_is_none), Field(description="Areas only"),
                        Refuse(lambda path: ValidationError(
                            "invalid_capacity", _l("%(path)s must be a whole number above 0.",
                                                   path=path), details=_field(path)))] = None


Regions = Annotated[list[RegionIn], Field(max_length=MAX_REGIONS), Refuse(
    lambda path: ValidationError("invalid_regions",
                                 _l("regions must be a list (at most %(max_regions)s).",
                                    max_regions=MAX_REGIONS), details=_field("regions")))]


class CameraIn(Strict):
    """A camera: where it looks (site, zone), its source and frame, how it counts."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "kongmiao-gate-1", "name": "棂星门", "site_id": "kongmiao",
        "zone_id": "kongmiao-qianyuan", "source": "rtsp://10.0.0.5/stream1", "width": 1280,
        "height": 720, "regions": [{"kind": "line", "name": "gate", "points": [[0, 400],
                                                                              [1280, 400]]}]}]})
    id: Annotated[str, Field(pattern=CAMERA_ID_RE.pattern), Refuse(
        lambda path: ValidationError("invalid_camera_id", _l("Camera ids are 2-40 lower-case "
                                                             "letters, digits or '-'."),
                                     details=_field("id")))]
    name: Annotated[str, Field(max_length=80, pattern=r"\S"), Refuse(
        lambda path: ValidationError("invalid_name", _l("Give the camera a name (up to 80 "
                                                        "characters)."), details=_field("name")))]
    site_id: Annotated[str, Field(min_length=1, max_length=64), Refuse(
        lambda path: ValidationError("unknown_site", _l("Choose the site the camera watches."),
                                     details=_field("site_id")))]
    zone_id: Annotated[Annotated[str, Field(max_length=64)] | None,
                       BeforeValidator(_blank_is_none),
                       Refuse(lambda path: ValidationError(
                           "unknown_zone", _l("zone_id must be a zone id."),
                           details=_field("zone_id")))] = None
    source: Annotated[str, Field(description="rtsp(s)://, http(s):// URL, a video file path "
                                 "or a device number 0-63 (answered with any password "
                                 "masked)"),
                      BeforeValidator(check_source), Refuse(_no_source)]
    width: _whole(16, 8192)
    height: _whole(16, 8192)
    tile_rows: _whole(1, 6) = 2
    tile_cols: _whole(1, 6) = 2
    tile_overlap: _number(0.0, 0.45) = 0.2
    full_frame: _flag() = False
    inertia: _whole(1, 50) = 3
    enabled: _flag() = True
    detect_every: _whole(1, 10) = 1
    # Bottom rows that are one whole-width tile each (near people need no zoom); at most
    # tile_rows (checked by cameras.save_camera). A form's empty field is 0.
    wide_rows: Annotated[_whole(0, 6), BeforeValidator(lambda v: 0 if v in (None, "") else v)] = 0
    regions: Regions = None  # absent: the regions stay as they are; null is refused
    csrf_token: Any = Field(None, description="Ignored (forms send it; JSON clients use the "
                            "X-CSRF-Token header)")


class RegionsIn(Body):
    regions: Regions


class LineCount(Strict):
    unknown_field = staticmethod(lambda path: ValidationError(
        "invalid_lines", _l('%(line)s is {"in": n, "out": n}.', line=path.rpartition(".")[0]),
        details=_field("lines")))
    in_: Annotated[_whole(0, MAX_COUNT), Field(alias="in")] = 0
    out: _whole(0, MAX_COUNT) = 0


class ObservationIn(Strict):
    """A worker's report for one camera. Offline reports carry no counts: an unseen scene
    is unknown, not empty."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "camera_id": "kongmiao-gate-1", "status": "online", "people": 14,
        "areas": {"forecourt": 9}, "lines": {"gate": {"in": 3, "out": 1}},
        "heat": [[12, 20, 3]], "fps": 7.5, "dropped_frames": 0}]})
    camera_id: Annotated[str, Field(max_length=64), Refuse(lambda path: Forbidden(
        # As crowd.workers answers a camera not the worker's: nothing learnt either way.
        "camera_not_allowed", _l("This worker device may not report for that camera; an "
                                 "admin assigns cameras to workers.")))]
    status: Annotated[Literal["online", "offline"], Refuse(lambda path: ValidationError(
        "invalid_status", _l("status is 'online' or 'offline'."),
        details=_field("status")))] = "online"
    error: Annotated[str | None, Field(description="What the worker saw go wrong (kept to "
                                       "300 characters)"),
                     Refuse(lambda path: ValidationError("invalid_error", _l("error must be text."),
                                                         details=_field("error")))] = None
    dropped_frames: _whole(0, 10 ** 9) = 0
    fps: _number(0.0, 1000.0) | None = None
    people: Annotated[_whole(0, MAX_COUNT) | None, Field(
        description="People in view; required online")] = None
    areas: Annotated[dict[str, _whole(0, MAX_COUNT)] | None, Field(
        description="People in each of the camera's areas, every area named"), Refuse(
        lambda path: ValidationError("invalid_areas",
                                     _l("areas maps area names to people counts."),
                                     details=_field("areas")))] = None
    lines: Annotated[dict[str, LineCount] | None, Field(
        description="Crossings of the camera's lines since the last report"), Refuse(
        lambda path: ValidationError("invalid_lines",
                                     _l('lines maps line names to {"in": n, "out": n}.'),
                                     details=_field("lines")))] = None
    heat: Annotated[list[tuple[_whole(0, HEAT_COLS - 1), _whole(0, HEAT_ROWS - 1),
                               _whole(0, MAX_COUNT)]] | None,
                    Field(max_length=HEAT_COLS * HEAT_ROWS, description="[col, row, count] "
                          f"on a {HEAT_COLS}x{HEAT_ROWS} grid"),
                    Refuse(lambda path: ValidationError(
                        "invalid_heat", _l("heat is a list of [col, row, count]."),
                        details=_field("heat")))] = None
    observed_at: Any = Field(None, description="When the worker saw it (informative; "
                             "the server stamps its own time)")


class AlertsQuery(Body):
    active: Annotated[str | None, Field(description="1: only alerts not yet resolved"),
                      Refuse(lambda path: ValidationError("invalid_flag", _l("active is 1 or 0."),
                                                          details=_field("active")))] = None


class TrendQuery(Body):
    site: catalog.SiteId | None = None
    camera: Annotated[str | None, Field(max_length=64), Refuse(lambda path: NotFound(
        "unknown_camera", _l("There is no such camera.")))] = None
    window: Annotated[Literal["hour", "day"], Refuse(lambda path: ValidationError(
        "invalid_window", _l("window is 'hour' or 'day'.")))] = "hour"


class ForecastQuery(Body):
    site: Annotated[str, Field(pattern=r"\S", description="A site id, e.g. kongmiao"),
                    Refuse(lambda path: ValidationError(
                        "missing_site", _l("Name a site: ?site=kongmiao.")))]


class FrameUpload(Body):
    frame: bytes = Field(description="One annotated JPEG frame",
                         json_schema_extra={"format": "binary"})


# --- answers -----------------------------------------------------------------------------

class RegionOut(Reply):
    kind: Literal["area", "line"]
    name: str
    points: list[list[float]]
    capacity: int | None


CameraOut = reply_of(CameraIn, "CameraOut", drop=("csrf_token",),
                     regions=(list[RegionOut], ...))


class CamerasOut(Reply):
    cameras: list[CameraOut]


class IngestOut(Reply):
    camera_id: str
    status: Literal["online", "offline"]
    counted: int | None
    at: str


class FrameOut(Reply):
    camera_id: str
    seq: int


class OccupancyOut(Reply):
    site_id: str
    level: Level
    ratio: float | None


class AlertOut(Reply):
    id: int
    kind: Literal["capacity", "camera_offline", "predicted"]
    scope: Literal["site", "zone", "area", "camera"]
    target_id: str
    site_id: str
    level: str
    state: Literal["open", "acknowledged", "resolved"]
    people: int | None
    capacity: int | None
    opened_at: str
    updated_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    detail: str
    expected_at: str | None = Field(description="Predicted alerts: when the forecast "
                                    "reaches the level")
    target_name: Localized = Field(description="The place as people call it: the catalog's "
                                   "site or zone name, or the camera's (and area's)")


class AlertsOut(Reply):
    alerts: list[AlertOut]


class TrendPoint(Reply):
    t: int = Field(description="Start of the bucket, Unix seconds")
    ins: int
    outs: int
    people: float | None


class TrendOut(Reply):
    window: Literal["hour", "day"]
    bucket_seconds: int
    start: int
    end: int
    points: list[TrendPoint]


class HeatmapOut(Reply):
    camera_id: str
    cols: int
    rows: int
    cells: list[float] = Field(description="Row by row; each cell halves every half-life")
    max: float
    half_life_minutes: float
    updated_at: str | None


class ZoneState(Reply):
    zone_id: str
    name: Localized
    people: int | None
    capacity: int
    ratio: float | None
    level: Level
    stale: bool


class SiteState(Reply):
    site_id: str
    name: Localized
    people: int | None
    capacity: int
    ratio: float | None
    level: Level
    source: str
    camera_people: int | None
    gate_people: int | None
    stale_cameras: int
    sales_paused: bool
    zones: list[ZoneState]


class AreaState(Reply):
    name: str
    people: int | None
    capacity: int | None
    level: Level


class CameraState(Reply):
    camera_id: str
    name: str
    site_id: str
    zone_id: str | None
    status: Literal["online", "offline", "stale"] = Field(
        description="stale: no report for CROWD_STALE_SECONDS (its counts are unknown)")
    people: int | None = Field(description="People in view (null unless online)")
    counted: int | None = Field(description="People counted for occupancy: the areas' sum, "
                                "or everyone in view")
    last_at: str | None = Field(description="The worker's last report")
    error: str = Field(description="What went wrong, if anything")
    fps: float | None = Field(description="Frames read a second")
    dropped: int = Field(description="Frames dropped since the worker started")
    ins: int = Field(description="Line crossings in, in total")
    outs: int = Field(description="Line crossings out, in total")
    areas: list[AreaState]


class Thresholds(Reply):
    notice: float
    warning: float
    critical: float


class Crossing(Reply):
    at: str
    minutes_ahead: float
    ratio: float
    people: int
    predicted: bool


class ForecastOut(Reply):
    """A site's occupancy forecast for the next 3 hours (null parts: closed, or too little
    history) and its visitors for the next 7 days (docs/crowd.md, "Forecasts")."""
    site_id: str
    at: str
    source: str
    capacity: int | None
    warning_ratio: float
    occupancy: dict[str, Any] | None = Field(description="The forecast series: times, "
                                             "people and band, with today's history")
    crossing: Crossing | None = Field(description="When the warning level is predicted to "
                                      "be crossed, if it is")
    peak: float | None
    basis: Any = Field(description="What the forecast was fitted on")
    dwell_median_minutes: float | None = Field(None, description="How long visitors stay "
                                               "(the median of the dwell-time model)")
    daily: dict[str, Any] | None = Field(description="Visitors for the next 7 days")


class DashboardOut(Reply):
    at: str
    sites: list[SiteState]
    cameras: list[CameraState]
    alerts: list[AlertOut]
    thresholds: Thresholds
