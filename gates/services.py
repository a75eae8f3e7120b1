"""Gate services: gates and their device accounts, scans (online, handheld and uploaded
from offline gates), admissions, people inside, check-out at closing time, the audit and
conflicts. Plain functions with explicit inputs. The offline bundle is gates/bundle.py."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from admission.rules import Presence, Rules, decide
from catalog import interface as catalog
from core.auth import create_device
from core.clock import Clock, iso
from core.db import Database, immediate
from core.contracts import validate
from core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from core.pii import mask_document, normalize_document
from core.text import _l

from . import repo
from .schemas import MAX_CODE_CHARS, OfflineScanIn, ScanIn

GATE_DIRECTIONS = ("entry", "exit", "both")
ID_NUMBER_RE = re.compile(r"^\d{17}[\dXx]$")
MAX_NAME_CHARS = 60


@dataclass(frozen=True)
class Gate:
    id: int
    site_id: str
    name: str
    direction: str
    user_id: int
    place_id: str | None = None   # the entrance it stands at (its hours apply), if any

    def allows(self, direction: str) -> bool:
        return self.direction == "both" or self.direction == direction

    def to_json(self) -> dict:
        return {"id": self.id, "site": self.site_id, "name": self.name,
                "direction": self.direction, "place": self.place_id}


@dataclass(frozen=True)
class ScanRequest:
    """One scan as a gate sent it: a QR code or an ID number, never both."""
    direction: str
    nonce: str
    code: str | None = None
    document: str | None = None
    scanned_at: datetime | None = None
    method: str = "code"


def _gate(row) -> Gate:
    return Gate(row["id"], row["site_id"], row["name"], row["direction"], row["user_id"],
                row["place_id"])


def _minute(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M")


# --- gates ---------------------------------------------------------------------

def create_gate(db, *, site_id: str, name: str, direction: str, clock,
                place_id: str | None = None) -> tuple[Gate, str]:
    """Register a gate at a site (and, optionally, one of its entrances) with its own
    device account; returns (gate, token). The token is shown once and stored only as a
    hash."""
    site = catalog.get_site(db, site_id)
    place_id = place_id or None
    if place_id is not None and (site.place(place_id) is None
                                 or site.place(place_id).kind != "entrance"):
        raise NotFound("unknown_place", _l("Site '%(site_id)s' has no entrance '%(place_id)s'.",
                                           site_id=site_id, place_id=place_id))
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise ValidationError("bad_gate_name", _l("Give the gate a name of 1-%(max_name_chars)s "
                                                  "characters.", max_name_chars=MAX_NAME_CHARS))
    if direction not in GATE_DIRECTIONS:
        raise ValidationError("bad_direction", _l("A gate's direction is entry, exit or both."))
    if repo.gate_by_name(db, site_id, name) is not None:
        raise Conflict("gate_exists", _l("This site already has a gate with that name."))
    with immediate(db):
        seq = len(repo.list_gates(db)) + 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:20] or "gate"
        username = f"gate-{site_id}-{slug}-{seq}"
        user, token = create_device(db, username=username, role="gate", clock=clock,
                                    label=f"{site_id}/{name}")
        gate_id = repo.insert_gate(db, site_id=site_id, name=name, direction=direction,
                                   user_id=user.id, created_at=iso(clock.now()),
                                   place_id=place_id)
    return Gate(gate_id, site_id, name, direction, user.id, place_id), token


def gate_for_device(db, user) -> Gate:
    """The gate a device account belongs to; Forbidden('not_a_gate') if none."""
    row = repo.gate_by_user(db, user.id)
    if row is None:
        raise Forbidden("not_a_gate", _l("This device token is not registered to a gate."))
    return _gate(row)


def get_gate(db, gate_id) -> Gate:
    row = repo.gate_by_id(db, gate_id) if isinstance(gate_id, int) else None
    if row is None:
        raise NotFound("unknown_gate", _l("There is no such gate."))
    return _gate(row)


def list_gates(db, site_id: str | None = None) -> list[Gate]:
    return [_gate(r) for r in repo.list_gates(db, site_id)]


# --- parsing (each field is checked by its contract in gates/schemas.py) --------------

def parse_scan(data: ScanIn, tz) -> ScanRequest:
    """A scan request from its checked fields: a code or an ID number, never both, and a
    method that matches the field; DomainError with a stable code otherwise."""
    code, document = data.code, data.document
    if (code is None) == (document is None):
        raise DomainError("code_or_document", _l("Send either 'code' (the QR text) or 'document' "
                                                 "(a resident ID number), not both."))
    if code is not None and ID_NUMBER_RE.match("".join(code.split())):
        # An ID number typed or scanned into the code field (a ticket code is 120
        # characters starting "TK"): the ID-card fallback.
        code, document = None, code
    method = data.method or ("code" if code is not None else "document")
    if method == "code" and document is not None and data.code is not None:
        method = "document"
    if (document is not None) != (method == "document"):
        raise DomainError("bad_method", _l("'method' must be 'code', 'photo' or 'document' and "
                                           "match the field sent."))
    scanned = data.scanned_at.astimezone(tz) if data.scanned_at is not None else None
    return ScanRequest(direction=data.direction, nonce=data.nonce, code=code,
                       document=document, scanned_at=scanned, method=method)


def _input_hash(req_code, document, hash_key: str) -> str:
    if document is not None:
        return "d:" + hmac.new(hash_key.encode(), normalize_document(document).encode(),
                               hashlib.sha256).hexdigest()
    return "c:" + hashlib.sha256("".join(str(req_code).split()).upper().encode()).hexdigest()


# --- check-out at closing time -------------------------------------------------

def entry_windows(db, gate: Gate, day: date, tz) -> tuple:
    """When the gate's entrance (or its site) admits on a day: opening to last entry,
    exceptions staff entered applied (catalog's hours)."""
    window = catalog.hours_on(db, gate.site_id, day, gate.place_id).entry_window(tz)
    return (window,) if window else ()


def _checkout_due(db, site, now) -> datetime | None:
    boundary = catalog.last_closing(db, site.id, now)
    if boundary is None:
        return None
    row = repo.occupancy(db, site.id)
    if row is not None and row["last_checkout_at"] and row["last_checkout_at"] >= iso(boundary):
        return None
    return boundary


def _check_out(db, site, now) -> int:
    """Inside a write transaction: check everyone out if a closing time has passed."""
    boundary = _checkout_due(db, site, now)
    if boundary is None:
        return 0
    repo.check_out_presence(db, site.id, iso(boundary))
    n = repo.reset_occupancy(db, site.id, iso(boundary), iso(now))
    if n:
        repo.add_count(db, site_id=site.id, minute=_minute(boundary), checkouts=n)
    return n


def check_out_at_closing(db, site_id: str, clock: Clock) -> int:
    """Check everyone out of a site whose closing time has passed; returns how many.
    Safe to run any number of times (done lazily by scans and people_inside too)."""
    site = catalog.get_site(db, site_id)
    now = clock.now()
    if _checkout_due(db, site, now) is None:
        return 0
    with immediate(db):
        return _check_out(db, site, now)


def people_inside(db: Database, site_id: str, clock: Clock) -> int:
    """People inside a site now: entries - exits, reset by the check-out at closing."""
    check_out_at_closing(db, site_id, clock)
    row = repo.occupancy(db, site_id)
    return row["inside"] if row else 0


def inside_now(db: Database, clock: Clock) -> int:
    """People inside every site now (the console's figure)."""
    return sum(people_inside(db, site.id, clock) for site in catalog.list_sites(db))


def _inside(db, site_id) -> int:
    row = repo.occupancy(db, site_id)
    return row["inside"] if row else 0


# --- scanning ------------------------------------------------------------------

def _ticket_json(ticket) -> dict | None:
    if ticket is None:
        return None
    slot = None
    if ticket.slot_start is not None:
        slot = {"start": as_text(ticket.slot_start), "end": as_text(ticket.slot_end)}
    return {"id": ticket.id, "type": ticket.type_name, "holder": ticket.holder_masked,
            "slot": slot, "proof": ticket.proof}


def as_text(value):
    """ISO text of a date or datetime (other values as text; None stays None)."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _apply_passage(db, *, scan_id, gate: Gate, ticket_id: str, direction: str, at: datetime,
                   now: datetime, counted: bool, conflict: bool) -> None:
    """Write an allowed passage: presence, passage row, per-minute count, occupancy.
    ``counted`` is False for offline passages from before the last check-out."""
    at_text = iso(at)
    if direction == "entry":
        entry_no = repo.record_entry(db, ticket_id=ticket_id, site_id=gate.site_id, at=at_text,
                                     inside=counted)
        repo.insert_passage(db, scan_id=scan_id, ticket_id=ticket_id, site_id=gate.site_id,
                            gate_id=gate.id, direction="entry",
                            entry_no=None if conflict else entry_no, at=at_text)
        repo.add_count(db, site_id=gate.site_id, minute=_minute(at), entries=1)
        if counted:
            repo.add_occupancy(db, gate.site_id, 1, iso(now))
    else:
        repo.record_exit(db, ticket_id=ticket_id, site_id=gate.site_id, at=at_text)
        repo.insert_passage(db, scan_id=scan_id, ticket_id=ticket_id, site_id=gate.site_id,
                            gate_id=gate.id, direction="exit", entry_no=None, at=at_text)
        repo.add_count(db, site_id=gate.site_id, minute=_minute(at), exits=1)
        if counted:
            repo.subtract_occupancy(db, gate.site_id, 1, iso(now))


def _presence(db, ticket_id, site_id) -> Presence:
    row = repo.presence(db, ticket_id, site_id)
    return Presence(row["entries"], bool(row["inside"])) if row else Presence()


def _resolve(db, tickets, req: ScanRequest, site_id: str, today: date):
    """(ticket, claim_version, reason) for a scan's code or ID number."""
    if req.document is not None:
        if not tickets.valid_resident_id(req.document, today):
            return None, None, "invalid_code"
        return tickets.by_document(db, site_id, today, req.document), None, None
    if len(req.code) > MAX_CODE_CHARS:
        return None, None, "invalid_code"
    claim, reason = tickets.decode(req.code)
    if reason:
        return None, None, reason
    return tickets.ticket(db, claim.ticket_id), claim.version, None


def scan(db, gate: Gate, req: ScanRequest, *, clock, rules: Rules, tickets, hash_key: str,
         source: str = "online") -> dict:
    """Decide one scan at a gate and record it, admitting a ticket at most once even when
    gates race (the check and the write share one BEGIN IMMEDIATE transaction). The same
    nonce again returns the first answer; with another code it is a 409 nonce_reused."""
    if not gate.allows(req.direction):
        raise DomainError("direction_not_allowed", _l("This gate is for %(direction)s only.",
                                                      direction=gate.direction))
    input_hash = _input_hash(req.code, req.document, hash_key)
    now = clock.now()
    site = catalog.get_site(db, gate.site_id)
    with immediate(db):
        prior = repo.scan_by_nonce(db, gate.id, req.nonce)
        if prior is not None:
            return _replay(prior, input_hash, req.direction)
        _check_out(db, site, now)
        ticket, claim_version, reason = _resolve(db, tickets, req, gate.site_id, now.date())
        ticket_id = str(ticket.id) if ticket is not None else None
        presence = _presence(db, ticket_id, gate.site_id) if ticket_id else Presence()
        if reason is None:
            reason = decide(ticket, gate.site_id, req.direction, now, presence, rules,
                            claim_version=claim_version,
                            entry_windows=entry_windows(db, gate, now.date(), now.tzinfo))
        allow = reason is None
        inside = _inside(db, gate.site_id)
        if allow:
            inside = inside + 1 if req.direction == "entry" else max(inside - 1, 0)
        response = {"result": "allow" if allow else "deny", "reason": reason,
                    "ticket": _ticket_json(ticket), "inside": inside}
        scan_id = repo.insert_scan(
            db, gate_id=gate.id, site_id=gate.site_id, nonce=req.nonce, input_hash=input_hash,
            method=req.method, source=source, direction=req.direction, ticket_id=ticket_id,
            result="allow" if allow else "deny", reason=reason,
            holder_masked=ticket.holder_masked if ticket is not None else None,
            document_masked=mask_document(req.document) if req.document is not None else None,
            scanned_at=iso(req.scanned_at or now), received_at=iso(now),
            response_json=json.dumps(response, ensure_ascii=False))
        if allow:
            _apply_passage(db, scan_id=scan_id, gate=gate, ticket_id=ticket_id,
                           direction=req.direction, at=now, now=now, counted=True,
                           conflict=False)
    return response


def _replay(prior, input_hash: str, direction: str) -> dict:
    if prior["input_hash"] != input_hash or prior["direction"] != direction:
        raise Conflict("nonce_reused", _l("This nonce was already used for a different scan; "
                                          "send a new nonce for every scan."))
    return json.loads(prior["response_json"])


# --- offline gates -------------------------------------------------------------

@dataclass(frozen=True)
class OfflineScan:
    """A scan a gate decided on its own while the server was out of reach."""
    nonce: str
    direction: str
    scanned_at: datetime
    result: str
    reason: str | None
    code: str | None = None
    ticket_id: int | None = None   # for ID-number scans matched against the bundle
    method: str = "code"


def parse_offline_scan(item, tz, now: datetime, max_age_days: int) -> OfflineScan:
    """One uploaded scan, its fields checked by OfflineScanIn's contract and its time and
    fields checked together here; DomainError with a stable code."""
    scan = validate(OfflineScanIn, item)
    at = scan.scanned_at.astimezone(tz)
    if at > now + timedelta(minutes=5) or at < now - timedelta(days=max_age_days):
        raise DomainError("bad_time", _l("'scanned_at' must lie within the last %(max_age_days)s "
                                         "days.", max_age_days=max_age_days))
    nonce, direction, result, reason = scan.nonce, scan.direction, scan.result, scan.reason
    if result == "deny" and not reason:
        raise DomainError("bad_reason", _l("A denied scan needs its 'reason'."))
    if result == "allow":
        reason = None
    code, ticket_id = scan.code, scan.ticket_id
    method = "code"
    if code is not None:
        if ticket_id is not None:
            raise DomainError("code_or_document", _l("Send 'code' or 'ticket_id', not both."))
    elif ticket_id is not None:
        method = "document"
    elif result == "allow":
        raise DomainError("code_or_document", _l("An allowed scan needs its 'code' or "
                                                 "'ticket_id'."))
    else:
        method = "document"  # a denied ID number that matched nothing
    return OfflineScan(nonce, direction, at, result, reason, code, ticket_id, method)


def record_offline_scans(db, gate: Gate, items: list, *, clock, rules: Rules, tickets,
                         hash_key: str, max_age_days: int) -> list[dict]:
    """Record scans an offline gate decided, each once (by nonce). Allowed passages are
    counted as they happened; where the server would have denied them (one ticket
    admitted at two offline gates, a revoked ticket...) a conflict is flagged for staff."""
    now = clock.now()
    site = catalog.get_site(db, gate.site_id)
    out = []
    for item in items:
        try:
            s = parse_offline_scan(item, now.tzinfo, now, max_age_days)
        except DomainError as exc:
            nonce = item.get("nonce") if isinstance(item, dict) else None
            out.append({"nonce": nonce if isinstance(nonce, str) else None,
                        "status": "invalid", "error": exc.code})
            continue
        if not gate.allows(s.direction):
            out.append({"nonce": s.nonce, "status": "invalid", "error": "direction_not_allowed"})
            continue
        out.append(_record_offline(db, gate, site, s, now=now, rules=rules, tickets=tickets,
                                   hash_key=hash_key))
    return out


def _record_offline(db, gate, site, s: OfflineScan, *, now, rules, tickets, hash_key) -> dict:
    input_hash = (_input_hash(s.code, None, hash_key) if s.code is not None
                  else f"t:{s.ticket_id}")
    with immediate(db):
        prior = repo.scan_by_nonce(db, gate.id, s.nonce)
        if prior is not None:
            same = prior["input_hash"] == input_hash and prior["direction"] == s.direction
            return {"nonce": s.nonce, "status": "duplicate" if same else "nonce_conflict"}
        _check_out(db, site, now)
        ticket, claim_version, server_reason = None, None, None
        if s.code is not None:
            claim, server_reason = tickets.decode(s.code)
            if claim is not None:
                ticket, claim_version = tickets.ticket(db, claim.ticket_id), claim.version
        elif s.ticket_id is not None:
            ticket = tickets.ticket(db, s.ticket_id)
        else:
            server_reason = s.reason
        ticket_id = str(ticket.id) if ticket is not None else None
        presence = _presence(db, ticket_id, gate.site_id) if ticket_id else Presence()
        if server_reason is None:
            windows = entry_windows(db, gate, s.scanned_at.date(), s.scanned_at.tzinfo)
            server_reason = decide(ticket, gate.site_id, s.direction, s.scanned_at, presence,
                                   rules, claim_version=claim_version, entry_windows=windows)
        response = {"result": s.result, "reason": s.reason, "ticket": _ticket_json(ticket),
                    "offline": True, "server_reason": server_reason}
        scan_id = repo.insert_scan(
            db, gate_id=gate.id, site_id=gate.site_id, nonce=s.nonce, input_hash=input_hash,
            method=s.method, source="offline", direction=s.direction, ticket_id=ticket_id,
            result=s.result, reason=s.reason,
            holder_masked=ticket.holder_masked if ticket is not None else None,
            document_masked=None, scanned_at=iso(s.scanned_at), received_at=iso(now),
            response_json=json.dumps(response, ensure_ascii=False))
        conflict = None
        if s.result == "allow":
            occ = repo.occupancy(db, gate.site_id)
            # A passage from before the last check-out is history: counted per minute,
            # but those people have already been checked out.
            current = not (occ and occ["last_checkout_at"]
                           and iso(s.scanned_at) < occ["last_checkout_at"])
            if server_reason is None:
                _apply_passage(db, scan_id=scan_id, gate=gate, ticket_id=ticket_id,
                               direction=s.direction, at=s.scanned_at, now=now,
                               counted=current, conflict=False)
            else:
                conflict = ("double_admission" if server_reason in ("already_inside", "used_up")
                            and s.direction == "entry" else "rule_mismatch")
                repo.insert_conflict(db, scan_id=scan_id, site_id=gate.site_id,
                                     ticket_id=ticket_id, kind=conflict,
                                     detail=server_reason, created_at=iso(now))
                # The visitor did walk through: count an entry so people inside stays
                # true to the turnstile; an exit the server cannot match is not counted.
                if s.direction == "entry" and ticket_id is not None:
                    _apply_passage(db, scan_id=scan_id, gate=gate, ticket_id=ticket_id,
                                   direction="entry", at=s.scanned_at, now=now,
                                   counted=current, conflict=True)
                elif s.direction == "entry":
                    repo.add_count(db, site_id=gate.site_id, minute=_minute(s.scanned_at),
                                   entries=1)
                    if current:
                        repo.add_occupancy(db, gate.site_id, 1, iso(now))
    return {"nonce": s.nonce, "status": "conflict" if conflict else "recorded",
            "conflict": conflict}


# --- counts, audit, conflicts --------------------------------------------------

def counts_per_minute(db, site_id: str, day: date) -> list[dict]:
    """Entries, exits and check-outs per minute at a site on a day."""
    catalog.get_site(db, site_id)
    start = day.isoformat()
    end = (day + timedelta(days=1)).isoformat()
    return [dict(r) for r in repo.counts(db, site_id, start, end)]


def denied_scans(db, *, site_id: str | None = None, limit: int = 200) -> list[dict]:
    return [dict(r) for r in repo.denied_scans(db, site_id=site_id, limit=limit)]


def open_conflicts(db, *, limit: int = 200) -> list[dict]:
    return [dict(r) for r in repo.conflicts(db, open_only=True, limit=limit)]


def resolve_conflict(db, conflict_id: int, *, user, note: str, clock) -> None:
    """Mark an offline conflict reviewed, with who and a note."""
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError("note_too_long", _l("Keep the note under 500 characters."))
    with immediate(db):
        if repo.conflict(db, conflict_id) is None:
            raise NotFound("unknown_conflict", _l("There is no such conflict."))
        if not repo.resolve_conflict(db, conflict_id, by=user.username, note=note,
                                     at=iso(clock.now())):
            raise Conflict("already_resolved", _l("This conflict was already resolved."))


def prune_audit(db, *, keep_days: int, clock) -> int:
    """Delete audit rows older than ``keep_days`` (admissions and conflicts are kept)."""
    with immediate(db):
        return repo.prune_scans(db, iso(clock.now() - timedelta(days=keep_days)))
