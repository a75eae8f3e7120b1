"""Contracts of the catalog's JSON answers (GET /api/sites, /api/sites/<id>)."""

from typing import Literal

from pydantic import ConfigDict, Field

from core.contracts import Reply

Localized = dict[str, str]  # {"zh": ..., "en": ...}
CapacitySource = Literal["override", "published", "computed"]


class HoursToday(Reply):
    open: str = Field(examples=["08:00"])
    close: str = Field(description='"24:00": midnight at the end of the day')
    last_entry: str | None
    season: Localized


class SiteCapacity(Reply):
    daily: int = Field(description="LB/T 034-2014 daily capacity C2 (or published)")
    instant: int = Field(description="instantaneous capacity C1 (or published)")
    daily_source: CapacitySource
    instant_source: CapacitySource


class ZoneSummary(Reply):
    id: str
    name: Localized
    capacity: int


class SiteOut(Reply):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "kongmiao", "area": "sankong", "name": {"zh": "孔庙", "en": "Temple of Confucius"},
        "lat": 35.5966, "lon": 116.9876, "open_now": True,
        "hours_today": {"open": "08:00", "close": "17:30", "last_entry": "16:50",
                        "season": {"zh": "旺季", "en": "Peak season"}},
        "capacity": {"daily": 14500, "instant": 1900, "daily_source": "published",
                     "instant_source": "published"},
        "zones": [{"id": "kongmiao-dachengdian", "name": {"zh": "大成殿院落",
                                                         "en": "Dacheng Hall court"},
                   "capacity": 600}]}]})
    id: str
    area: str
    name: Localized
    lat: float | None
    lon: float | None
    open_now: bool
    hours_today: HoursToday | None = Field(description="null: closed today")
    capacity: SiteCapacity
    zones: list[ZoneSummary]


class SitesOut(Reply):
    sites: list[SiteOut]
