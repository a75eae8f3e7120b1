"""Contracts of the catalog's JSON API: sites, a day's hours, and the exceptions to the
opening hours staff enter (catalog/views.py)."""
from typing import Annotated, Any, Literal, Optional

from pydantic import ConfigDict, Field

from core.contracts import Body, Refuse, Reply, day
from core.errors import NotFound, ValidationError
from core.text import _l

Localized = dict[str, str]  # {"zh": ..., "en": ...}
# A site named in a request (every domain's contracts take it from the seam): no site has
# a longer id, so a longer one is 404 unknown_site, as the services answer an unknown site.
SiteId = Annotated[str, Field(max_length=64, examples=["kongmiao"]),
                   Refuse(lambda path: NotFound("unknown_site", _l("There is no such site.")))]
CapacitySource = str  # "override", "published", "computed", or how it was derived


class HoursToday(Reply):
    open: str = Field(examples=["08:00"])
    close: str = Field(description='"24:00": midnight at the end of the day')
    last_entry: str | None
    season: Localized


class HoursException(Reply):
    id: str = Field(description='"data:<id>" (a holiday rule of the data file) or '
                    '"staff:<n>"')
    site_id: str
    place_id: str | None
    kind: Literal["closed", "hours"]
    reason: Localized
    source: str
    confirmed: bool
    rule: str | None
    start: str | None
    end: str | None
    open: str | None
    close: str | None
    last_entry: str | None
    by: str | None
    at: str | None


class DayHours(Reply):
    """A site's (or one place's) hours on a day, exceptions applied; ``open`` is null on a
    closed day."""
    site_id: str
    place_id: str | None
    date: str
    open: str | None
    close: str | None
    last_entry: str | None
    closed: bool
    season: Localized
    source: str
    exception: HoursException | None
    places: list["DayHours"]


class SiteCapacity(Reply):
    daily: int = Field(description="LB/T 034-2014 daily capacity C2 (or published)")
    instant: int = Field(description="instantaneous capacity C1 (or published)")
    daily_source: CapacitySource
    instant_source: CapacitySource


class ZoneSummary(Reply):
    id: str
    name: Localized
    method: Literal["area", "route"]
    capacity: int
    capacity_source: str


class PlaceSummary(Reply):
    id: str
    kind: Literal["entrance", "cable_car"]
    name: Localized
    capacity: Any = Field(description="A cable car's figures (LB/T 034 bottleneck method), "
                          "or null")


class SiteOut(Reply):
    id: str
    area: str
    name: Localized
    lat: float | None
    lon: float | None
    open_now: bool
    hours_today: HoursToday | None = Field(description="null: closed today")
    closed_reason: Localized | None
    hours: DayHours
    capacity: SiteCapacity
    zones: list[ZoneSummary]
    places: list[PlaceSummary]


class SitesOut(Reply):
    sites: list[SiteOut]


# --- exceptions to the opening hours (staff) ---------------------------------------------

_bad_date = Refuse(lambda path: ValidationError("bad_date", _l("Give the date as YYYY-MM-DD.")))


class HoursQuery(Body):
    date: Annotated[Optional[day(_bad_date.error)], Field(description="Default: today")] = None


class ExceptionsQuery(Body):
    site: SiteId | None = None


class ExceptionIn(Body):
    """Close a site or one of its places, or change its hours, for days from today on."""
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"site_id": "kongmiao", "start": "2026-07-20", "end": "2026-07-20", "kind": "closed",
         "reason": "Storm warning (orange)"}]})
    site_id: Annotated[Any, Field(description="The site")] = ""
    place_id: Annotated[Any, Field(description="An entrance or cable car of the site; "
                                   "absent: the whole site")] = None
    start: Annotated[Any, Field(description="First day, YYYY-MM-DD")] = None
    end: Annotated[Any, Field(description="Last day, YYYY-MM-DD (default: start)")] = None
    kind: Annotated[Any, Field(description="closed or hours")] = None
    open: Annotated[Any, Field(description="kind=hours: HH:MM")] = None
    close: Annotated[Any, Field(description="kind=hours: HH:MM")] = None
    last_entry: Annotated[Any, Field(description="kind=hours: HH:MM")] = None
    reason: Annotated[Any, Field(description="Why (shown to visitors and logged)")] = None


class LiftIn(Body):
    reason: Annotated[Any, Field(description="Why the exception is withdrawn")] = None


class ExceptionOut(HoursException):
    lifted_at: str | None = None
    lifted_by: str | None = None
    lift_reason: str | None = None


class ExceptionsOut(Reply):
    exceptions: list[ExceptionOut]


class LiftedOut(Reply):
    lifted: int
