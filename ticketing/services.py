"""Ticketing services: the only entry points other domains call.

Every quota check and decrement runs inside ``core.db.immediate`` (BEGIN IMMEDIATE), and
every such transaction first expires lapsed holds, so a hold is released even when no
request arrives for its slot (the ``flask ticketing expire-holds`` command does the same).
"""
from __future__ import annotations

import json
import logging
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from catalog import services as catalog
from core import pii
from core.clock import DEFAULT_TZ
from core.db import immediate
from core.errors import NotFound, ValidationError
from core.text import _l

from . import codes, repo
from .identity import ResidentId, validate_resident_id

log = logging.getLogger("scenic.ticketing")
# Writers of this process queue here before BEGIN IMMEDIATE. SQLite alone would make them
# poll the lock with its sleeping busy handler (1, 2, 5 ... 100 ms naps), leaving the CPU
# idle under a booking rush; a mutex wakes the next writer as soon as the lock is free.
# Correctness does not rest on it: BEGIN IMMEDIATE still serialises writers across processes.
_WRITE_GATE = threading.RLock()


@contextmanager
def quota_transaction(db):
    """BEGIN IMMEDIATE (core.db.immediate) behind the process's write gate."""
    with _WRITE_GATE, immediate(db):
        yield db
MONITOR = "crowd-monitor"
MAX_HOLDERS = 5
__all__ = ["validate_resident_id", "ResidentId"]


# --- value objects ------------------------------------------------------------------

@dataclass(frozen=True)
class SlotAvailability:
    slot_id: int
    start: datetime
    end: datetime
    quota: int
    sold: int
    held: int
    left: int
    paused: bool
    window_quota: int = 0
    window_sold: int = 0
    window_left: int = 0


@dataclass(frozen=True)
class Fare:
    id: str
    kind: str
    name: dict
    rule: dict
    factor: float | None
    products: tuple
    confirmed: bool
    enabled: bool
    source: str


@dataclass(frozen=True)
class Product:
    id: str
    sites: tuple
    name: dict
    price_fen: int
    valid_days: int | None
    since: str | None
    source: str
    notes: dict
    active: bool
    fares: tuple = ()

    @property
    def home_site(self) -> str:
        return self.sites[0]


@dataclass(frozen=True)
class TicketView:
    id: int
    version: int
    product_id: str
    product_name: dict
    fare_id: str
    fare_name: dict
    price_fen: int
    proof_required: bool
    status: str
    holder_masked: str
    document_type: str
    document_masked: str
    slot_id: int
    slot_start: datetime
    slot_end: datetime
    day: str
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True)
class OrderView:
    number: str
    status: str
    site_id: str
    day: str
    channel: str
    total_fen: int
    hold_expires_at: datetime | None
    created_at: datetime
    paid_at: datetime | None
    tickets: tuple = field(default_factory=tuple)
    payment_url: str | None = None


@dataclass(frozen=True)
class GateTicket:
    id: int
    version: int
    product_id: str
    type_name: dict
    sites: tuple
    status: str
    holder_masked: str
    document_hash: str
    slot_start: datetime
    slot_end: datetime
    valid_from: datetime
    valid_until: datetime
    reentry_allowed: bool = False
    max_entries_per_site: int = 1


def _iso(dt: datetime) -> str:
    return dt.astimezone(DEFAULT_TZ).isoformat(timespec="seconds")


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _sites_of(mask: int) -> tuple:
    return tuple(s for i, s in enumerate(codes.SITE_ORDER) if mask & (1 << i))


def _site_bit(site_id: str) -> int:
    if site_id not in codes.SITE_ORDER:
        raise NotFound("unknown_site", _l("There is no site '%(site_id)s'.", site_id=site_id))
    return 1 << codes.SITE_ORDER.index(site_id)


# --- products and fares -------------------------------------------------------------

_FARE_CACHE: dict = {}  # parsed fares by their raw row; bounded below


def _fare(row) -> Fare:
    key = tuple(row)
    hit = _FARE_CACHE.get(key)
    if hit is None:
        if len(_FARE_CACHE) > 256:
            _FARE_CACHE.clear()
        hit = _FARE_CACHE[key] = _parse_fare(row)
    return hit


def _parse_fare(row) -> Fare:
    return Fare(row["id"], row["kind"], {"zh": row["name_zh"], "en": row["name_en"]},
                json.loads(row["rule_json"]), row["factor"], tuple(json.loads(row["products_json"])),
                bool(row["confirmed"]), bool(row["enabled"]), row["source"])


