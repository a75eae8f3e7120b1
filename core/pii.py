"""Personal data: keyed hashes for lookup, authenticated encryption for storage,
masks for display. Document numbers are never stored or logged in the clear."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def normalize_document(number: str) -> str:
    return "".join(str(number or "").split()).upper()


def keyed_hash(number: str, key: str | None = None) -> str:
    """HMAC-SHA256 of a normalised document number: lets a gate or a lookup match a
    holder without the number itself."""
    key = key or current_app.config["PII_HASH_KEY"]
    return hmac.new(key.encode(), normalize_document(number).encode(), hashlib.sha256).hexdigest()


def derived_key(root: str, purpose: str, *context: str) -> bytes:
    """A 32-byte key for one purpose and context (e.g. a site and a day), derived from a
    root secret with HKDF-SHA256 (RFC 5869). Knowing derived keys reveals neither the root
    nor any key of another purpose or context, so a device may hold one safely."""
    if not root or not purpose or any("\x1f" in part for part in (purpose, *context)):
        raise ValueError("derived_key needs a root, a purpose and context without \\x1f")
    info = "\x1f".join(("scenic", purpose, *context)).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root.encode())


def _aes(key: str | None) -> AESGCM:
    key = key or current_app.config["PII_ENC_KEY"]
    return AESGCM(hashlib.sha256(key.encode()).digest())


def encrypt(text: str, key: str | None = None) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _aes(key).encrypt(nonce, text.encode(), None)).decode()


def decrypt(token: str, key: str | None = None) -> str:
    raw = base64.b64decode(token)
    return _aes(key).decrypt(raw[:12], raw[12:], None).decode()


def mask_document(number: str) -> str:
    """3701**********123X style: first 4 and last 4 characters kept."""
    n = normalize_document(number)
    if len(n) <= 8:
        return n[:1] + "*" * max(len(n) - 2, 0) + n[-1:] if len(n) > 2 else "*" * len(n)
    return n[:4] + "*" * (len(n) - 8) + n[-4:]


def mask_name(name: str) -> str:
    """张*明 / J*** Smith style: enough for a gate officer to compare, not to identify."""
    name = (name or "").strip()
    if not name:
        return ""
    if " " in name:
        first, _, rest = name.partition(" ")
        return first[0] + "*" * (len(first) - 1) + " " + rest
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
