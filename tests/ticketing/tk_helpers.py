"""Helpers for ticketing tests: valid GB 11643 numbers and holders."""
from __future__ import annotations

import itertools

from ticketing.identity import check_digit

_seq = itertools.count(100)


def make_id(born: str = "19900307", region: str = "370102", seq: int | None = None) -> str:
    """A valid resident ID number (check digit computed) for a birth date YYYYMMDD."""
    body = f"{region}{born}{(seq if seq is not None else next(_seq)) % 1000:03d}"
    return body + check_digit(body)


def holder(name="张三", born="19900307", **kw):
    h = {"name": name, "document_type": "resident_id", "document_number": make_id(born)}
    h.update(kw)
    return h
