"""``flask --app app ticketing ...``: hold expiry, the sandbox gateway's deliveries and
loading products (thin wrappers over the services)."""
from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli import command_db
from core.clock import get_clock
from core.db import immediate

from . import payments, quota
from .products import load_products, refresh_rules

commands = AppGroup("ticketing", help="Timed-entry tickets: holds, payments, products.")


def _repeat(every: int | None, run) -> None:
    """Run once, or every ``every`` seconds until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    if every:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        run()
        if not every:
            return
        try:
            if stop.wait(every):
                return
        except KeyboardInterrupt:
            return


_EVERY = click.option("--every", type=click.IntRange(min=1), default=None,
                      help="Repeat every N seconds until stopped (SIGTERM/Ctrl-C).")


@commands.command("expire-holds")
@_EVERY
def expire_holds_command(every):
    """Release holds whose payment time is up (safe to run any time, e.g. every minute)."""
    def run():
        with command_db() as db:
            n = quota.expire_holds(db, get_clock())
        click.echo(f"expired holds: {n}")
    _repeat(every, run)


@commands.command("sandbox-deliver")
@click.option("--url", default=None, help="Base URL of the app (default http://HOST:PORT).")
@click.option("--redeliver", is_flag=True, help="Send every notification again (duplicates).")
@_EVERY
def sandbox_deliver_command(url, redeliver, every):
    """Play the sandbox gateway: POST its queued signed notifications to our webhook."""
    cfg = current_app.config
    base = url or f"http://{cfg['HOST']}:{cfg['PORT']}"

    def run():
        with command_db() as db:
            result = payments.sandbox_deliver(db, base, get_clock(), redeliver=redeliver)
        if not every or result["delivered"] or result["failed"]:
            click.echo(f"sandbox notifications: {result}")
    _repeat(every, run)


@commands.command("load-products")
@click.option("--update", is_flag=True, help="Overwrite admin edits with the data file.")
def load_products_command(update):
    """Load ticket products and fare rules from data/ticketing/products.json: new ones are
    added, the terms of fare rules refreshed; admins' prices and switches are kept unless
    --update."""
    with command_db() as db, immediate(db):
        counts = load_products(db, update=update)
        if not update:
            refresh_rules(db)
    click.echo(f"products loaded: {counts}")
