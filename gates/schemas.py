"""Contracts of the gates' JSON API (gates/views.py): scans online, from handhelds and
uploaded by offline gates, the offline bundle, people inside and counts.

The models check each field; the rules across fields (a code or an ID number, never
both; the method matches the field; an offline scan's time lies in the allowed window)
stay in gates/services.py, beside the decision they feed."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SkipValidation

from admission.rules import REASONS
from catalog import interface as catalog
from core.contracts import Body, Refuse, Reply, day, moment
from core.errors import DomainError, NotFound, ValidationError
from core.text import _l

NONCE_PATTERN = r"^[A-Za-z0-9_.:\-]{1,100}$"
MAX_CODE_CHARS = 512

Localized = dict[str, str]  # {"zh": ..., "en": ...}


# Refusals: the codes and messages the views and services answered before the contracts,
# written where their fields are declared.

_bad_code = Refuse(lambda path: DomainError("bad_code", _l("'code' must be text.")))
_bad_time = Refuse(lambda path: DomainError(
    "bad_time", _l("'%(path)s' must be an ISO 8601 time with its UTC offset, e.g. "
                   "2026-07-15T10:00:00+08:00.", path=path)))
Nonce = Annotated[str, Field(pattern=NONCE_PATTERN, description="Unique per scan: the same "
                             "nonce again returns the first answer"),
                  Refuse(lambda path: DomainError(
                      "bad_nonce", _l("'nonce' must be 1-100 letters, digits or _ . : - , "
                                      "unique per scan.")))]
Direction = Annotated[Literal["entry", "exit"], Refuse(lambda path: DomainError(
    "bad_direction", _l("'direction' must be 'entry' or 'exit'.")))]
Moment = moment(_bad_time.error)


# --- requests ----------------------------------------------------------------------------

class ScanIn(Body):
    """One scan: the QR text in ``code``, or a resident ID number in ``document`` (the
    ID-card fallback; an ID number sent as ``code`` is taken as one)."""
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"nonce": "g1-20260715-000123", "direction": "entry", "code": "TK1…(120 characters)"},
        {"nonce": "g1-20260715-000124", "direction": "entry", "document": "11010519491231002X",
         "method": "document"}]})
    direction: Direction = "entry"
    nonce: Nonce
    code: Annotated[str | None, Field(description="The QR code's text"), _bad_code] = None
    document: Annotated[str | None, Field(max_length=40), Refuse(lambda path: DomainError(
        "bad_document", _l("'document' must be an ID number (text).")))] = None
    method: Annotated[Literal["code", "photo", "document"] | None,
                      Field(description="Default: code, or document for an ID number"),
                      Refuse(lambda path: DomainError(
                          "bad_method", _l("'method' must be 'code', 'photo' or 'document' and "
                                           "match the field sent.")))] = None
    scanned_at: Annotated[Moment | None, Field(description="When the gate read it (default: "
                                               "when the server receives it)")] = None


class HandheldScanIn(ScanIn):
    gate_id: Annotated[int | None, Field(strict=True, ge=1, le=2 ** 62,
                                         description="The gate the staff member stands at"),
                       Refuse(lambda path: NotFound("unknown_gate",
                                                    _l("There is no such gate.")))] = None


class OfflineScanIn(Body):
    """A scan an offline gate decided alone, uploaded later. A bad one is answered in its
    result (``status: invalid`` with the code), not by refusing the upload."""
    not_an_object = staticmethod(lambda path: DomainError(
        "bad_scan", _l("Each scan must be a JSON object.")))
    nonce: Nonce
    direction: Direction
    scanned_at: Annotated[Moment, Field(description="Within GATES_OFFLINE_MAX_AGE_DAYS")]
    result: Annotated[Literal["allow", "deny"], Refuse(lambda path: DomainError(
        "bad_result", _l("'result' must be 'allow' or 'deny'.")))]
    reason: Annotated[str | None, Field(max_length=40, description="Required when denied"),
                      Refuse(lambda path: DomainError(
                          "bad_reason", _l("A denied scan needs its 'reason'.")))] = None
    code: Annotated[str | None, Field(max_length=MAX_CODE_CHARS), _bad_code] = None
    ticket_id: Annotated[int | None, Field(strict=True, ge=1, description="For an ID-number "
                                           "scan matched against the bundle"),
                         Refuse(lambda path: DomainError("bad_ticket_id",
                                                         _l("'ticket_id' must be a positive "
                                                            "whole number.")))] = None


class OfflineScansIn(Body):
    # Items are checked one by one (services.parse_offline_scan): a bad scan is reported
    # in its result and the others are still recorded.
    scans: Annotated[list[SkipValidation[OfflineScanIn]],
                     Field(min_length=1, description="At most GATES_OFFLINE_BATCH_MAX (500)"),
                     Refuse(lambda path: ValidationError("bad_scans",
                                                         _l('Send {"scans": [...]} with at least '
                                                            "one scan.")))]


class SiteQuery(Body):
    site: catalog.SiteId = ""


CountDay = day(lambda path: ValidationError("bad_day",
                                            _l("'day' must be a date like 2026-07-15.")))


class CountsQuery(SiteQuery):
    day: Annotated[CountDay | None, Field(description="Default: today")] = None


# --- answers -----------------------------------------------------------------------------

class SlotTimes(Reply):
    start: str | None
    end: str | None


class ScannedTicket(Reply):
    id: int
    type: Localized
    holder: str = Field(description="Masked name")
    slot: SlotTimes | None
    proof: Localized | None = Field(description="The fare whose proof (height, a student "
                                    "card...) the officer checks")


class ScanOut(Reply):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"result": "allow", "reason": None, "inside": 812,
         "ticket": {"id": 1042, "type": {"zh": "孔庙门票", "en": "Temple of Confucius"},
                    "holder": "张*", "slot": {"start": "2026-07-15T10:00:00+08:00",
                                             "end": "2026-07-15T11:00:00+08:00"}}}]})
    result: Literal["allow", "deny"]
    reason: Literal[REASONS] | None = Field(  # type: ignore[valid-type]
        description="Why a scan was denied")
    ticket: ScannedTicket | None
    inside: int = Field(description="People inside the site after this scan")


class OfflineResult(Reply):
    nonce: str | None
    status: Literal["recorded", "conflict", "duplicate", "nonce_conflict", "invalid"]
    conflict: Literal["double_admission", "rule_mismatch"] | None = None
    error: str | None = Field(None, description="Why an invalid scan was not recorded: the "
                              "code a field of OfflineScanIn is refused with")


class OfflineResultsOut(Reply):
    results: list[OfflineResult]


class BundleGate(Reply):
    id: int
    site: str
    name: str
    direction: Literal["entry", "exit", "both"]
    place: str | None = Field(description="The entrance it stands at (its hours apply)")


class BundleTicket(Reply):
    id: int
    version: int
    product: str
    type: Localized
    sites: list[str]
    status: str
    holder: str
    document_digest: str | None = Field(description="scrypt digest of the holder's resident "
                                        "ID number under the day's document_key (null: none, "
                                        "or not computed yet)")
    slot_start: str | None
    slot_end: str | None
    valid_from: str | None
    valid_until: str | None
    reentry_allowed: bool
    max_entries_per_site: int
    proof: Localized | None
    entries: int
    inside: bool


class BundleRules(Reply):
    early_minutes: int
    late_minutes: int


class BundleHours(Reply):
    open: str
    close: str
    last_entry: str | None


class BundleKdf(Reply):
    alg: Literal["scrypt"]
    n: int
    r: int
    p: int


class BundleOut(Reply):
    """Everything an offline gate needs for today (admission.codes verifies codes with
    ``public_key``; documents are matched by a digest under the site's key of the day, never
    by number: gates/bundle.py)."""
    format: Literal[2]
    generated_at: str
    day: str
    timezone: str
    gate: BundleGate
    public_key: str
    revocations: list[str]
    rules: BundleRules
    hours: BundleHours | None
    closed_reason: Localized | None
    entry_windows: list[list[str]] = Field(description="[[start, end], ...]: entries are "
                                           "admitted only inside these")
    closing_at: str | None
    tickets: list[BundleTicket]
    document_key: str | None = Field(description="This site's key for this day (hex; null "
                                     "when bundles carry no document digests)")
    document_kdf: BundleKdf | None
    documents_pending: int = Field(description="Tickets whose digest is not computed yet: "
                                   "matched online only")


class InsideOut(Reply):
    site: str
    inside: int
    instant_capacity: int
    at: str


class MinuteCount(Reply):
    minute: str
    entries: int
    exits: int
    checkouts: int


class CountsOut(Reply):
    site: str
    day: str
    minutes: list[MinuteCount]
    inside: int


class PhotoUpload(Body):
    photo: bytes = Field(description="A photo of the e-ticket (PNG, JPEG, WebP...)",
                         json_schema_extra={"format": "binary"})


class PhotoOut(Reply):
    code: str = Field(description="The QR code's text, to send to /api/gate/handheld-scan")

