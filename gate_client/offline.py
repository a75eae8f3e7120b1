"""Offline validation from a bundle: no network, no Flask, no database server.

The site's time zone comes from the bundle (``timezone``, the server's TIMEZONE setting),
so a turnstile set to any local zone counts days as the site does."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from admission import codes
from admission.identity import DigestParams, document_digest, is_resident_id
from admission.rules import Presence, Rules, as_datetime, decide, entry_windows_from_json


def bundle_timezone(bundle: dict) -> tzinfo:
    """The site's zone named in the bundle; a bundle from an older server names none,
    and then the UTC offset of its ``generated_at`` stands in for it."""
    name = bundle.get("timezone")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return datetime.fromisoformat(bundle["generated_at"]).tzinfo


@dataclass(frozen=True)
class BundleTicket:
    """A ticket as the bundle describes it; the fields admission.rules reads."""
    id: int
    version: int
    type_name: object
    sites: tuple
    status: str
    holder_masked: str
    slot_start: datetime | None
    slot_end: datetime | None
    valid_from: datetime | None
    valid_until: datetime | None
    reentry_allowed: bool
    max_entries_per_site: int
    proof: dict | None = None   # show the officer which proof to check (height, student card)


@dataclass(frozen=True)
class Verdict:
    result: str              # "allow" | "deny"
    reason: str | None
    ticket: BundleTicket | None

    def to_json(self) -> dict:
        t = self.ticket
        ticket = None if t is None else {
            "id": t.id, "type": t.type_name, "holder": t.holder_masked, "proof": t.proof,
            "slot": None if t.slot_start is None else {"start": t.slot_start.isoformat(),
                                                       "end": t.slot_end.isoformat()
                                                       if t.slot_end else None}}
        return {"result": self.result, "reason": self.reason, "ticket": ticket}


class OfflineValidator:
    """Decides scans at one gate from a bundle, as the server would."""

    def __init__(self, bundle: dict):
        self.tz = tz = bundle_timezone(bundle)
        self.bundle = bundle
        self.site = bundle["gate"]["site"]
        self.gate_direction = bundle["gate"]["direction"]
        self.public_key = bytes.fromhex(bundle["public_key"])
        self.rules = Rules.from_json(bundle["rules"])
        self.revoked = frozenset(bundle.get("revocations") or ())
        self.day = date.fromisoformat(bundle["day"])
        self.closing_at = as_datetime(bundle.get("closing_at"), tz)
        # When the gate's entrance admits today; absent in bundles from older servers.
        self.entry_windows = entry_windows_from_json(bundle.get("entry_windows"), tz)
        self.tickets: dict[int, BundleTicket] = {}
        self.by_document: dict[str, int] = {}
        self.snapshot: dict[int, Presence] = {}
        for row in bundle.get("tickets") or ():
            t = BundleTicket(
                int(row["id"]), int(row["version"]), row.get("type"), tuple(row["sites"]),
                row["status"], row.get("holder") or "", as_datetime(row.get("slot_start"), tz),
                as_datetime(row.get("slot_end"), tz), as_datetime(row.get("valid_from"), tz),
                as_datetime(row.get("valid_until"), tz), bool(row.get("reentry_allowed")),
                int(row.get("max_entries_per_site") or 1), row.get("proof"))
            self.tickets[t.id] = t
            if row.get("document_digest"):
                self.by_document[row["document_digest"]] = t.id
            self.snapshot[t.id] = Presence(int(row.get("entries") or 0), bool(row.get("inside")))
        # That day's key of this site (never the server's lookup key): with it the gate
        # digests a typed ID number as the server digested the holders'. A bundle without
        # one (the server's default) matches no ID number offline.
        key, kdf = bundle.get("document_key"), bundle.get("document_kdf")
        self.document_key = bytes.fromhex(key) if key and kdf else None
        self.digest_params = DigestParams.from_json(kdf) if self.document_key else None

    def _from_claim(self, claim) -> BundleTicket:
        # A genuine code for a ticket sold after the bundle was made: trust the signed claim
        # (sites, validity) with the default rules (single entry, no slot window).
        return BundleTicket(claim.ticket_id, claim.version, None, tuple(claim.sites), "valid",
                            "", None, None, claim.valid_from.astimezone(self.tz),
                            claim.valid_until.astimezone(self.tz), False, 1)

    def ticket_for_code(self, code: str):
        """(ticket, claim_version, reason)."""
        try:
            claim = codes.decode(code, self.public_key)
        except codes.CodeError as exc:
            return None, None, exc.reason
        if codes.revocation_key(claim.ticket_id, claim.version) in self.revoked:
            return self.tickets.get(claim.ticket_id), claim.version, "revoked"
        ticket = self.tickets.get(claim.ticket_id) or self._from_claim(claim)
        return ticket, claim.version, None

    def ticket_for_document(self, number: str, today: date):
        """(ticket, reason) for a typed ID number, matched by its digest under the day's key."""
        if not is_resident_id(number, today):
            return None, "invalid_code"
        if self.document_key is None:
            return None, "unknown_ticket"
        digest = document_digest(number, self.document_key, self.digest_params)
        tid = self.by_document.get(digest)
        return (self.tickets[tid], None) if tid is not None else (None, "unknown_ticket")

    def decide(self, ticket, claim_version, direction: str, at: datetime,
               presence: Presence) -> str | None:
        # Days and slots are the site's: judge the scan in the site's zone.
        at = at.astimezone(self.tz)
        # The windows are the bundle's day's: on another day they say nothing.
        windows = self.entry_windows if at.date() == self.day else None
        return decide(ticket, self.site, direction, at, presence, self.rules,
                      claim_version=claim_version, entry_windows=windows)

    def validate_code(self, code: str, direction: str, at: datetime,
                      presence_of) -> Verdict:
        """Decide a code; ``presence_of(ticket_id) -> Presence`` gives local state."""
        if not isinstance(code, str) or len(code) > 512:
            return Verdict("deny", "invalid_code", None)
        ticket, version, reason = self.ticket_for_code(code)
        if reason is None:
            reason = self.decide(ticket, version, direction, at, presence_of(ticket.id))
        return Verdict("deny" if reason else "allow", reason, ticket)

    def validate_document(self, number: str, direction: str, at: datetime,
                          presence_of) -> Verdict:
        ticket, reason = self.ticket_for_document(number, at.astimezone(self.tz).date())
        if reason is None:
            reason = self.decide(ticket, None, direction, at, presence_of(ticket.id))
        return Verdict("deny" if reason else "allow", reason, ticket)
