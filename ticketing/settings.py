"""Ticketing settings (read by core.config.load_config)."""
from core.config import Setting, positive

SETTINGS = [
    Setting("TICKETING_HOLD_MINUTES", int, 15,
            "Minutes a visitor's unpaid hold keeps its tickets before they return to sale",
            positive),
    Setting("TICKETING_DAYS_AHEAD", int, 7, "How many days ahead (today included) can be booked",
            lambda v: None if 1 <= v <= 60 else "must be 1 to 60"),
    Setting("TICKETING_PAYMENT_PROVIDER", str, "sandbox", "Payment provider adapter",
            choices=("sandbox",)),
    Setting("TICKETING_SANDBOX_DELIVERY", str, "inline",
            "How the sandbox gateway delivers its notifications: inline (at once, in-process) "
            "or outbox (later, over HTTP, by 'flask ticketing sandbox-deliver')",
            choices=("inline", "outbox")),
]
