"""Demo data for the embedded default: one gate per site ("Demo gate", both directions),
its device token written once to <instance>/gate-<site>.token (mode 0600), idempotent."""
from __future__ import annotations

import os
from pathlib import Path

from catalog import services as catalog
from core.auth import issue_token

from . import repo, services

DEMO_NAME = "Demo gate"


def token_path(app, site_id: str) -> Path:
    return Path(app.instance_path) / f"gate-{site_id}.token"


def _write(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")


def seed(app, db, credentials: dict) -> None:
    clock = app.extensions["scenic.clock"]
    for site in catalog.list_sites(db):
        path = token_path(app, site.id)
        row = repo.gate_by_name(db, site.id, DEMO_NAME)
        if row is None:
            _gate, token = services.create_gate(db, site_id=site.id, name=DEMO_NAME,
                                                direction="both", clock=clock)
            _write(path, token)
        elif not path.is_file():
            _write(path, issue_token(db, user_id=row["user_id"], label=f"{site.id}/{DEMO_NAME}",
                                     clock=clock))