def _product(row, fares=()) -> Product:
    return Product(row["id"], tuple(json.loads(row["covers_json"])),
                   {"zh": row["name_zh"], "en": row["name_en"]}, row["price_fen"],
                   row["valid_days"], row["since"], row["source"], json.loads(row["notes_json"]),
                   bool(row["active"]), tuple(f for f in fares if row["id"] in f.products))


def list_fares(db) -> list[Fare]:
    return [_fare(r) for r in repo.fares(db)]


def list_products(db, site_id: str | None = None, active_only: bool = True) -> list[Product]:
    """Products (with their fares) booked at a site (the first site a product covers)."""
    fares = list_fares(db)
    out = [_product(r, fares) for r in repo.products(db, active_only)]
    return [p for p in out if site_id is None or p.home_site == site_id]


def get_product(db, product_id: str) -> Product:
    row = repo.product(db, product_id) if isinstance(product_id, str) else None
    if row is None or not row["active"]:
        raise NotFound("unknown_product", _l("There is no such ticket type."))
    return _product(row, list_fares(db))


def update_product(db, product_id: str, *, price_fen: int, active: bool) -> Product:
    """Admin edit of a product's price (fen) and whether it is on sale."""
    if isinstance(price_fen, bool) or not isinstance(price_fen, int) or not 0 <= price_fen <= 100_000:
        raise ValidationError("bad_price",
                              _l("A price is a whole number of fen from 0 to 100000."))
    with immediate(db):
        if repo.product(db, product_id) is None:
            raise NotFound("unknown_product", _l("There is no such ticket type."))
        repo.update_product(db, product_id, price_fen, active)
    return _product(repo.product(db, product_id), list_fares(db))


def set_fare_enabled(db, fare_id: str, enabled: bool) -> None:
    """Admin switch for a fare rule (unconfirmed or factor-less rules cannot be enabled)."""
    with immediate(db):
        row = repo.fare(db, fare_id)
        if row is None:
            raise NotFound("unknown_fare", _l("There is no such fare."))
        if enabled and row["factor"] is None:
            raise ValidationError("fare_has_no_price", _l("This rule has no known price factor."))
        repo.set_fare_enabled(db, fare_id, enabled)


FULL_FARE = {"zh": "全价票", "en": "Full price"}


def price_for(product: Product, fare_id: str) -> int:
    if fare_id == "full":
        return product.price_fen
    fare = next((f for f in product.fares if f.id == fare_id and f.enabled), None)
    if fare is None:
        raise ValidationError("unknown_fare", _l("That fare does not apply to this ticket."))
    return int(round(product.price_fen * fare.factor))


def _age_test(rule: dict, age: int | None) -> bool | None:
    """True/False if the rule is decided by age, None if age does not decide it."""
    has_age = "min_age" in rule or "max_age_exclusive" in rule
    if not has_age or age is None:
        return None
    return age >= rule.get("min_age", 0) and age < rule.get("max_age_exclusive", 1000)


def choose_fare(product: Product, requested: str | None, age: int | None) -> tuple[str, bool]:
    """Decide a holder's fare server-side: (fare_id, proof_required). Age-based fares are
    checked against the document's birth date; others need proof shown at the gate."""
    usable = [f for f in product.fares if f.enabled and f.factor is not None]
    if requested in (None, "", "auto"):
        best = [f for f in usable if _age_test(f.rule, age)]
        if not best:
            return "full", False
        return min(best, key=lambda f: f.factor).id, False
    if requested == "full":
        return "full", False
    fare = next((f for f in usable if f.id == requested), None)
    if fare is None:
        raise ValidationError("unknown_fare", _l("That fare does not apply to this ticket."))
    by_age = _age_test(fare.rule, age)
    has_age = "min_age" in fare.rule or "max_age_exclusive" in fare.rule
    if by_age:
        return fare.id, False
    if has_age and age is None:
        raise ValidationError("birth_date_required", _l("Give the holder's birth date for this "
                                                        "fare."))
    others = set(fare.rule) - {"min_age", "max_age_exclusive", "combine"}
    if has_age and (not others or fare.rule.get("combine") != "any"):
        raise ValidationError("not_eligible", _l("The holder's age does not qualify for this "
                                                 "fare."))
    return fare.id, True  # height or a certificate: checked by the gate officer


# --- slots, quotas, pauses -------------------------------------------------------------

def get_policy(db, site_id: str) -> dict:
    catalog.get_site(db, site_id)
    row = repo.policy(db, site_id)
    return {"slot_minutes": row["slot_minutes"] if row else 60,
            "reserved_share": row["reserved_share"] if row else 0.1}


