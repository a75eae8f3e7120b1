"""The gates' one door into tickets: code verification with the admission core and
ticket lookups through ticketing's seam (``ticketing.interface``). Services take a
TicketSource as ``tickets``, so a scan is decided the same way online and offline."""
from __future__ import annotations

from datetime import date

from admission import codes
from admission.identity import is_resident_id
from ticketing import interface as ticketing


class TicketSource:
    """Verifies codes with the instance's public key and looks tickets up."""

    def __init__(self, public_key: bytes):
        self.public_key = public_key

    @classmethod
    def for_app(cls, app) -> "TicketSource":
        # Loaded on first use (not in create_app) and kept for the process.
        source = app.extensions.get("gates.ticket_source")
        if source is None:
            source = cls(ticketing.ticket_signing_public_key(app.instance_path))
            app.extensions["gates.ticket_source"] = source
        return source

    def decode(self, code: str):
        """(claim, None) for a genuine code, else (None, reason)."""
        try:
            return codes.decode(code, self.public_key), None
        except codes.CodeError as exc:
            return None, exc.reason

    @staticmethod
    def ticket(db, ticket_id) -> ticketing.GateTicket | None:
        """The ticket, or None when ticketing does not know it."""
        return ticketing.ticket_for_gate(db, ticket_id)

    @staticmethod
    def by_document(db, site_id: str, day: date, number: str) -> ticketing.GateTicket | None:
        return ticketing.find_ticket_by_document(db, site_id, day, number)

    @staticmethod
    def valid_resident_id(number: str, today: date) -> bool:
        return is_resident_id(number, today)

    @staticmethod
    def bundle_tickets(db, site_id: str, day: date) -> list[ticketing.GateTicket]:
        return ticketing.tickets_for_gate_bundle(db, site_id, day)

    @staticmethod
    def document_digests(db, ticket_ids: list[int], digest) -> dict[int, str | None]:
        """digest(number) per ticket holder's resident ID number, made inside ticketing."""
        return ticketing.document_digests(db, ticket_ids, digest)

    @staticmethod
    def revocations(db) -> list[str]:
        return list(ticketing.revocation_list(db))
