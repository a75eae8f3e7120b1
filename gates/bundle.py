"""The offline bundle: what a gate needs to decide one day's scans without the server, and
nothing that reveals more than that day's tickets at that site.

Document numbers never travel. With ``GATES_BUNDLE_DOCUMENT_KEY`` on, the bundle carries
the key of its (site, day), derived with HKDF from ``GATE_BUNDLE_ROOT_KEY`` (a secret kept
for this purpose alone, never the lookup key ``PII_HASH_KEY``), and per ticket the
scrypt digest of the holder's resident ID number under that key
(``admission.identity.document_digest``); the turnstile digests a typed number the same
way. scrypt costs the server one digest per ticket, site and day, so digests are kept in
``gate_bundle_digests`` and a bundle request computes at most
``GATES_BUNDLE_DIGEST_BUDGET_MS`` of missing ones (``flask gates prepare-bundles``
computes them all ahead). docs/gates.md, "What a stolen bundle reveals", says the rest.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from admission.identity import DigestParams, document_digest
from admission.rules import Rules, entry_windows_json
from catalog import interface as catalog
from core import pii
from core.clock import iso
from core.db import immediate

from . import repo
from .services import Gate, as_text, entry_windows

FORMAT = 2
PURPOSE = "gates.offline-document-digest.v1"
_CHUNK = 16   # digests computed between two looks at the clock
# One thread per process digests at a time: fifty gates fetching their first bundle of
# the day at once must not put fifty scrypt loops on the CPUs that answer scans.
_digesting = threading.Lock()


@dataclass(frozen=True)
class DocumentPolicy:
    """Whether bundles carry document digests, and with which root key and cost."""
    enabled: bool
    root_key: str
    params: DigestParams = DigestParams()
    budget_ms: int = 1500

    @classmethod
    def from_config(cls, cfg) -> "DocumentPolicy":
        return cls(cfg["GATES_BUNDLE_DOCUMENT_KEY"], cfg["GATE_BUNDLE_ROOT_KEY"],
                   DigestParams(n=cfg["GATES_BUNDLE_SCRYPT_N"]),
                   cfg["GATES_BUNDLE_DIGEST_BUDGET_MS"])

    def day_key(self, site_id: str, day: date) -> bytes:
        """The key of one site on one day: it opens nothing of any other day or site."""
        return pii.derived_key(self.root_key, PURPOSE, site_id, day.isoformat())

    def key_id(self, site_id: str, day: date) -> str:
        # Cached digests are valid only for this key and cost: a new root key or a new
        # scrypt setting simply misses the cache.
        raw = self.day_key(site_id, day) + repr(self.params).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


def prepare_digests(db, source, site_id: str, day: date, tickets: list,
                    policy: DocumentPolicy, *, budget_ms: int | None = None, wait: bool = False,
                    monotonic: Callable[[], float] = time.monotonic) -> tuple[dict, int]:
    """The cached digests of these tickets at a site on a day (``source``: the
    TicketSource that makes them inside ticketing), computing missing ones for
    at most ``budget_ms`` (None: all of them). Returns ({(id, version): digest or None},
    how many are still missing). Another thread already digesting: nothing is computed
    here unless ``wait``."""
    key_id = policy.key_id(site_id, day)
    cached = {(r["ticket_id"], r["version"]): r["digest"]
              for r in repo.bundle_digests(db, site_id, day.isoformat(), key_id)}
    missing = [t for t in tickets if (t.id, t.version) not in cached]
    if not missing or budget_ms == 0 or not _digesting.acquire(blocking=wait):
        return cached, len(missing)
    try:
        key = policy.day_key(site_id, day)
        deadline = None if budget_ms is None else monotonic() + budget_ms / 1000

        def digest(number: str) -> str:
            return document_digest(number, key, policy.params)

        while missing and (deadline is None or monotonic() < deadline):
            chunk, missing = missing[:_CHUNK], missing[_CHUNK:]
            found = source.document_digests(db, [t.id for t in chunk], digest)
            rows = [(t.id, t.version, found.get(t.id)) for t in chunk]
            with immediate(db):
                repo.save_bundle_digests(db, site_id, day.isoformat(), key_id, rows)
            cached.update({(tid, version): d for tid, version, d in rows})
    finally:
        _digesting.release()
    return cached, len(missing)


def prune_digests(db, *, before: date) -> int:
    """Forget digests of days before ``before`` (bundles are for today)."""
    with immediate(db):
        return repo.prune_bundle_digests(db, before.isoformat())


def bundle(db, gate: Gate, *, clock, rules: Rules, tickets, documents: DocumentPolicy) -> dict:
    """What an offline gate needs for today: the public key, the revocation list, the
    rules, the site's hours and today's tickets; with documents enabled, that day's key
    and the holders' digests under it (never a number, never the server's lookup hash)."""
    now = clock.now()
    day = now.date()
    hours = catalog.hours_on(db, gate.site_id, day)
    gate_hours = hours if gate.place_id is None else hours.place(gate.place_id)
    closing = hours.closes_at(now.tzinfo)
    presence = {r["ticket_id"]: r for r in repo.presence_for_site(db, gate.site_id)}
    day_tickets = tickets.bundle_tickets(db, gate.site_id, day)
    digests, pending = {}, 0
    if documents.enabled:
        digests, pending = prepare_digests(db, tickets, gate.site_id, day, day_tickets, documents,
                                           budget_ms=documents.budget_ms)
    rows = []
    for t in day_tickets:
        p = presence.get(str(t.id))
        rows.append({
            "id": t.id, "version": t.version, "product": t.product_id, "type": t.type_name,
            "sites": list(t.sites), "status": t.status, "holder": t.holder_masked,
            "document_digest": digests.get((t.id, t.version)), "slot_start": as_text(t.slot_start),
            "slot_end": as_text(t.slot_end), "valid_from": as_text(t.valid_from),
            "valid_until": as_text(t.valid_until), "reentry_allowed": bool(t.reentry_allowed),
            "max_entries_per_site": t.max_entries_per_site, "proof": t.proof,
            "entries": p["entries"] if p else 0, "inside": bool(p["inside"]) if p else False})
    return {
        "format": FORMAT, "generated_at": iso(now), "day": day.isoformat(),
        # The turnstile judges days and slots in the site's zone (the TIMEZONE setting).
        "timezone": getattr(now.tzinfo, "key", None) or str(now.tzinfo),
        "gate": gate.to_json(), "public_key": tickets.public_key.hex(),
        "revocations": tickets.revocations(db), "rules": rules.to_json(),
        "hours": None if gate_hours.closed else {"open": gate_hours.open,
                                                 "close": gate_hours.close,
                                                 "last_entry": gate_hours.last_entry},
        "closed_reason": gate_hours.reason if gate_hours.closed else None,
        # Entries are admitted only inside these (the turnstile judges them offline too);
        # a closure entered after the bundle was fetched reaches the gate on its next fetch.
        "entry_windows": entry_windows_json(entry_windows(db, gate, day, now.tzinfo)),
        "closing_at": iso(closing) if closing else None,
        "tickets": rows,
        "document_key": documents.day_key(gate.site_id, day).hex() if documents.enabled
        else None,
        "document_kdf": documents.params.to_json() if documents.enabled else None,
        "documents_pending": pending,
    }


def prepare_bundles(db, *, clock, documents: DocumentPolicy, tickets, days: int = 2) -> dict:
    """Compute every missing digest for every site from today on, for ``days`` days (run
    from cron before opening, so first bundles of the day need no scrypt at all), and
    forget those of days gone. Returns {(site, day): tickets digested so far}."""
    today = clock.now().date()
    prune_digests(db, before=today)
    out = {}
    for site in catalog.list_sites(db):
        for i in range(days):
            day = today + timedelta(days=i)
            day_tickets = tickets.bundle_tickets(db, site.id, day)
            prepare_digests(db, tickets, site.id, day, day_tickets, documents, budget_ms=None,
                            wait=True)
            out[(site.id, day.isoformat())] = len(day_tickets)
    return out
