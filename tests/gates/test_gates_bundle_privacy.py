"""A stolen offline bundle, attacked: it must hold no ID number, nothing made with the
server's lookup key, and nothing that opens another day's or another site's tickets
(issue 9, item 5; docs/gates.md, "What a stolen bundle reveals")."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from admission.identity import DigestParams, document_digest
from core.pii import keyed_hash
from gate_client import OfflineValidator
from gates import bundle as gate_bundle
from testkit import resident_id


def fetch(client, token):
    r = client.get("/api/gate/bundle", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    return r.get_json()


def digests(bundle):
    return {row["id"]: row["document_digest"] for row in bundle["tickets"]}


@pytest.fixture
def documents_on(app):
    app.config["GATES_BUNDLE_DOCUMENT_KEY"] = True


def test_default_bundle_holds_nothing_derived_from_an_id_number(app, client, make_gate, sell):
    _, tok = make_gate()
    sold = sell(n=3)
    b = fetch(client, tok)
    text = json.dumps(b)
    with app.app_context():
        for _t, _c, doc in sold:
            assert doc not in text and keyed_hash(doc) not in text
    assert b["document_key"] is None and b["document_kdf"] is None
    assert {row["document_digest"] for row in b["tickets"]} == {None}


def test_stolen_bundle_key_is_not_the_lookup_key_and_opens_no_other_day_or_site(
        app, client, db, clock, documents_on, make_gate, sell):
    _, taishan_tok = make_gate(site="taishan")
    _, daimiao_tok = make_gate(site="daimiao")
    # A three-day Mount Tai ticket, which also admits to Dai Temple: the holder is in
    # bundles of two sites on three days.
    (ticket, _code, doc), = sell(site="taishan", product="taishan-standard")
    stolen = fetch(client, taishan_tok)
    key = bytes.fromhex(stolen["document_key"])
    secrets = json.loads((Path(app.instance_path) / "secrets.json").read_text())
    # The thief holds no secret of the server, nor anything that makes its lookup hashes.
    assert stolen["document_key"] not in secrets.values()
    assert all(s.encode() != key for s in secrets.values())
    server_hash = db.execute("SELECT document_hash FROM tk_tickets WHERE id = ?",
                             [ticket.id]).fetchone()[0]
    for attempt in (hmac.new(key, doc.encode(), hashlib.sha256).hexdigest(),
                    hmac.new(stolen["document_key"].encode(), doc.encode(),
                             hashlib.sha256).hexdigest(),
                    document_digest(doc, key, DigestParams.from_json(stolen["document_kdf"]))):
        assert attempt != server_hash
    # What the bundle does reveal, honestly: with the day's key, a guessed number can be
    # confirmed against that day's tickets at that site.
    params = DigestParams.from_json(stolen["document_kdf"])
    assert digests(stolen)[ticket.id] == document_digest(doc, key, params)
    # ...and nothing else: the same holder at the other site that day, and at this site
    # the next day, is under other keys the stolen one cannot make.
    other_site = fetch(client, daimiao_tok)
    clock.advance(days=1)
    next_day = fetch(client, taishan_tok)
    for other in (other_site, next_day):
        assert other["document_key"] != stolen["document_key"]
        assert ticket.id in digests(other)
        assert digests(other)[ticket.id] != digests(stolen)[ticket.id]
        assert document_digest(doc, key, params) not in set(digests(other).values())
    # The turnstile matches the holder with the day's bundle only.
    v = OfflineValidator(next_day)
    at = clock.now()
    assert v.ticket_for_document(doc, at.date())[0].id == ticket.id
    assert OfflineValidator(stolen).ticket_for_document(resident_id(), at.date())[1] == \
        "unknown_ticket"


def test_day_keys_are_derived_for_their_purpose_from_a_root_of_their_own(app, clock):
    cfg = app.config
    policy = gate_bundle.DocumentPolicy.from_config(cfg)
    day = clock.now().date()
    assert cfg["GATE_BUNDLE_ROOT_KEY"] not in (cfg["PII_HASH_KEY"], cfg["PII_ENC_KEY"],
                                                cfg["SECRET_KEY"])
    keys = {policy.day_key(site, day + timedelta(days=i))
            for site in ("taishan", "daimiao", "kongmiao") for i in range(3)}
    assert len(keys) == 9
    # The lookup key as a root would give other keys: the purpose's root is its own.
    lookup_rooted = gate_bundle.DocumentPolicy(True, cfg["PII_HASH_KEY"])
    assert lookup_rooted.day_key("taishan", day) not in keys


def test_bundle_digests_are_budgeted_then_prepared_ahead(app, client, db, documents_on,
                                                         make_gate, sell):
    _, tok = make_gate()
    sold = sell(n=3)
    app.config["GATES_BUNDLE_DIGEST_BUDGET_MS"] = 0
    b = fetch(client, tok)
    assert b["documents_pending"] == 3 and set(digests(b).values()) == {None}
    result = app.test_cli_runner().invoke(args=["gates", "prepare-bundles", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "kongmiao 2026-07-15: 3 tickets" in result.output
    b = fetch(client, tok)   # a budget of 0 computes nothing: these came from the cache
    assert b["documents_pending"] == 0
    key = bytes.fromhex(b["document_key"])
    assert digests(b) == {t.id: document_digest(doc, key) for t, _c, doc in sold}
    # Digests of days gone are forgotten.
    assert db.execute("SELECT count(*) FROM gate_bundle_digests").fetchone()[0] == 3
    assert gate_bundle.prune_digests(db, before=date(2026, 7, 16)) == 3


def test_passport_holders_get_no_digest(client, documents_on, make_gate, sell):
    _, tok = make_gate()
    (ticket, _code, _doc), = sell(holders=[{"name": "Ann Lee", "document_type": "passport",
                                            "document_number": "E12345678"}])
    assert digests(fetch(client, tok)) == {ticket.id: None}


@pytest.mark.parametrize("kdf", [
    {"alg": "scrypt", "n": 2 ** 24, "r": 8, "p": 1},     # gigabytes: a bad bundle's DoS
    {"alg": "scrypt", "n": 1000, "r": 8, "p": 1},        # not a power of two
    {"alg": "scrypt", "n": 1024, "r": 64, "p": 1},
    {"alg": "hmac-sha256"},
    {"alg": "scrypt", "n": "1024", "r": 8, "p": 1},
])
def test_turnstile_refuses_unbounded_digest_parameters(kdf):
    with pytest.raises(ValueError):
        DigestParams.from_json(kdf)
