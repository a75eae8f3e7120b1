"""Synthetic visitors for tests, benchmarks and the demo: seeded, pure, fast (numpy).

Two things are generated, both deterministic for ``(seed, site, day)``:

* ``daily_history(site, first, last, seed)``: visitors a day over any span (years), shaped by
  season, weekday, Chinese holidays (``crowd.holiday_calendar``: 国庆, 五一, 春节, 清明, 端午,
  中秋, 元旦 and the make-up working days), weather and a slow trend, capped by the site's
  daily capacity (timed-entry tickets sell out).
* ``simulate_day(site, day, seed)``: one day ticket by ticket: when each ticket was booked and
  for which slot, whether its holder came, when they passed the entry gate and the exit gate
  (dwell), and the people counted by cameras each minute, with noise. ``SimDay.observe(t)``
  gives what the system would know at minute ``t``: the forecast's inputs.

Capacities and opening hours are read from ``data/catalog/sites.json`` by the catalog's own
rules (``catalog.published_or_computed``, ``catalog.file_hours_on``: seasons, entrances and
the file's dated and holiday exceptions), so nobody enters a simulated site when the catalog
has it closed or past its last entry. Everything else in
``PROFILES`` and the tables below is an **assumption** chosen to look like the published
shape of visits (busy autumn and summer holidays, quiet winter, Golden Week sell-outs); none
of it is measured data.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from catalog import interface as catalog

from .holiday_calendar import DayType, day_type

TZ = ZoneInfo("Asia/Shanghai")
SITES_FILE = Path(__file__).resolve().parent.parent / "data" / "catalog" / "sites.json"
SITE_ORDER = ("taishan", "daimiao", "kongmiao", "kongfu", "konglin")
WEATHER = ("clear", "cloudy", "rain", "storm", "snow")

# Per-site assumptions. base: visitors wanting to come on an ordinary weekday with season
# factor 1 (chosen so that Golden Week sells out, as reported for both areas, and peak-season
# weekends approach the instantaneous capacity at 三孔). dwell: lognormal visit length from
# entry gate to exit gate, median minutes and sigma: Mount Tai a round trip of many hours
# (S19: ~5 h up from 红门; the catalog's visit_hours, 11.67 h, is LB/T 034's t fitted to the
# published daily/instantaneous ratio and counts overnight stays, which the gates' check-out
# at closing cuts off), Dai Temple 1.5-3 h (S12: 2-3 h), 三孔 1-3 h (no published figure).
# profile: when visitors want to enter, (hour, spread in hours, weight) bumps, each inside
# the site's regular hours (load_sites checks): Mount Tai's night climbers for the sunrise
# enter through 红门 in the evening, before it closes at 24:00 (it opens at 05:00, S24).
# coverage: the share of people inside that cameras see.
# advance: share of a day's demand booked before the day (more on holidays).
PROFILES = {
    "taishan": dict(base=11000, dwell=(330, 0.35), slot=180, coverage=0.12,
                    profile=((22.0, 1.0, 0.18), (8.0, 1.6, 0.55), (13.5, 1.8, 0.27)),
                    advance=(0.55, 0.85)),
    "daimiao": dict(base=3200, dwell=(120, 0.30), slot=60, coverage=0.35,
                    profile=((9.5, 1.2, 0.6), (14.5, 1.4, 0.4)), advance=(0.45, 0.8)),
    "kongmiao": dict(base=3600, dwell=(105, 0.35), slot=60, coverage=0.45,
                     profile=((9.75, 1.1, 0.65), (14.25, 1.3, 0.35)), advance=(0.6, 0.85)),
    "kongfu": dict(base=3500, dwell=(85, 0.35), slot=60, coverage=0.45,
                   profile=((10.5, 1.2, 0.6), (15.0, 1.2, 0.4)), advance=(0.6, 0.85)),
    "konglin": dict(base=2600, dwell=(90, 0.40), slot=60, coverage=0.30,
                    profile=((11.0, 1.4, 0.55), (15.0, 1.2, 0.45)), advance=(0.6, 0.85)),
}
# Season factor at mid-month, Jan..Dec (spring and autumn outings, school summer holidays
# with study tours to Qufu, quiet winter), interpolated between months.
SEASON = (0.45, 0.55, 0.75, 1.0, 1.1, 0.85, 1.15, 1.2, 0.95, 1.15, 0.65, 0.45)
WEEKDAY = (0.82, 0.76, 0.78, 0.82, 0.95, 1.45, 1.25)          # Mon..Sun
# Multiplier by day of the break (the last value repeats for longer breaks).
HOLIDAY = {
    "national_day": (4.2, 4.6, 4.4, 3.8, 3.2, 2.6, 2.0, 1.6),
    "labour_day": (3.6, 3.8, 3.2, 2.4, 1.8),
    "spring_festival": (0.5, 0.7, 2.4, 2.8, 2.4, 1.9, 1.5, 1.2, 1.1),
    "tomb_sweeping": (1.9, 1.8, 1.4),
    "dragon_boat": (2.1, 2.0, 1.5),
    "mid_autumn": (2.2, 2.0, 1.5),
    "new_year": (1.7, 1.5, 1.2),
}
MAKEUP_WORKDAY = 0.78
TREND_PER_YEAR = 0.05
DAY_NOISE = 0.08
# Weather: share of wet days per month in Tai'an/Qufu (rainy season July-August; an
# assumption with the shape of local climate normals), persistence, and the effect of each
# state on same-day demand and on booked visitors turning up.
WET_DAYS = (0.08, 0.10, 0.13, 0.17, 0.20, 0.27, 0.45, 0.40, 0.25, 0.15, 0.12, 0.08)
PERSIST = 0.5
DEMAND_BY_WEATHER = (1.0, 0.97, 0.6, 0.3, 0.55)
SHOW_BY_WEATHER = (0.95, 0.94, 0.86, 0.72, 0.82)
DWELL_BY_WEATHER = (1.0, 1.0, 0.88, 0.8, 0.9)
DWELL_DAY_SD = 0.08
GROUP_SHARE, GROUP_SIZE = 0.3, 25     # tour groups: share of tickets, mean size
EPOCH = date(2018, 1, 1)      # weather chains start here, so any span sees the same weather


@dataclass(frozen=True)
class Hours:
    open_min: int        # minutes after local midnight
    close_min: int       # 1440 for "24:00"
    last_entry_min: int  # entries stop here (the closing time when none is published)

    @property
    def closed(self) -> bool:
        return self.open_min >= self.close_min


CLOSED = Hours(0, 0, 0)


@dataclass(frozen=True)
class SiteModel:
    site_id: str
    area: str
    index: int
    daily_capacity: int
    instant_capacity: int
    base: float
    dwell_median: float
    dwell_sigma: float
    slot_minutes: int
    coverage: float
    profile: tuple
    advance: tuple
    catalog_site: catalog.Site = field(compare=False, repr=False, default=None)
    # Days asked for, per model (a history of two years asks each day several times).
    _hours: dict = field(compare=False, repr=False, default_factory=dict)

    def hours_on(self, day: date) -> Hours:
        """The day's hours as the catalog gives them (``CLOSED`` on a closed day)."""
        hit = self._hours.get(day)
        if hit is None:
            if len(self._hours) > 4096:
                self._hours.clear()
            h = catalog.file_hours_on(self.catalog_site, day)
            hit = self._hours[day] = CLOSED if h.closed else Hours(
                _minutes(h.open), _minutes(h.close),
                _minutes(h.last_entry or h.close))
        return hit

    def seats_on(self, day: date) -> list[tuple[int, int, int]]:
        """(start, end, seats): ticketing splits the quota evenly, so a short last slot
        (17:00-17:10) has a full hour's quota; few visitors choose it, so the simulator
        seats it in proportion to its length."""
        return [(s, e, int(q * min(1.0, (e - s) / self.slot_minutes)))
                for s, e, q in self.slots_on(day)]

    def slots_on(self, day: date) -> list[tuple[int, int, int]]:
        """(start, end, quota) in minutes of the day; the daily capacity split evenly, as
        ticketing does."""
        h = self.hours_on(day)
        if h.closed:
            return []
        edges = list(range(h.open_min, h.last_entry_min, self.slot_minutes)) + [h.last_entry_min]
        n = len(edges) - 1
        base, extra = divmod(self.daily_capacity, n)
        return [(edges[i], edges[i + 1], base + (1 if i < extra else 0)) for i in range(n)]