def set_policy(db, site_id: str, *, slot_minutes: int, reserved_share: float, actor: str, clock):
    """Staff setting of slot length and the share kept for the manual window (new days only)."""
    catalog.get_site(db, site_id)
    if isinstance(slot_minutes, bool) or not isinstance(slot_minutes, int) or not 15 <= slot_minutes <= 1440:
        raise ValidationError("bad_slot_minutes", _l("Slot length is 15 to 1440 minutes."))
    if not isinstance(reserved_share, (int, float)) or not 0 <= reserved_share < 1:
        raise ValidationError("bad_reserved_share", _l("The reserved share is from 0 to below 1."))
    with immediate(db):
        repo.set_policy(db, site_id, slot_minutes, float(reserved_share), _iso(clock.now()), actor)


def split_quota(total: int, n: int) -> list[int]:
    base, extra = divmod(total, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def _slot_times(season, day: date, minutes: int) -> list[tuple[datetime, datetime]]:
    def at(hm):
        if hm == "24:00":
            return datetime.combine(day + timedelta(days=1), time(0), DEFAULT_TZ)
        h, m = map(int, hm.split(":"))
        return datetime.combine(day, time(h, m), DEFAULT_TZ)
    start, stop = at(season.open), at(season.last_entry or season.close)
    out = []
    while start < stop:
        end = min(start + timedelta(minutes=minutes), stop)
        out.append((start, end))
        start = end
    return out


def ensure_slots(db, site_id: str, day: date) -> list:
    """The day's slots, created on first use from the policy and the catalog: online quotas
    sum to daily capacity minus the reserved share, which is split as window quotas."""
    rows = repo.slots_of_day(db, site_id, day.isoformat())
    if rows:
        return rows
    site = catalog.get_site(db, site_id)
    season = site.season_on(day)
    if season is None:
        return []
    pol = get_policy(db, site_id)
    times = _slot_times(season, day, pol["slot_minutes"])
    daily = catalog.site_capacity(db, site_id).daily
    reserved = math.ceil(daily * pol["reserved_share"])
    online = split_quota(daily - reserved, len(times))
    window = split_quota(reserved, len(times))
    with immediate(db):
        if not repo.slots_of_day(db, site_id, day.isoformat()):
            for i, (s, e) in enumerate(times):
                repo.insert_slot(db, site_id, day.isoformat(), i, _iso(s), _iso(e), online[i],
                                 window[i])
    return repo.slots_of_day(db, site_id, day.isoformat())


def _paused_slots(db, site_id: str) -> tuple[bool, set]:
    rows = repo.pauses(db, site_id)
    return any(r["slot_id"] == 0 for r in rows), {r["slot_id"] for r in rows if r["slot_id"]}


def _tally(counts, slot_id):
    t = {"online_valid": 0, "online_pending": 0, "window": 0}
    for r in counts:
        if r["slot_id"] != slot_id:
            continue
        if r["channel"] == "window":
            t["window"] += r["n"]
        else:
            t[f"online_{r['status']}"] += r["n"]
    return t


def _availability(row, counts, paused: bool) -> SlotAvailability:
    t = _tally(counts, row["id"])
    overflow = max(0, t["window"] - row["window_quota"])  # window sales past its share
    online_used = t["online_valid"] + t["online_pending"] + overflow
    left = max(0, row["quota"] - online_used)
    window_left = max(0, row["quota"] + row["window_quota"] - t["online_valid"]
                      - t["online_pending"] - t["window"])
    return SlotAvailability(row["id"], _dt(row["start_at"]), _dt(row["end_at"]), row["quota"],
                            t["online_valid"], t["online_pending"], left, paused,
                            row["window_quota"], t["window"], window_left)


def availability(db, site_id: str, day: date, clock) -> list[SlotAvailability]:
    """Per slot of a site's day: quota, sold, held, left (online) and whether paused."""
    catalog.get_site(db, site_id)
    rows = ensure_slots(db, site_id, day)
    if rows and sum(r["quota"] + r["window_quota"] for r in rows) > catalog.site_capacity(db, site_id).daily:
        rows = _fit_to_capacity(db, site_id, day)
    whole, slots = _paused_slots(db, site_id)
    counts = repo.slot_counts_of_day(db, site_id, day.isoformat())
    now = clock.now()
    out = []
    for r in rows:
        a = _availability(r, counts, whole or r["id"] in slots)
        if a.end <= now:  # a slot that is over sells nothing more
            a = SlotAvailability(**{**a.__dict__, "left": 0, "window_left": 0})
        out.append(a)
    return out


def _fit_to_capacity(db, site_id: str, day: date) -> list:
    """Shrink a day's quotas after its daily capacity was lowered: proportionally, but never
    below what is already sold or held in a slot."""
    with quota_transaction(db):
        rows = repo.slots_of_day(db, site_id, day.isoformat())
        daily = catalog.site_capacity(db, site_id).daily
        total = sum(r["quota"] + r["window_quota"] for r in rows)
        if total <= daily:
            return rows
        counts = repo.slot_counts_of_day(db, site_id, day.isoformat())
        for r in rows:
            t = _tally(counts, r["id"])
            online = max(t["online_valid"] + t["online_pending"], r["quota"] * daily // total)
            window = max(t["window"], r["window_quota"] * daily // total)
            repo.set_slot_quota(db, r["id"], online, window)
        return repo.slots_of_day(db, site_id, day.isoformat())


def set_slot_quota(db, slot_id: int, *, quota: int, window_quota: int, clock, actor: str) -> None:
    """Staff change of one slot's online and window quotas; the day stays within the site's
    daily capacity and a quota never drops below what is sold or held."""
    for v in (quota, window_quota):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValidationError("bad_quota", _l("A quota is a whole number, 0 or more."))
    with quota_transaction(db):
        ok = isinstance(slot_id, int) and not isinstance(slot_id, bool) and 0 < slot_id < 2 ** 62
        row = repo.slot(db, slot_id) if ok else None
        if row is None:
            raise NotFound("unknown_slot", _l("There is no such time slot."))
        rows = repo.slots_of_day(db, row["site_id"], row["day"])
        others = sum(r["quota"] + r["window_quota"] for r in rows if r["id"] != slot_id)
        daily = catalog.site_capacity(db, row["site_id"]).daily
        if others + quota + window_quota > daily:
            raise ValidationError("over_capacity", _l("The day's quotas would exceed the daily "
                                                      "capacity of %(daily)s.", daily=daily))
        a = _availability(row, repo.slot_counts(db, slot_id), False)
        if quota < a.sold + a.held or quota + window_quota < a.sold + a.held + a.window_sold:
            raise ValidationError("below_sold", _l("A quota cannot go below the tickets already "
                                                   "sold or held."))
        repo.set_slot_quota(db, slot_id, quota, window_quota)
        log.info("slot quota changed", extra={"event": "slot_quota_changed", "actor": actor})


def calendar(db, site_id: str, clock, days: int = 7) -> list[dict]:
    """The next days with whether the site opens and how many online tickets are left."""
    site = catalog.get_site(db, site_id)
    today = clock.now().date()
    out = []
    for i in range(days):
        d = today + timedelta(days=i)
        season = site.season_on(d)
        slots = availability(db, site_id, d, clock) if season else []
        out.append({"date": d, "open": season is not None, "left": sum(s.left for s in slots),
                    "paused": is_paused(db, site_id, d), "season": season})
    return out


def pause_sales(db, *, site_id: str, reason: str, actor: str, clock, slot_id=None) -> None:
    """Stop sales for a site (or one slot). Idempotent per actor; the crowd monitor's pause
    is lifted by the monitor's resume or by staff."""
    catalog.get_site(db, site_id)
    reason = (reason or "").strip()[:500]
    if not reason:
        raise ValidationError("reason_required", _l("Give a reason for pausing sales."))
    with immediate(db):
        sid = _check_slot_of_site(db, site_id, slot_id)
        key = MONITOR if actor == MONITOR else "staff"
        repo.add_pause(db, site_id, sid, key, reason, _iso(clock.now()))
        repo.log_pause(db, site_id, sid, "pause", actor, reason, _iso(clock.now()))


def resume_sales(db, *, site_id: str, actor: str, clock, slot_id=None) -> None:
    """Lift a pause. The monitor lifts only its own pause; staff lift every pause."""
    catalog.get_site(db, site_id)
    with immediate(db):
        sid = _check_slot_of_site(db, site_id, slot_id)
        n = repo.remove_pauses(db, site_id, sid, MONITOR if actor == MONITOR else None)
        if n:
            repo.log_pause(db, site_id, sid, "resume", actor, "", _iso(clock.now()))


def _check_slot_of_site(db, site_id, slot_id) -> int:
    if slot_id in (None, 0, ""):
        return 0
    ok = isinstance(slot_id, int) and not isinstance(slot_id, bool) and 0 < slot_id < 2 ** 62
    row = repo.slot(db, slot_id) if ok else None
    if row is None or row["site_id"] != site_id:
        raise NotFound("unknown_slot", _l("There is no such time slot."))
    return row["id"]


def is_paused(db, site_id: str, day: date | None = None) -> bool:
    """True if sales of the site are paused (with a day: also when every slot is paused)."""
    whole, slots = _paused_slots(db, site_id)
    if whole or day is None or not slots:
        return whole
    ids = {r["id"] for r in repo.slots_of_day(db, site_id, day.isoformat())}
    return bool(ids) and ids <= slots


def pauses(db, site_id: str) -> list[dict]:
    return [dict(r) for r in repo.pauses(db, site_id)]


def pause_history(db, site_id: str, limit: int = 20) -> list[dict]:
    return [dict(r) for r in repo.pause_log(db, site_id, limit)]


def expire_holds(db, clock) -> int:
    """Release every hold whose time is up; returns how many orders expired."""
    with quota_transaction(db):
        return repo.expire_holds(db, _iso(clock.now()))


def product_names(db) -> dict:
    return {r["id"]: {"zh": r["name_zh"], "en": r["name_en"]} for r in repo.products(db, False)}


def get_fare_names(db) -> dict:
    return {r["id"]: {"zh": r["name_zh"], "en": r["name_en"]} for r in repo.fares(db)}


# --- e-ticket codes and gates -------------------------------------------------------

_STATUS_FOR_GATE = {"valid": "valid", "refunded": "refunded", "pending": "pending",
                    "expired": "revoked"}


def _gate(row) -> GateTicket:
    return GateTicket(row["id"], row["version"], row["product_id"],
                      {"zh": row["name_zh"], "en": row["name_en"]}, _sites_of(row["sites_mask"]),
                      _STATUS_FOR_GATE.get(row["status"], "revoked"), row["holder_name_masked"],
                      row["document_hash"], _dt(row["slot_start"]), _dt(row["slot_end"]),
                      _dt(row["valid_from"]), _dt(row["valid_until"]),
                      bool(row["reentry_allowed"]), row["max_entries_per_site"])


def ticket_for_gate(db, ticket_id: int) -> GateTicket | None:
    """A ticket as a gate sees it (any status), or None."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < 2 ** 62:
        return None
    row = repo.gate_ticket(db, ticket_id)
    return _gate(row) if row else None


def tickets_for_gate_bundle(db, site_id: str, day: date) -> list[GateTicket]:
    """Every valid ticket that admits to a site on a day (for a gate's offline bundle)."""
    return [_gate(r) for r in repo.gate_tickets_on(db, _site_bit(site_id), day.isoformat())]


def find_ticket_by_document(db, site_id: str, day: date, document_number: str) -> GateTicket | None:
    """The ID-card fallback at a gate: the holder's valid ticket for that site and day."""
    rows = repo.gate_tickets_on(db, _site_bit(site_id), day.isoformat(),
                                pii.keyed_hash(document_number))
    return _gate(rows[0]) if rows else None


def revocation_list(db) -> list[str]:
    """Revocation keys ("ticket_id.version") of superseded or refunded codes."""
    return repo.revocation_keys(db)


def signing_key(app_or_instance_path) -> bytes:
    path = getattr(app_or_instance_path, "instance_path", app_or_instance_path)
    return codes.load_or_create_signing_key(Path(path))


def ticket_signing_public_key(app_or_instance_path) -> bytes:
    """The raw Ed25519 public key gates verify codes with (also GET /api/tickets/public-key)."""
    return codes.public_key_of(signing_key(app_or_instance_path))


def ticket_code(ticket, private_key: bytes) -> str:
    """The QR text of a GateTicket at its current version."""
    return codes.encode(codes.TicketClaim(ticket.id, ticket.version, ticket.sites, ticket.valid_from,
                                          ticket.valid_until), private_key)


def code_for(db, ticket_id: int, private_key: bytes) -> str:
    """The current QR text of a valid ticket."""
    t = ticket_for_gate(db, ticket_id)
    if t is None or t.status != "valid":
        raise NotFound("unknown_ticket", _l("No such valid ticket."))
    return ticket_code(t, private_key)


def report(db, site_id: str, first: date, last: date) -> list:
    """Per slot of each day in a range: quotas, sales by channel, holds, refunds, revenue."""
    return repo.report_rows(db, site_id, first.isoformat(), last.isoformat())
