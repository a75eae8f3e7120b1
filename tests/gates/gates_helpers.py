"""Helpers for the gates tests (a module name unique across the test folders)."""
from __future__ import annotations

import itertools
import uuid

from ticketing.identity import check_digit

_seq = itertools.count(100)
PASSWORD = "correct horse battery"   # tests/conftest.py's password for made users


def make_id(born: str = "19900307", region: str = "370102") -> str:
    """A valid resident ID number (GB 11643 check digit), different on every call."""
    body = f"{region}{born}{next(_seq) % 1000:03d}"
    return body + check_digit(body)


def scan(client, token, code=None, direction="entry", nonce=None, document=None, **extra):
    body = {"direction": direction, "nonce": nonce or uuid.uuid4().hex}
    if document is not None:
        body["document"] = document
    else:
        body["code"] = code
    body.update(extra)
    return client.post("/api/gate/scan", json=body, headers={"Authorization": f"Bearer {token}"})
