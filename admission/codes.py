"""E-ticket codes: an Ed25519-signed compact payload a gate can verify offline.

Pure Python plus ``cryptography`` (no Flask, no database): the server signs with it and
the turnstile verifies with it offline.

Layout of a code: ``PREFIX`` + base-44 text of ``payload || signature`` where payload is
16 bytes, big-endian::

    format (1) | ticket_id (4) | version (2) | site mask (1) | valid_from (4) | valid_until (4)

Times are whole minutes since ``EPOCH`` (UTC), so claims are minute-precise: seconds are
dropped on encode and decoded datetimes are UTC-aware. The base-44 alphabet is the QR
alphanumeric set without the space (a trailing space would be lost by many scanners),
so the QR uses alphanumeric mode; the whole text is 120 characters.
"""
from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .sites import is_valid_mask, site_mask, sites_of

PREFIX = "TK"
FORMAT_VERSION = 1
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$%*+-./:"
_BASE = len(ALPHABET)
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_PAYLOAD = struct.Struct(">BIHBII")
_SIG_LEN = 64
_RAW_LEN = _PAYLOAD.size + _SIG_LEN
# Fewest base-44 digits that hold any _RAW_LEN-byte number.
_TEXT_LEN = next(n for n in range(1, 400) if _BASE ** n >= 256 ** _RAW_LEN)
KEY_FILE = "ticket_signing_key"


class CodeError(Exception):
    """A code that cannot be trusted. ``reason``: ``invalid_code`` or ``bad_signature``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TicketClaim:
    ticket_id: int
    version: int
    sites: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime


def revocation_key(ticket_id: int, version: int) -> str:
    return f"{ticket_id}.{version}"


# --- keys ---------------------------------------------------------------------

def generate_signing_key() -> bytes:
    """A new raw 32-byte Ed25519 private key."""
    return Ed25519PrivateKey.generate().private_bytes_raw()


def public_key_of(private: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a raw private key."""
    return Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def load_or_create_signing_key(instance_path) -> bytes:
    """The instance's signing key (hex in ``<instance>/ticket_signing_key``, mode 0600),
    generated on first use. Safe when several processes start at once (O_EXCL)."""
    path = Path(instance_path) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = generate_signing_key()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; read its key below
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(key.hex() + "\n")
            return key
    for _ in range(50):
        text = path.read_text().strip()
        if len(text) == 64:
            return bytes.fromhex(text)
        time.sleep(0.01)  # the winner is still writing it
    raise RuntimeError(f"{path} does not hold a 32-byte hex key")


# --- text encoding --------------------------------------------------------------

def _to_text(raw: bytes) -> str:
    n = int.from_bytes(raw, "big")
    out = []
    for _ in range(_TEXT_LEN):
        n, r = divmod(n, _BASE)
        out.append(ALPHABET[r])
    return "".join(reversed(out))


def _from_text(text: str) -> bytes:
    n = 0
    for ch in text:
        i = _INDEX.get(ch)
        if i is None:
            raise CodeError("invalid_code")
        n = n * _BASE + i
    if n >= 256 ** _RAW_LEN:
        raise CodeError("invalid_code")
    return n.to_bytes(_RAW_LEN, "big")


def _minutes(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("ticket times must be timezone-aware")
    m = int((dt - EPOCH) // timedelta(minutes=1))
    if not 0 <= m < 2 ** 32:
        raise ValueError("ticket time out of range")
    return m


def encode(claim: TicketClaim, private_key: bytes) -> str:
    """Sign a claim and return its QR text (uppercase, QR alphanumeric set)."""
    if not 0 < claim.ticket_id < 2 ** 32 or not 0 <= claim.version < 2 ** 16:
        raise ValueError("ticket id or version out of range")
    payload = _PAYLOAD.pack(FORMAT_VERSION, claim.ticket_id, claim.version, site_mask(claim.sites),
                            _minutes(claim.valid_from), _minutes(claim.valid_until))
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(payload)
    return PREFIX + _to_text(payload + signature)


def decode(code: str, public_key: bytes) -> TicketClaim:
    """Verify a code's signature and return its claim; raises CodeError.
    Validity times and revocation are for the caller to check."""
    if not isinstance(code, str):
        raise CodeError("invalid_code")
    text = "".join(code.split()).upper()
    if not text.startswith(PREFIX) or len(text) != len(PREFIX) + _TEXT_LEN:
        raise CodeError("invalid_code")
    raw = _from_text(text[len(PREFIX):])
    payload, signature = raw[:_PAYLOAD.size], raw[_PAYLOAD.size:]
    fmt, ticket_id, version, mask, start, end = _PAYLOAD.unpack(payload)
    if fmt != FORMAT_VERSION or not is_valid_mask(mask):
        raise CodeError("invalid_code")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, payload)
    except InvalidSignature:
        raise CodeError("bad_signature") from None
    return TicketClaim(ticket_id, version, sites_of(mask), EPOCH + timedelta(minutes=start),
                       EPOCH + timedelta(minutes=end))
