"""Helpers shared by test modules. Import with ``from testkit import ...`` (never
``from conftest import``: each tests/<domain>/conftest.py is also named conftest)."""
from __future__ import annotations

import itertools
import re

PASSWORD = "correct horse battery"
_id_seq = itertools.count(100)


def csrf_of(client, path: str = "/") -> str:
    """The CSRF token of a test client's session (fetching a page creates one)."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def resident_id(born: str = "19900307", region: str = "370102", seq: int | None = None) -> str:
    """A valid GB 11643 resident ID number for a birth date YYYYMMDD, new on every call."""
    from ticketing.identity import check_digit
    body = f"{region}{born}{(seq if seq is not None else next(_id_seq)) % 1000:03d}"
    return body + check_digit(body)
