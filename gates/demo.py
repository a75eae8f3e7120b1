"""Demo data for the embedded default: one gate per site ("Demo gate", both directions),
its device token written once to <instance>/gate-<site>.token (mode 0600), idempotent."""
from __future__ import annotations

from pathlib import Path

from catalog import interface as catalog
from core.auth import issue_token
from core.files import write_secret

from . import repo, services

DEMO_NAME = "Demo gate"


def token_path(app, site_id: str) -> Path:
    return Path(app.instance_path) / f"gate-{site_id}.token"


def seed(app, db, credentials: dict) -> None:
    clock = app.extensions["scenic.clock"]
    for site in catalog.list_sites(db):
        path = token_path(app, site.id)
        row = repo.gate_by_name(db, site.id, DEMO_NAME)
        if row is None:
            _gate, token = services.create_gate(db, site_id=site.id, name=DEMO_NAME,
                                                direction="both", clock=clock)
            write_secret(path, token)
        elif not path.is_file():
            write_secret(path, issue_token(db, user_id=row["user_id"], label=f"{site.id}/{DEMO_NAME}",
                                     clock=clock))
