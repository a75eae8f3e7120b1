"""Shared fixtures: a fresh app and SQLite file per test, a fixed clock, users,
device tokens and a real HTTP server (waitress) for concurrency tests."""
from __future__ import annotations

import os
from datetime import datetime

import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

from app import create_app  # noqa: E402
from core.auth import create_device, create_user  # noqa: E402
from core.clock import DEFAULT_TZ, FixedClock  # noqa: E402
from core.db import connect, migrate, own_connection  # noqa: E402
from catalog.services import load_catalog  # noqa: E402

from testkit import CHROMIUM, CHROMIUM_ARGS, PASSWORD, browser_page, csrf_of, serve_app  # noqa: E402


@pytest.fixture
def clock():
    # A peak-season weekday morning in Qufu and Tai'an.
    return FixedClock(datetime(2026, 7, 15, 10, 0, tzinfo=DEFAULT_TZ))


def fresh_app(instance, clock, **config):
    """An app on a fresh instance folder, migrated, with the catalog loaded. An easy proof
    of work: tests check the protocol; bench/abuse_bench.py and the browser test measure
    the shipped difficulty. Live frames beside the instance folder, not in /dev/shm
    (tests/crowd/test_live_shared.py checks the default)."""
    application = create_app({"ENV": "testing", "POW_MAX_NUMBER": 500,
                              "CROWD_LIVE_DIR": str(instance.parent / "live"), **config},
                             clock=clock,
                             instance_path=str(instance))
    db = connect(application.config["DATABASE"])
    migrate(db)
    load_catalog(db)
    db.conn.close()
    return application


@pytest.fixture
def app(tmp_path, clock):
    application = fresh_app(tmp_path / "instance", clock)
    yield application
    # Every JSON answer the test caused fits its view's contract (core.contracts).
    violations = application.extensions.get("scenic.contract_violations", [])
    assert not violations, "answers that break their contracts:\n" + "\n".join(violations)


@pytest.fixture
def make_app(tmp_path, clock):
    """An app with extra settings, on its own instance folder."""
    return lambda **config: fresh_app(tmp_path / "own-instance", clock, **config)


@pytest.fixture
def production_app(tmp_path, clock, monkeypatch):
    """An app as deployed (ENV=production, a stand-in payment adapter since production
    refuses the sandbox), with extra settings: its own instance folder."""
    from testkit import register_test_gateway

    def make(**config):
        return fresh_app(tmp_path / "prod-instance", clock, ENV="production",
                         TICKETING_PAYMENT_PROVIDER=register_test_gateway(monkeypatch), **config)
    return make


@pytest.fixture
def db(app):
    with own_connection(app.config) as conn:
        yield conn


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(db, clock):
    counter = iter(range(1, 10_000))

    def make(role="staff", username=None, password=PASSWORD):
        name = username or f"{role}{next(counter)}"
        return create_user(db, username=name, password=password, role=role, clock=clock)
    return make


@pytest.fixture
def device_token(db, clock):
    counter = iter(range(1, 10_000))

    def make(role="gate", username=None):
        _user, token = create_device(db, username=username or f"{role}-dev{next(counter)}",
                                     role=role, clock=clock)
        return token
    return make


@pytest.fixture
def login(client, make_user):
    def do(role="staff", c=None):
        c = c or client
        user = make_user(role)
        token = csrf_of(c)
        resp = c.post("/login", data={"username": user.username, "password": PASSWORD,
                                      "csrf_token": token})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return user
    return do


@pytest.fixture
def live_server(app):
    """The app under waitress on a free loopback port, for real-HTTP tests."""
    with serve_app(app) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (its own browser download is not used)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    with browser_page(browser, 390, 844) as pg:   # a phone
        yield pg