def _minutes(hm: str) -> int:
    h, m = map(int, hm.split(":"))
    return h * 60 + m


def _check_profile(site: catalog.Site, profile: tuple) -> None:
    """Every bump of an arrival profile lies inside the site's regular hours: a bump where
    the catalog has the site closed would describe visitors who cannot come."""
    for centre, _spread, _weight in profile:
        for season in site.seasons:
            if not _minutes(season.open) <= centre * 60 < _minutes(season.close):
                raise ValueError(f"{site.id}: arrival profile at {centre} h is outside the "
                                 f"catalog's hours {season.open}-{season.close}")


@lru_cache(maxsize=4)
def load_sites(path: str | None = None) -> dict[str, SiteModel]:
    """Site models from the catalog file: capacities (published, else LB/T 034's C1 over the
    zones and C2 = C1 x Int(T/t)) and the catalog site for its hours, plus the assumptions
    in PROFILES."""
    data = json.loads(Path(path or SITES_FILE).read_text(encoding="utf-8"))
    out = {}
    for s in data["sites"]:
        prof = PROFILES[s["id"]]
        daily, instant = catalog.published_or_computed(s)
        site = catalog.site_from_data(s)
        _check_profile(site, prof["profile"])
        out[s["id"]] = SiteModel(
            s["id"], s["area"], SITE_ORDER.index(s["id"]), int(daily), int(instant),
            prof["base"], prof["dwell"][0], prof["dwell"][1], prof["slot"], prof["coverage"],
            prof["profile"], prof["advance"], site)
    return out


