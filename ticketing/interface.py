"""Ticketing's seam: what other domains may use of slots, sales pauses and tickets.

Other domains import this module only (``from ticketing import interface as ticketing``);
tests/test_layers.py enforces it. Codes, the site bitmask and ID-number checks are not
here: they are the admission core's (``admission``), which gates and turnstiles share.
"""
from .gate_feed import (GateTicket, document_digests, find_ticket_by_document, revocation_list,
                        ticket_for_gate, ticket_signing_public_key, tickets_for_gate_bundle)
from .quota import MONITOR, SlotAvailability, availability, pause_sales, resume_sales
from .sales_feed import SlotSales, slot_sales

__all__ = [
    # slots and pauses (the guide shows what is left; the crowd monitor pauses sales)
    "SlotAvailability", "availability", "MONITOR", "pause_sales", "resume_sales",
    # tickets as the gates see them
    "GateTicket", "ticket_for_gate", "tickets_for_gate_bundle", "find_ticket_by_document",
    "document_digests",
    "revocation_list", "ticket_signing_public_key",
    # sales per slot with when each ticket was sold (the crowd forecast)
    "SlotSales", "slot_sales",
]
