"""Admission rules as pure functions over plain values: no Flask, no database.

The server (gates.services) and the offline gate client (gate_client) both decide with
these, so a turnstile that lost the network answers exactly as the server would.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

# Stable deny reasons, part of the gate API contract (docs/gates.md).
REASONS = ("invalid_code", "bad_signature", "unknown_ticket", "revoked", "refunded",
           "wrong_site", "too_early", "too_late", "already_inside", "not_inside", "used_up",
           "closed")
DIRECTIONS = ("entry", "exit")


@dataclass(frozen=True)
class Rules:
    """How far before the booked slot starts and after it ends a first entry is let in."""
    early_minutes: int = 30
    late_minutes: int = 60

    def to_json(self) -> dict:
        return {"early_minutes": self.early_minutes, "late_minutes": self.late_minutes}

    @classmethod
    def from_json(cls, data: dict) -> "Rules":
        return cls(int(data["early_minutes"]), int(data["late_minutes"]))


@dataclass
class Presence:
    """A ticket at one site: entries so far and whether it is inside now."""
    entries: int = 0
    inside: bool = False


def as_datetime(value, tz: tzinfo) -> datetime | None:
    """A datetime in ``tz`` from a datetime, a date (start of day) or ISO text."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value \
            else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    raise TypeError(f"not a time: {value!r}")


def as_date(value, tz: tzinfo) -> date | None:
    dt = as_datetime(value, tz)
    return None if dt is None else dt.date()


def ticket_problem(ticket, site_id: str, *, claim_version=None, revoked: bool = False) -> str | None:
    """Reasons that hold whatever the direction: status, version, revocation, site."""
    if ticket is None:
        return "unknown_ticket"
    if ticket.status == "refunded":
        return "refunded"
    if revoked or (claim_version is not None and int(claim_version) != int(ticket.version)):
        return "revoked"
    if ticket.status == "revoked":
        return "revoked"
    if ticket.status == "expired":
        return "too_late"
    if ticket.status != "valid":
        # A pending (unpaid) order has no admissible ticket yet.
        return "unknown_ticket"
    if site_id not in tuple(ticket.sites):
        return "wrong_site"
    return None


def entry_problem(ticket, at: datetime, presence: Presence, rules: Rules) -> str | None:
    """Whether a valid ticket for this site may enter at ``at``; None means allow."""
    if presence.inside:
        return "already_inside"
    max_entries = ticket.max_entries_per_site or 1
    if presence.entries >= max_entries or (presence.entries > 0 and not ticket.reentry_allowed):
        return "used_up"
    tz = at.tzinfo
    day = at.date()
    valid_from, valid_until = as_date(ticket.valid_from, tz), as_date(ticket.valid_until, tz)
    if valid_from is not None and day < valid_from:
        return "too_early"
    if valid_until is not None and day > valid_until:
        return "too_late"
    if presence.entries == 0:
        # The booked slot governs the first entry on the slot's day; a multi-day ticket
        # whose slot day was missed may still enter on its later valid days.
        start, end = as_datetime(ticket.slot_start, tz), as_datetime(ticket.slot_end, tz)
        if start is not None:
            if day < start.date():
                return "too_early"
            if day == start.date():
                if at < start - timedelta(minutes=rules.early_minutes):
                    return "too_early"
                if end is not None and at > end + timedelta(minutes=rules.late_minutes):
                    return "too_late"
    return None


def entry_windows_json(windows) -> list:
    """Entry windows as the offline bundle carries them: [[start, end], ...] in ISO text."""
    return [[s.isoformat(), e.isoformat()] for s, e in windows]


def entry_windows_from_json(items, tz: tzinfo) -> tuple | None:
    """The bundle's entry windows; None when the bundle has none (an older server)."""
    if items is None:
        return None
    return tuple((as_datetime(s, tz), as_datetime(e, tz)) for s, e in items)


def hours_problem(at: datetime, entry_windows) -> str | None:
    """``closed`` outside every entry window of the gate's site or entrance (opening to
    last entry, after closures staff entered); None when windows are not known."""
    if entry_windows is None:
        return None
    return None if any(start <= at < end for start, end in entry_windows) else "closed"


def exit_problem(presence: Presence) -> str | None:
    return None if presence.inside else "not_inside"


def decide(ticket, site_id: str, direction: str, at: datetime, presence: Presence, rules: Rules,
           *, claim_version=None, revoked: bool = False, entry_windows=None) -> str | None:
    """The deny reason for a scan, or None to allow. Exits only need a ticket that is
    inside (a visitor whose ticket was refunded meanwhile may still leave); entries also
    need the gate's entrance to be open (``entry_windows``: (start, end) pairs)."""
    if direction == "exit":
        if ticket is None:
            return "unknown_ticket"
        if site_id not in tuple(ticket.sites):
            return "wrong_site"
        return exit_problem(presence)
    problem = ticket_problem(ticket, site_id, claim_version=claim_version, revoked=revoked)
    if problem:
        return problem
    return hours_problem(at, entry_windows) or entry_problem(ticket, at, presence, rules)
