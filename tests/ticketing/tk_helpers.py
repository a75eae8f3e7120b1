"""Helpers for ticketing tests: valid GB 11643 holders (fixtures are in conftest.py)."""
from __future__ import annotations

from testkit import resident_id


def holder(name="张三", born="19900307", **kw):
    h = {"name": name, "document_type": "resident_id", "document_number": resident_id(born)}
    h.update(kw)
    return h
