"""Guide fixtures: the app with the real content loaded."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.db import connect


@pytest.fixture
def guide_app(app, clock):
    from guide import services
    db = connect(app.config["DATABASE"])
    try:
        services.load_content(db, clock=clock)
    finally:
        db.conn.close()
    return app


@pytest.fixture
def gclient(guide_app):
    return guide_app.test_client()


@pytest.fixture
def gdb(guide_app):
    conn = connect(guide_app.config["DATABASE"])
    yield conn
    conn.conn.close()


@pytest.fixture
def audio_dir(guide_app):
    return Path(guide_app.instance_path) / "guide-audio"
