"""Contracts of the ticketing JSON API (ticketing/api_views.py): request bodies with the
code each field is refused with, and every answer's shape.

The models check types and shapes; the rules that need the database or the clock (the
slot is the site's, the holder's document checks out, the fare applies, the price is
right) stay in the services, which the booking pages call too."""

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from admission.identity import DOCUMENT_TYPES
from catalog import interface as catalog
from core.contracts import Body, Refuse, Reply, day, whole
from core.errors import NotFound, ValidationError
from core.text import _l

from .holders import MAX_HOLDERS
from .orders import order_not_found

ROW_ID = 2 ** 31 - 1
Localized = dict[str, str]  # {"zh": ..., "en": ...}


# Refusals: the codes and messages the views answered before the contracts. Each is
# written where its field is declared; those several fields share are named here.

def _holder_of(path: str) -> dict:
    found = re.match(r"holders\[(\d+)\]", path)
    return {"holder": int(found.group(1))} if found else {}


_bad_date = Refuse(lambda path: ValidationError(
    "bad_date", _l("Give the date as YYYY-MM-DD."), details=_holder_of(path)))
_bad_holders = Refuse(lambda path: ValidationError(
    "bad_holders", _l("Add 1 to %(max_holders)s holders, each an object.",
                      max_holders=MAX_HOLDERS)))
_bad_idempotency_key = Refuse(lambda path: ValidationError(
    "bad_idempotency_key", _l("An idempotency key has 8-100 characters.")))
_bad_last4 = Refuse(lambda path: ValidationError(
    "bad_last4", _l("Give the last 4 characters of a holder's document.")))
_bad_quota = Refuse(lambda path: ValidationError("bad_quota", _l("Give a quota.")))
_pause_slot = Refuse(lambda path: ValidationError("unknown_slot", _l("Give a slot.")))

SiteId = catalog.SiteId
TicketId = whole(0, ROW_ID, lambda path: ValidationError("unknown_ticket",
                                                         _l("Give a ticket id.")))
SlotId = whole(0, ROW_ID, lambda path: ValidationError("bad_slot", _l("Give a time slot.")),
               description="A slot_id from the availability answer")
Day = day(_bad_date.error)


# --- requests ----------------------------------------------------------------------------

class HolderIn(Body):
    """One real-name holder. The document is checked (GB 11643-1999 for resident IDs) and
    the fare decided by the server; only a masked form is ever answered back."""
    refusal = _bad_holders.error
    name: Annotated[str, Field(max_length=200, description="As on the document, 1-40 "
                               "characters"),
                    Refuse(lambda path: ValidationError(
                        "bad_holder_name", _l("Give the holder's name as on the document (1-40 "
                                              "characters)."), details=_holder_of(path)))]
    document_type: Annotated[
        Literal[DOCUMENT_TYPES] | None,  # type: ignore[valid-type]
        Field(description="Default resident_id"),
        Refuse(lambda path: ValidationError(
            "bad_document_type", _l("Choose a resident ID card, a passport or a Hong Kong/"
                                    "Macao/Taiwan permit."), details=_holder_of(path)))] = None
    document_number: Annotated[str | None, Field(max_length=64), Refuse(
        lambda path: ValidationError("bad_document_number",
                                     _l("That document number has the wrong format."),
                                     details=_holder_of(path)))] = None
    fare: Annotated[str | None, Field(max_length=64, description="A fare id of the product, "
                                      "'full', or empty: the best fare the age allows"),
                    Refuse(lambda path: ValidationError(
                        "unknown_fare", _l("That fare does not apply to this ticket."),
                        details=_holder_of(path)))] = None
    birth_date: Annotated[Day | None, Field(description="Needed for age-based fares on "
                                            "documents other than resident IDs")] = None