def site_model(site_id: str) -> SiteModel:
    return load_sites()[site_id]


# --- the day's demand ---------------------------------------------------------------------

def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, *keys])


@lru_cache(maxsize=16)
def _weather_chain(seed: int, area: str, last: date) -> np.ndarray:
    """A Markov chain of weather states from EPOCH to ``last`` (one per day)."""
    n = (last - EPOCH).days + 1
    rng = _rng(seed, 7, sum(map(ord, area)))
    u, v, w = rng.random(n), rng.random(n), rng.random(n)
    out = np.empty(n, dtype=np.int8)
    prev = 0
    for i in range(n):
        d = EPOCH + timedelta(days=i)
        if i and u[i] < PERSIST:
            state = prev
        elif v[i] < WET_DAYS[d.month - 1]:
            state = 4 if d.month in (12, 1, 2) else (3 if w[i] < (0.25 if d.month in (6, 7, 8)
                                                                  else 0.1) else 2)
        else:
            state = 0 if w[i] < 0.6 else 1
        if state == 4 and d.month not in (12, 1, 2):
            state = 2
        out[i] = prev = state
    return out


def weather_on(seed: int, area: str, day: date) -> str:
    if day < EPOCH:
        raise ValueError(f"the simulator starts on {EPOCH}")
    year_end = date(day.year, 12, 31)
    return WEATHER[_weather_chain(seed, area, year_end)[(day - EPOCH).days]]


def season_factor(day: date) -> float:
    # Piecewise-linear between mid-months, wrapping at the year's ends.
    pos = day.timetuple().tm_yday / (366 if day.year % 4 == 0 else 365) * 12 - 0.5
    i = math.floor(pos)
    frac = pos - i
    return SEASON[i % 12] * (1 - frac) + SEASON[(i + 1) % 12] * frac


def day_factor(dt: DayType) -> float:
    """Weekday, holiday break or make-up working day."""
    if dt.holiday is not None:
        table = HOLIDAY[dt.holiday]
        return table[min(dt.day_of_break, len(table)) - 1]
    if dt.makeup_workday:
        return MAKEUP_WORKDAY
    return WEEKDAY[dt.day.weekday()]


@dataclass(frozen=True)
class DayDemand:
    day: date
    weather: str
    holiday: str | None
    nominal: float        # demand before weather
    advance: int          # tickets booked before the day
    same_day: int         # tickets booked on the day
    sold: int
    show_rate: float
    visitors: int


