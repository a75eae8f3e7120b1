"""Seed demo data for the embedded default (idempotent).

Creates a demo admin and a demo staff account with random passwords (written once to
instance/demo-credentials.txt, never to git), then lets each domain seed its own demo
data through ``<domain>/demo.py: seed(app, db, credentials)``.
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from app import create_app
from core.auth import create_user, username_taken
from core.db import own_connection
from core.domains import DOMAINS, domain_modules


def main() -> int:
    app = create_app()
    instance = Path(app.instance_path)
    cred_file = instance / "demo-credentials.json"
    creds = json.loads(cred_file.read_text()) if cred_file.exists() else {}
    clock = app.extensions["scenic.clock"]
    with own_connection(app.config) as db:
        for role in ("admin", "staff"):
            name = f"demo-{role}"
            if username_taken(db, name):
                continue
            password = secrets.token_urlsafe(12)
            create_user(db, username=name, password=password, role=role, clock=clock)
            creds[name] = password
        for mod in domain_modules("demo", DOMAINS):
            with app.app_context():
                mod.seed(app, db, creds)
    fd = os.open(cred_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=1)
    print(f"demo accounts (also in {cred_file}):")
    for user, secret in creds.items():
        print(f"  {user}: {secret}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
