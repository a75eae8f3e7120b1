"""The e-ticket code (admission.codes): round trip, tampering, other keys, truncation,
key file, and the site bitmask it carries."""
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from admission import codes
from admission.sites import SITE_ORDER, UnknownSite, site_bit, site_mask, sites_of

UTC = timezone.utc


def _claim(**kw):
    base = dict(ticket_id=4_000_000_123, version=7, sites=("taishan", "daimiao"),
                valid_from=datetime(2026, 7, 15, 0, 0, tzinfo=UTC),
                valid_until=datetime(2026, 7, 17, 16, 0, tzinfo=UTC))
    base.update(kw)
    return codes.TicketClaim(**base)


def test_round_trip_is_short_and_qr_alphanumeric():
    key = codes.generate_signing_key()
    claim = _claim()
    text = codes.encode(claim, key)
    assert len(text) < 130
    assert set(text) <= set(codes.ALPHABET)
    assert codes.decode(text, codes.public_key_of(key)) == claim
    # scanners may add whitespace or lowercase; still accepted
    assert codes.decode(" " + text.lower() + "\n", codes.public_key_of(key)) == claim


def test_all_sites_and_other_timezones():
    key = codes.generate_signing_key()
    tz8 = timezone(timedelta(hours=8))
    claim = _claim(sites=SITE_ORDER, valid_from=datetime(2026, 7, 15, 8, tzinfo=tz8),
                   valid_until=datetime(2026, 7, 15, 17, 30, tzinfo=tz8))
    out = codes.decode(codes.encode(claim, key), codes.public_key_of(key))
    assert out.sites == SITE_ORDER
    assert out.valid_from == claim.valid_from and out.valid_until == claim.valid_until


def test_every_altered_character_is_rejected():
    key = codes.generate_signing_key()
    pub = codes.public_key_of(key)
    text = codes.encode(_claim(), key)
    reasons = set()
    for i in range(len(codes.PREFIX), len(text)):
        swapped = "1" if text[i] != "1" else "2"
        with pytest.raises(codes.CodeError) as err:
            codes.decode(text[:i] + swapped + text[i + 1:], pub)
        reasons.add(err.value.reason)
    assert reasons <= {"bad_signature", "invalid_code"}
    assert "bad_signature" in reasons


def test_other_key_truncation_and_garbage():
    key, other = codes.generate_signing_key(), codes.generate_signing_key()
    text = codes.encode(_claim(), key)
    with pytest.raises(codes.CodeError, match="bad_signature"):
        codes.decode(text, codes.public_key_of(other))
    for bad in (text[:-1], text + "0", "XX" + text[2:], "", "hello", text[:60], None,
                "TK" + "Z" * (len(text) - 2), text[:10] + "#" + text[11:]):
        with pytest.raises(codes.CodeError) as err:
            codes.decode(bad, codes.public_key_of(key))
        assert err.value.reason == "invalid_code"


def test_encode_rejects_unknown_site_and_naive_times():
    key = codes.generate_signing_key()
    with pytest.raises(ValueError):
        codes.encode(_claim(sites=("louvre",)), key)
    with pytest.raises(ValueError):
        codes.encode(_claim(valid_from=datetime(2026, 7, 15)), key)


def test_revocation_key():
    assert codes.revocation_key(12, 3) == "12.3"


def test_signing_key_file_created_once_with_0600(tmp_path):
    k1 = codes.load_or_create_signing_key(tmp_path)
    k2 = codes.load_or_create_signing_key(tmp_path)
    assert k1 == k2 and len(k1) == 32
    mode = stat.S_IMODE(os.stat(tmp_path / codes.KEY_FILE).st_mode)
    assert mode == 0o600
    assert len(codes.public_key_of(k1)) == 32


def test_the_site_bitmask_is_one_definition_for_codes_products_and_sql():
    assert [site_bit(s) for s in SITE_ORDER] == [1, 2, 4, 8, 16]
    assert site_mask(["daimiao", "taishan"]) == 3 and sites_of(3) == ("taishan", "daimiao")
    assert sites_of(site_mask(SITE_ORDER)) == SITE_ORDER
    with pytest.raises(UnknownSite):
        site_bit("atlantis")
    with pytest.raises(ValueError):
        site_mask([])