def day_demand(site: SiteModel, day: date, seed: int) -> DayDemand:
    """The day's totals (what daily_history lists and simulate_day spreads over the day)."""
    dt = day_type(day)
    rng = _rng(seed, 1, site.index, day.toordinal())
    weather = weather_on(seed, site.area, day)
    w = WEATHER.index(weather)
    years = (day - date(2024, 1, 1)).days / 365.25
    nominal = (site.base * season_factor(day) * day_factor(dt) * (1 + TREND_PER_YEAR) ** years
               * math.exp(rng.normal(0, DAY_NOISE)))
    adv_share = site.advance[1 if dt.holiday else 0]
    quota = sum(room for _s, _e, room in site.seats_on(day))
    advance = min(quota, rng.poisson(nominal * adv_share))
    same_day = min(quota - advance, rng.poisson(nominal * (1 - adv_share) * DEMAND_BY_WEATHER[w]))
    show = SHOW_BY_WEATHER[w]
    sold = advance + same_day
    return DayDemand(day, weather, dt.holiday, nominal, int(advance), int(same_day), int(sold),
                     show, int(rng.binomial(sold, show)))


@dataclass(frozen=True)
class History:
    site_id: str
    days: list            # list[date]
    visitors: np.ndarray
    sold: np.ndarray
    weather: list
    holiday: list


def daily_history(site: str | SiteModel, first: date, last: date, seed: int) -> History:
    """Visitors a day from ``first`` to ``last`` inclusive."""
    site = site_model(site) if isinstance(site, str) else site
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rows = [day_demand(site, d, seed) for d in days]
    return History(site.site_id, days, np.array([r.visitors for r in rows]),
                   np.array([r.sold for r in rows]), [r.weather for r in rows],
                   [r.holiday for r in rows])


# --- one day, ticket by ticket ----------------------------------------------------------------

def _slot_weights(site: SiteModel, slots) -> np.ndarray:
    mids = np.array([(s + e) / 2 / 60 for s, e, _ in slots])
    widths = np.array([(e - s) / 60 for s, e, _ in slots])
    w = np.zeros(len(slots))
    for centre, spread, weight in site.profile:
        w += weight * np.exp(-0.5 * ((mids - centre) / spread) ** 2) / spread
    w = w * widths + 1e-3
    return w / w.sum()


