"""Ticketing settings (read by core.config.load_config). The booking limits are explained,
with the reasons for each number, in docs/ticketing.md ("Fair booking under bots")."""
from core.config import Setting, fraction, positive, rate_limits

SETTINGS = [
    Setting("TICKETING_HOLD_MINUTES", int, 15,
            "Minutes a visitor's unpaid hold keeps its tickets before they return to sale",
            positive),
    Setting("TICKETING_DAYS_AHEAD", int, 7, "How many days ahead (today included) can be booked",
            lambda v: None if 1 <= v <= 60 else "must be 1 to 60"),
    Setting("TICKETING_PAYMENT_PROVIDER", str, "sandbox",
            "Payment provider adapter (ticketing.providers.ADAPTERS; only 'sandbox' ships, and "
            "it is refused when ENV is production)"),
    Setting("TICKETING_SANDBOX_DELIVERY", str, "inline",
            "How the sandbox gateway delivers its notifications: inline (at once, in-process) "
            "or outbox (later, over HTTP, by 'flask ticketing sandbox-deliver')",
            choices=("inline", "outbox")),
    # --- fair booking under bots (per client = per address, after the trusted proxy) ---
    Setting("TICKETING_BOOKINGS_PER_CLIENT", str, "10/minute;60/hour;200/day",
            "Order-creation requests one address may make (API and booking page together)",
            rate_limits),
    Setting("TICKETING_CLIENT_SLOT_TICKETS", str, "10/day",
            "Tickets one address may book in one time slot", rate_limits),
    Setting("TICKETING_CLIENT_HOLDS", str, "20/hour;40/day",
            "Unpaid held tickets one address may create", rate_limits),
    Setting("TICKETING_CLIENT_FREE_TICKETS", str, "10/day",
            "Free tickets one address may book", rate_limits),
    Setting("TICKETING_DOCUMENT_BOOKINGS", str, "5/day",
            "Holds and free tickets one document number may get (a lapsed hold cannot be "
            "renewed for ever)", rate_limits),
    Setting("TICKETING_DOCUMENT_FREE_DAYS", int, 2,
            "Future days with a free ticket one document may hold at one site", positive),
    Setting("TICKETING_HOLDER_REFUSALS_PER_CLIENT", str, "5/day",
            "'Holder unavailable' answers one address may get before it must wait",
            rate_limits),
    Setting("TICKETING_SLOT_HELD_SHARE", float, 0.5,
            "Largest share of a slot's online quota that unpaid holds may take", fraction),
    Setting("TICKETING_SLOT_FREE_SHARE", float, 0.5,
            "Largest share of a slot's online quota that free tickets booked online may take",
            fraction),
    Setting("TICKETING_RECOVERY_PER_CLIENT", str, "10/hour;30/day",
            "'Find my order' attempts (number + last 4) one address may make", rate_limits),
    Setting("TICKETING_RECOVERY_FAILURES_PER_ORDER", str, "5/hour;10/day",
            "Wrong 'find my order' attempts on one order number before it is locked",
            rate_limits),
    Setting("TICKETING_ACTIONS_PER_ORDER", str, "30/hour",
            "Payment starts, refunds, rebookings and new codes on one order", rate_limits),
]