class OrderIn(Body):
    """A booking: one slot of one day, 1-5 real-name holders. ``expected_total_fen`` is
    what the client showed; if the server's total differs the answer is 409
    ``price_mismatch`` with the server's total."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "site_id": "kongmiao", "date": "2026-07-16", "slot_id": 12, "product_id": "kongmiao",
        "holders": [{"name": "张三", "document_type": "resident_id",
                     "document_number": "11010519491231002X"}],
        "expected_total_fen": 14000}]})
    expected_total_fen: whole(0, ROW_ID, lambda path: ValidationError(
        "bad_expected_total", _l("Give the expected total in fen."))) | None = None
    date: Day
    slot_id: SlotId
    site_id: SiteId = ""
    product_id: Annotated[str, Field(max_length=64), Refuse(lambda path: NotFound(
        "unknown_product", _l("There is no such ticket type.")))] = ""
    holders: Annotated[list[HolderIn], Field(min_length=1, max_length=MAX_HOLDERS),
                       _bad_holders]
    idempotency_key: Annotated[str | None, Field(max_length=200, description="Or the "
                               "Idempotency-Key header: the same key again returns the first "
                               "order"), _bad_idempotency_key] = None
    altcha: Annotated[Any, Field(description="Online bookings: the solved proof-of-work "
                                 "challenge of GET /api/pow/challenge (the ALTCHA payload); "
                                 "the window sale needs none")] = None


class OrderHeaders(Body):
    idempotency_key: Annotated[str | None, Field(alias="Idempotency-Key", max_length=200,
                                                 description="8-100 characters"),
                               _bad_idempotency_key] = None


class RecoverIn(Body):
    """A lost link: the order number and the last 4 characters of any holder's document
    (checked first: a malformed pair is a 400 before any number is tried)."""
    last4: Annotated[str, Field(description="The last 4 characters of any holder's "
                                "document number"), _bad_last4]
    number: Annotated[str, Refuse(lambda path: order_not_found())] = ""


class RefundIn(Body):
    ticket_ids: Annotated[list[Annotated[int, Field(strict=True, ge=1, le=2 ** 62)]] | None,
                          Field(min_length=1, description="Default: every valid ticket"),
                          Refuse(lambda path: ValidationError(
                              "bad_ticket_ids", _l("ticket_ids is a list of ticket ids.")))
                          ] = None


class RebookIn(Body):
    ticket_id: TicketId
    slot_id: SlotId


class ReissueIn(Body):
    ticket_id: TicketId


class SandboxPayIn(Body):
    outcome: Annotated[Literal["succeeded", "failed"], Refuse(lambda path: ValidationError(
        "bad_outcome", _l("outcome is 'succeeded' or 'failed'.")))] = "succeeded"


class SandboxNotification(Body):
    """What the sandbox gateway posts, signed (HMAC-SHA256 of the raw body, hex) in the
    X-Sandbox-Signature header. Read by the payment provider, signature first."""
    event_id: str
    type: Literal["payment.succeeded", "payment.failed"]
    reference: str
    amount_fen: int


class ProductsQuery(Body):
    site: SiteId | None = None


class AvailabilityQuery(Body):
    date: Annotated[Day | None, Field(description="Default: today")] = None


class PauseIn(Body):
    site_id: SiteId = ""
    slot_id: whole(0, ROW_ID, _pause_slot.error, description="0 or absent: the whole "
                   "site") | None = None
    reason: Annotated[str, Field(max_length=2000), Refuse(lambda path: ValidationError(
        "reason_required", _l("Give a reason for pausing sales.")))] = ""


class ResumeIn(Body):
    site_id: SiteId = ""
    slot_id: whole(0, ROW_ID, _pause_slot.error) | None = None


class QuotaIn(Body):
    quota: whole(0, ROW_ID, _bad_quota.error, description="Online tickets")
    window_quota: whole(0, ROW_ID, _bad_quota.error, description="Tickets kept for the window")


# --- answers -----------------------------------------------------------------------------

class PublicKeyOut(Reply):
    alg: Literal["Ed25519"]
    format: Literal["raw"]
    public_key_hex: str
    public_key_b64: str


class FareOut(Reply):
    id: str
    kind: Literal["free", "discount"]
    name: Localized
    factor: float | None
    price_fen: int | None = Field(description="This product's price at this fare")
    rounding: str = Field(description="fen, floor_yuan or round_yuan")
    eligibility: list[Any] = Field(description="Alternatives, any one qualifies (age bounds, "
                                   "height, a certificate...)")
    proof_possible: bool
    confirmed: bool
    source: str


class PricePeriod(Reply):
    start: str | None
    end: str | None
    price_fen: int | None
    fares_fen: dict[str, Any] | None
    source: str | None


class ProductOut(Reply):
    id: str
    sites: list[str]
    name: Localized
    price_fen: int
    valid_days: int | None
    since: str | None
    source: str
    notes: dict[str, Any]
    price_periods: list[PricePeriod] = Field(description="Seasonal or dated prices")
    fares: list[FareOut]


class ProductsOut(Reply):
    products: list[ProductOut]


class CalendarDay(Reply):
    date: str = Field(examples=["2026-07-16"])
    open: bool
    over: bool = Field(description="Every slot of the day has ended (the page reads "
                       "'Closed', not 'Sold out')")
    left: int
    paused: bool
    closed_reason: Localized | None = Field(description="Why the site is closed that day")


class CalendarOut(Reply):
    site_id: str
    days: list[CalendarDay]


class SlotOut(Reply):
    slot_id: int
    start: str
    end: str
    quota: int
    sold: int
    held: int
    left: int
    paused: bool
    window_quota: int
    window_sold: int
    window_left: int
    closed: bool = Field(description="The site (or the slot's hours) closed by an exception")


class AvailabilityOut(Reply):
    site_id: str
    date: str
    paused: bool
    slots: list[SlotOut]


class TicketOut(Reply):
    id: int
    version: int
    product_id: str
    product_name: Localized
    fare_id: str
    fare_name: Localized
    price_fen: int
    proof_required: bool
    status: Literal["pending", "valid", "refunded", "expired"]
    holder: str = Field(description="Masked name")
    document_type: str
    document: str = Field(description="Masked number, e.g. 3701**********123X")
    slot_id: int
    slot_start: str
    slot_end: str
    valid_from: str
    valid_until: str
    closed_reason: Localized | None = Field(description="Its day closed by an exception: "
                                            "refundable at any time")
    code: str | None = Field(None, description="The signed e-ticket code (QR text) of a "
                             "valid ticket")


class OrderOut(Reply):
    number: str
    status: Literal["held", "paid", "expired", "refunded"]
    site_id: str
    date: str
    channel: Literal["online", "window"]
    total_fen: int
    hold_expires_at: str | None
    created_at: str
    paid_at: str | None
    tickets: list[TicketOut]
    payment_url: str | None = None
    payment_start: str | None = Field(None, description="POST here to get the checkout URL "
                                      "(an order held for payment)")
    secret: str | None = Field(None, description="The order's secret, only in the answer "
                               "that made or recovered the order: send it as X-Order-Secret")
    url: str | None = Field(None, description="The order's page (its address holds the "
                            "secret)")


class CheckoutOut(Reply):
    checkout_url: str
    reference: str


class OutcomeOut(Reply):
    ok: bool
    outcome: str


class RevocationsOut(Reply):
    revoked: list[str] = Field(description="Revocation keys of withdrawn codes")


class PauseOut(Reply):
    site_id: str
    slot_id: int = Field(description="0: the whole site")
    actor: str
    reason: str
    at: str
    today_only: bool = Field(description="The crowd monitor's pause: it stops sales of "
                                         "today's slots only; a staff pause stops every day")


class DayTotals(Reply):
    quota: int
    sold: int
    held: int
    left: int
    window_quota: int
    window_sold: int


class StaffDayOut(Reply):
    site_id: str
    date: str
    pauses: list[PauseOut]
    slots: list[SlotOut]
    totals: DayTotals


class PausedOut(Reply):
    ok: bool
    paused: bool


class OkOut(Reply):
    ok: bool