def _fill(wanted: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Seat demand per slot; who finds their slot full takes the nearest one with room."""
    got = np.minimum(wanted, room)
    over = wanted - got
    for i in np.argsort(-over):
        rest = int(over[i])
        for dist in range(1, len(room)):
            for j in (i - dist, i + dist):
                if rest and 0 <= j < len(room):
                    take = min(rest, int(room[j] - got[j]))
                    got[j] += take
                    rest -= take
            if not rest:
                break
    return got


def _groups(rng: np.random.Generator, n: int) -> np.ndarray:
    """Group number of each ticket (-1: travelling alone), as runs of consecutive tickets
    (tickets are laid out slot by slot, so a group books one slot)."""
    # Chance that a run is a group, so that groups hold GROUP_SHARE of the tickets.
    q = GROUP_SHARE / (GROUP_SIZE * (1 - GROUP_SHARE) + GROUP_SHARE)
    units = n
    is_group = rng.random(units) < q
    sizes = np.where(is_group, np.maximum(2, rng.poisson(GROUP_SIZE, units)), 1)
    ids = np.where(is_group, np.cumsum(is_group) - 1, -1)
    return np.repeat(ids, sizes)[:n]


@dataclass
class SimDay:
    """One simulated day. Times are minutes after local midnight (floats)."""
    site: SiteModel
    day: date
    demand: DayDemand
    hours: Hours
    slots: list                  # [(start, end, quota)]
    slot: np.ndarray             # per ticket: slot index
    booked_at: np.ndarray        # per ticket: minutes (negative: booked on an earlier day)
    came: np.ndarray             # per ticket: bool
    entry: np.ndarray            # per ticket: minutes, nan when the holder did not come
    exit: np.ndarray             # per ticket: minutes of the exit scan, nan if checked out
    leave: np.ndarray            # per ticket: when the person really left (<= closing)
    camera: np.ndarray           # per minute of the day: people the cameras count
    inside: np.ndarray           # per minute of the day: people really inside (truth)

    @property
    def capacity(self) -> int:
        return self.site.instant_capacity

    def ts(self, minute: float) -> float:
        """POSIX seconds of a minute of this day."""
        midnight = datetime.combine(self.day, time(0), TZ)
        return midnight.timestamp() + minute * 60

    def gate_inside(self, minute: float) -> int:
        """Entries minus exits scanned by ``minute`` (the gates' people-inside figure)."""
        ent = np.count_nonzero(self.entry <= minute)
        ex = np.count_nonzero(self.exit <= minute)
        return int(ent - ex)

    def observe(self, minute: float) -> "Observation":
        """What the system knows at ``minute``: bookings so far per slot and how many of
        them have entered, entry times of the people inside, camera count."""
        booked = self.booked_at <= minute
        entered = self.entry <= minute
        sold = np.bincount(self.slot[booked], minlength=len(self.slots))
        used = np.bincount(self.slot[entered], minlength=len(self.slots))
        inside = entered & ~(self.exit <= minute)
        m = int(min(max(minute, 0), 1439))
        return Observation(
            now=self.ts(minute),
            slots=[(self.ts(s), self.ts(e), int(q), int(sold[i]), int(used[i]))
                   for i, (s, e, q) in enumerate(self.slots)],
            inside_entries=np.array([self.ts(0)]) + self.entry[inside] * 60,
            gate_inside=int(inside.sum()),
            camera_people=int(self.camera[m]),
            close=self.ts(self.hours.close_min),
            visits=self.pairs(minute))

    def pairs(self, until: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Dwell samples as the gates see them by ``until``: (minutes, exited?); people still
        inside or checked out at closing are censored."""
        until = self.hours.close_min if until is None else until
        entered = self.entry <= until
        exited = entered & (self.exit <= until)
        end = np.where(exited, self.exit, min(until, self.hours.close_min))
        return (end - self.entry)[entered], exited[entered]

    def arrival_offsets(self) -> np.ndarray:
        ok = ~np.isnan(self.entry)
        return self.entry[ok] - self._starts()[self.slot[ok]]

    def booking_leads(self) -> np.ndarray:
        """Minutes each ticket was sold before its slot started."""
        return self._starts()[self.slot] - self.booked_at

    def _starts(self) -> np.ndarray:
        return np.array([s for s, _e, _q in self.slots], dtype=float)


@dataclass(frozen=True)
class Observation:
    now: float                 # POSIX seconds
    slots: list                # [(start ts, end ts, quota, sold, used)]
    inside_entries: np.ndarray  # POSIX seconds of entry of everyone inside
    gate_inside: int
    camera_people: int
    close: float
    visits: tuple              # today's (minutes, exited?) entry->exit pairs so far


def simulate_day(site: str | SiteModel, day: date, seed: int, *,
                 exit_scan_rate: float = 1.0) -> SimDay:
    """One day at a site: bookings per slot, arrivals around slot times, dwell, gate scans
    and camera counts (noisy). ``exit_scan_rate`` < 1 lets some leave without an exit scan."""
    site = site_model(site) if isinstance(site, str) else site
    dem = day_demand(site, day, seed)
    hours = site.hours_on(day)
    if hours.closed:            # no slots, no tickets, nobody inside
        none, flat = np.zeros(0), np.zeros(1440, dtype=int)
        return SimDay(site, day, dem, hours, [], np.zeros(0, dtype=int), none,
                      np.zeros(0, dtype=bool), none, none, none, flat, flat)
    slots = site.slots_on(day)
    rng = _rng(seed, 2, site.index, day.toordinal())
    room = np.array([seats for _s, _e, seats in site.seats_on(day)])
    weights = _slot_weights(site, slots)
    adv = _fill(rng.multinomial(dem.advance, weights), room)
    same = _fill(rng.multinomial(dem.same_day, weights), room - adv)
    slot = np.concatenate([np.repeat(np.arange(len(slots)), adv),
                           np.repeat(np.arange(len(slots)), same)])
    n_adv = int(adv.sum())
    starts = np.array([s for s, _e, _q in slots], dtype=float)
    ends = np.array([e for _s, e, _q in slots], dtype=float)
    # Advance bookings: 1-6 days before, between 08:00 and 23:00; same-day ones a while
    # before the slot (most within two hours), never after the slot has ended.
    lead_days = np.minimum(1 + rng.geometric(0.45 if dem.holiday is None else 0.25, n_adv), 7)
    adv_at = -lead_days * 1440.0 + rng.uniform(480, 1380, n_adv)
    same_slot = slot[n_adv:]
    same_at = starts[same_slot] + 20 - rng.exponential(100, len(same_slot))
    same_at = np.clip(same_at, 0, ends[same_slot] - 5)
    booked_at = np.concatenate([adv_at, same_at])
    came = rng.permutation(len(slot)) < dem.visitors
    # Arrival: from 25 min before the slot to 20 min after it, most early in the slot.
    # Tour groups (GROUP_SHARE of tickets) arrive and leave together.
    length = ends[slot] - starts[slot]
    offset = -25 + (length + 45) * rng.beta(1.6, 2.6, len(slot))
    # Visits are shorter in rain and vary from day to day (heat, crowding).
    day_dwell = site.dwell_median * DWELL_BY_WEATHER[WEATHER.index(dem.weather)] \
        * math.exp(rng.normal(0, DWELL_DAY_SD))
    dwell = rng.lognormal(math.log(day_dwell), site.dwell_sigma, len(slot))
    group = _groups(rng, len(slot))
    member = group >= 0
    if member.any():
        idx = np.nonzero(member)[0]
        ids, first = np.unique(group[idx], return_index=True)
        leader = np.zeros(ids.max() + 1, dtype=int)
        leader[ids] = idx[first]
        lead_of = leader[group[idx]]
        offset[idx] = offset[lead_of] + rng.normal(0, 2, len(idx))
        dwell[idx] = dwell[lead_of] * rng.lognormal(0, 0.05, len(idx))
    entry = np.maximum(starts[slot] + offset, booked_at + 10)
    # Late arrivals hurry in before the last entry (the gates admit no one after it).
    entry = np.clip(entry, hours.open_min, hours.last_entry_min - 1)
    leave = np.minimum(entry + dwell, hours.close_min)
    scanned = (entry + dwell < hours.close_min) & (rng.random(len(slot)) < exit_scan_rate)
    entry = np.where(came, entry, np.nan)
    leave = np.where(came, leave, np.nan)
    exit_ = np.where(came & scanned, entry + dwell, np.nan)
    minutes = np.arange(1440)
    ent_n = np.searchsorted(np.sort(entry[came]), minutes, side="right")
    left_n = np.searchsorted(np.sort(leave[came]), minutes, side="right")
    inside = ent_n - left_n
    seen = rng.poisson(inside * site.coverage) * rng.lognormal(0, 0.05, 1440)
    camera = np.rint(seen).astype(int)
    return SimDay(site, day, dem, hours, slots, slot, booked_at, came, entry, exit_, leave,
                  camera, inside)


def past_days(site: str | SiteModel, day: date, seed: int, n: int = 7, *,
              like: bool = False) -> list[SimDay]:
    """The ``n`` days before ``day``; with ``like``, the last ``n`` of the same kind
    (holiday break or not) within a year and a half, for booking habits."""
    site = site_model(site) if isinstance(site, str) else site
    holiday = day_type(day).holiday is not None
    out, d = [], day
    while len(out) < n and (day - d).days < 550:
        d -= timedelta(days=1)
        if not like or (day_type(d).holiday is not None) == holiday:
            out.append(simulate_day(site, d, seed))
    return out


def learn_from(days: list[SimDay], booking_days: list[SimDay] | None = None):
    """The forecast's dwell and arrival models learned from past simulated days, as the
    crowd service learns them from the gates' and ticketing's records; the booking curve
    from ``booking_days`` when given (days of the same kind book differently)."""
    from .forecast import learn_arrivals, learn_dwell
    mins, done = zip(*(d.pairs() for d in days))
    dwell = learn_dwell(np.concatenate(mins), np.concatenate(done))
    arrivals = learn_arrivals(np.concatenate([d.arrival_offsets() for d in days]),
                              [(len(d.slot), int(d.came.sum())) for d in days],
                              [d.booking_leads() for d in booking_days or days])
    return dwell, arrivals
