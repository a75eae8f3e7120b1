"""Payment providers. Order logic talks to ``PaymentProvider`` only, so a WeChat Pay or
Alipay adapter fits beside the sandbox without touching orders: write a class with the
protocol's methods, register a factory under a name in ``ADAPTERS`` and set
``TICKETING_PAYMENT_PROVIDER`` to that name (docs/ticketing.md, "Payment providers").

The sandbox is a stand-in for development and tests: anyone may press its "visitor paid"
button, so with ``ENV=production`` start-up refuses it (``check_provider_setting``).

The sandbox behaves like the real gateways: the visitor pays on the gateway's page, and
the gateway later sends an HMAC-SHA256-signed notification to our webhook; it may send
it twice or out of order, which the order logic must shrug off.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Protocol

from core.errors import ConfigError


@dataclass(frozen=True)
class Charge:
    """A charge the gateway opened: its reference and the page where the visitor pays."""
    reference: str
    checkout_url: str


class BadSignature(Exception):
    """A notification whose signature does not verify."""


@dataclass(frozen=True)
class Notification:
    """What a gateway's signed notification says happened to a charge."""
    event_id: str
    type: str            # payment.succeeded | payment.failed
    reference: str
    amount_fen: int


class BadNotification(Exception):
    """A notification that verifies but cannot be read."""


class PaymentProvider(Protocol):
    """What ticketing needs of a payment gateway. ``parse_notification`` verifies the
    gateway's signature (raising BadSignature) before it reads anything."""
    name: str

    def create_charge(self, order_number: str, amount_fen: int) -> Charge: ...

    def checkout_url_for(self, reference: str) -> str: ...

    def parse_notification(self, body: bytes, headers) -> Notification: ...

    def query_status(self, reference: str) -> str | None: ...   # created|succeeded|failed

    def refund(self, reference: str, amount_fen: int) -> str: ...


SIGNATURE_HEADER = "X-Sandbox-Signature"
TYPES = ("payment.succeeded", "payment.failed")


class SandboxProvider:
    """A gateway double with the real ones' habits (signed, asynchronous, repeatable)."""

    name = "sandbox"

    def __init__(self, secret: bytes, checkout_url_for=lambda ref: f"/ticketing/sandbox/pay/{ref}",
                 status_of=lambda ref: None):
        self.secret = secret
        self.checkout_url_for = checkout_url_for
        self.status_of = status_of      # the sandbox's ledger is our own payments table

    def query_status(self, reference: str) -> str | None:
        return self.status_of(reference)

    def create_charge(self, order_number: str, amount_fen: int) -> Charge:
        ref = "SBX" + secrets.token_hex(10).upper()
        return Charge(ref, self.checkout_url_for(ref))

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def notification(self, reference: str, kind: str, amount_fen: int) -> tuple[bytes, str]:
        """The body and signature the sandbox gateway sends for an event."""
        body = json.dumps({"event_id": "EV" + secrets.token_hex(8).upper(), "type": kind,
                           "reference": reference, "amount_fen": amount_fen},
                          separators=(",", ":")).encode()
        return body, self.sign(body)

    def parse_notification(self, body: bytes, headers) -> Notification:
        sent = (headers.get(SIGNATURE_HEADER) or "").strip()
        if not sent or not hmac.compare_digest(sent, self.sign(body)):
            raise BadSignature()
        try:
            data = json.loads(body)
            note = Notification(str(data["event_id"]), str(data["type"]), str(data["reference"]),
                                data["amount_fen"])
        except (ValueError, KeyError, TypeError):
            raise BadNotification() from None
        if note.type not in TYPES or isinstance(note.amount_fen, bool) \
                or not isinstance(note.amount_fen, int):
            raise BadNotification()
        return note

    def refund(self, reference: str, amount_fen: int) -> str:
        return "SBR" + secrets.token_hex(10).upper()


def sandbox_secret(secret_key: str) -> bytes:
    """The sandbox's shared webhook secret, derived from the app's SECRET_KEY."""
    return hmac.new(secret_key.encode(), b"ticketing-sandbox-webhook", hashlib.sha256).digest()


# Adapters by the name TICKETING_PAYMENT_PROVIDER gives: factory(config, **hooks) -> provider.
# A real gateway's adapter registers itself here (e.g. ADAPTERS["wechatpay"] = ...).
ADAPTERS = {
    "sandbox": lambda config, **hooks: SandboxProvider(sandbox_secret(config["SECRET_KEY"]),
                                                       **hooks),
}


def check_provider_setting(config) -> None:
    """Refuse an unknown adapter, and the sandbox in production (anyone could pay there)."""
    name = config["TICKETING_PAYMENT_PROVIDER"]
    if name not in ADAPTERS:
        raise ConfigError("TICKETING_PAYMENT_PROVIDER", f"no payment adapter named {name!r}; known: "
            f"{', '.join(sorted(ADAPTERS))}")
    if name == "sandbox" and config["ENV"] == "production":
        raise ConfigError(
            "TICKETING_PAYMENT_PROVIDER", "the sandbox payment gateway lets anyone mark "
            "an order paid, so it is refused with ENV=production. Configure a real payment "
            "provider's adapter (register it in ticketing.providers.ADAPTERS and set "
            "TICKETING_PAYMENT_PROVIDER, e.g. SCENIC_TICKETING_PAYMENT_PROVIDER=wechatpay; "
            "see docs/ticketing.md, 'Payment providers'), or run with ENV=development.")
