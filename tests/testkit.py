"""Helpers shared by test modules. Import with ``from testkit import ...`` (never
``from conftest import``: each tests/<domain>/conftest.py is also named conftest)."""
from __future__ import annotations

import re

PASSWORD = "correct horse battery"


def csrf_of(client) -> str:
    """The CSRF token of a test client's session (fetching a page creates one)."""
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
