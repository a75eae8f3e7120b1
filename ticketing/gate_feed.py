"""What ticketing gives the gates: tickets as a gate sees them, the day's tickets for an
offline bundle, the ID-card fallback lookup, the revocation list, and the signing key
behind every e-ticket code (codes themselves: admission.codes)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from admission import codes
from admission.sites import UnknownSite, site_bit, sites_of
from core import pii
from core.clock import from_iso
from core.db import Database
from core.errors import NotFound
from core.text import _l

from . import repo

_STATUS_FOR_GATE = {"valid": "valid", "refunded": "refunded", "pending": "pending",
                    "expired": "revoked"}


@dataclass(frozen=True)
class GateTicket:
    id: int
    version: int
    product_id: str
    type_name: dict
    sites: tuple
    status: str                 # valid | refunded | pending | revoked
    holder_masked: str
    document_hash: str
    slot_start: datetime
    slot_end: datetime
    valid_from: datetime
    valid_until: datetime
    reentry_allowed: bool = False
    max_entries_per_site: int = 1
    proof: dict | None = None   # the fare whose proof (height, student card...) the officer checks


def _gate(row) -> GateTicket:
    proof = ({"zh": row["fare_zh"] or row["fare_id"], "en": row["fare_en"] or row["fare_id"]}
             if row["proof_required"] else None)
    return GateTicket(row["id"], row["version"], row["product_id"],
                      {"zh": row["name_zh"], "en": row["name_en"]}, sites_of(row["sites_mask"]),
                      _STATUS_FOR_GATE.get(row["status"], "revoked"), row["holder_name_masked"],
                      row["document_hash"], from_iso(row["slot_start"]), from_iso(row["slot_end"]),
                      from_iso(row["valid_from"]), from_iso(row["valid_until"]),
                      bool(row["reentry_allowed"]), row["max_entries_per_site"], proof)


def _bit(site_id: str) -> int:
    try:
        return site_bit(site_id)
    except UnknownSite:
        raise NotFound("unknown_site", _l("There is no site '%(site_id)s'.",
                                          site_id=site_id)) from None


def ticket_for_gate(db: Database, ticket_id: int) -> GateTicket | None:
    """A ticket as a gate sees it (any status), or None."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int) or not 0 < ticket_id < 2 ** 62:
        return None
    row = repo.gate_ticket(db, ticket_id)
    return _gate(row) if row else None


def tickets_for_gate_bundle(db: Database, site_id: str, day: date) -> list[GateTicket]:
    """Every valid ticket that admits to a site on a day (for a gate's offline bundle)."""
    return [_gate(r) for r in repo.gate_tickets_on(db, _bit(site_id), day.isoformat())]


def find_ticket_by_document(db: Database, site_id: str, day: date, document_number: str) -> GateTicket | None:
    """The ID-card fallback at a gate: the holder's valid ticket for that site and day."""
    rows = repo.gate_tickets_on(db, _bit(site_id), day.isoformat(),
                                pii.keyed_hash(document_number))
    return _gate(rows[0]) if rows else None


def document_digests(db: Database, ticket_ids: list[int],
                     digest: Callable[[str], str]) -> dict[int, str | None]:
    """``digest(number)`` of each ticket holder's resident ID number, computed here so the
    number never leaves ticketing; None for other documents (gates match only resident IDs)."""
    out: dict[int, str | None] = {}
    for start in range(0, len(ticket_ids), 500):   # SQLite's bound on parameters
        for row in repo.ticket_documents(db, ticket_ids[start:start + 500]):
            out[row["id"]] = (digest(pii.decrypt(row["document_enc"]))
                              if row["document_type"] == "resident_id" else None)
    return out


def revocation_list(db: Database) -> list[str]:
    """Revocation keys ("ticket_id.version") of superseded or refunded codes."""
    return repo.revocation_keys(db)


def signing_key(instance_path: str | Path) -> bytes:
    """The instance's Ed25519 private key (made on first use; never leaves the server)."""
    return codes.load_or_create_signing_key(Path(instance_path))


def ticket_signing_public_key(instance_path: str | Path) -> bytes:
    """The raw Ed25519 public key gates verify codes with (also GET /api/tickets/public-key)."""
    return codes.public_key_of(signing_key(instance_path))


def ticket_code(ticket: GateTicket, private_key: bytes) -> str:
    """The QR text of a GateTicket at its current version."""
    return codes.encode(codes.TicketClaim(ticket.id, ticket.version, ticket.sites,
                                          ticket.valid_from, ticket.valid_until), private_key)


def code_for(db, ticket_id: int, private_key: bytes) -> str:
    """The current QR text of a valid ticket."""
    t = ticket_for_gate(db, ticket_id)
    if t is None or t.status != "valid":
        raise NotFound("unknown_ticket", _l("No such valid ticket."))
    return ticket_code(t, private_key)
