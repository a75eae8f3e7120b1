"""Helpers for the gates tests (fixtures are in conftest.py)."""
from __future__ import annotations

import uuid


def scan(client, token, code=None, direction="entry", nonce=None, document=None, **extra):
    body = {"direction": direction, "nonce": nonce or uuid.uuid4().hex}
    if document is not None:
        body["document"] = document
    else:
        body["code"] = code
    body.update(extra)
    return client.post("/api/gate/scan", json=body, headers={"Authorization": f"Bearer {token}"})
