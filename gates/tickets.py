"""The gates' one door into ticketing: code verification and ticket lookups through
ticketing's public functions (``ticketing.codes`` and ``ticketing.services``)."""
from __future__ import annotations

from ticketing import codes


class TicketSource:
    """Verifies codes with the instance's public key and looks tickets up."""

    def __init__(self, public_key: bytes):
        self.public_key = public_key

    @classmethod
    def for_app(cls, app) -> "TicketSource":
        # Loaded on first use (not in create_app) and kept for the process.
        source = app.extensions.get("gates.ticket_source")
        if source is None:
            private = codes.load_or_create_signing_key(app.instance_path)
            source = cls(codes.public_key_of(private))
            app.extensions["gates.ticket_source"] = source
        return source

    def decode(self, code: str):
        """(claim, None) for a genuine code, else (None, reason)."""
        try:
            return codes.decode(code, self.public_key), None
        except codes.CodeError as exc:
            return None, exc.reason

    @staticmethod
    def ticket(db, ticket_id):
        """The ticket, or None when ticketing does not know it."""
        from core.errors import NotFound
        from ticketing import services
        try:
            return services.ticket_for_gate(db, ticket_id)
        except NotFound:
            return None

    @staticmethod
    def by_document(db, site_id, day, number):
        from core.errors import NotFound
        from ticketing import services
        try:
            return services.find_ticket_by_document(db, site_id, day, number)
        except NotFound:
            return None

    @staticmethod
    def valid_resident_id(number, today) -> bool:
        from core.errors import ValidationError
        from ticketing.identity import validate_resident_id
        try:
            validate_resident_id(number, today)
        except ValidationError:
            return False
        return True

    @staticmethod
    def bundle_tickets(db, site_id, day):
        from ticketing import services
        return services.tickets_for_gate_bundle(db, site_id, day)

    @staticmethod
    def revocations(db) -> list[str]:
        from ticketing import services
        return list(services.revocation_list(db))
