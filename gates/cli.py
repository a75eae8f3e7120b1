"""``flask --app app gates ...``: registering gates, check-out at closing time, pruning
the scan audit (thin wrappers over gates.services)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from catalog import interface as catalog
from core.cli import command_db
from core.clock import get_clock

from . import services
from .bundle import DocumentPolicy, prepare_bundles, prune_digests
from .tickets import TicketSource

commands = AppGroup("gates", help="Ticket gates: registration, check-out, audit.")


@commands.command("create-gate")
@click.option("--site", required=True, help="Site id, e.g. kongmiao")
@click.option("--name", required=True, help="Gate name, e.g. 'South gate 1'")
@click.option("--direction", type=click.Choice(services.GATE_DIRECTIONS), default="both")
@click.option("--place", default=None, help="Entrance id (its hours apply), e.g. hongmen")
def create_gate_command(site, name, direction, place):
    """Register a gate and print its device token once."""
    with command_db() as db:
        gate, token = services.create_gate(db, site_id=site, name=name, direction=direction,
                                           clock=get_clock(), place_id=place)
    click.echo(f"gate {gate.id} at {gate.site_id} ({gate.direction}); token (shown once):")
    click.echo(token)


@commands.command("checkout")
def checkout_command():
    """Check everyone out of each site whose closing time has passed (idempotent)."""
    clock = get_clock()
    with command_db() as db:
        for site in catalog.list_sites(db):
            n = services.check_out_at_closing(db, site.id, clock)
            click.echo(f"{site.id}: checked out {n}, inside now "
                       f"{services.people_inside(db, site.id, clock)}")


@commands.command("prepare-bundles")
@click.option("--days", type=click.IntRange(1, 7), default=2,
              help="Days from today to prepare (default 2: today and tomorrow)")
def prepare_bundles_command(days):
    """Compute offline bundles' document digests ahead (cron, before opening)."""
    documents = DocumentPolicy.from_config(current_app.config)
    if not documents.enabled:
        click.echo("GATES_BUNDLE_DOCUMENT_KEY is off: bundles carry no document digests")
        return
    with command_db() as db:
        done = prepare_bundles(db, clock=get_clock(), documents=documents,
                               tickets=TicketSource.for_app(current_app), days=days)
    for (site_id, day), n in sorted(done.items()):
        click.echo(f"{site_id} {day}: {n} tickets")


@commands.command("prune")
def prune_command():
    """Delete scan audit rows older than GATES_AUDIT_KEEP_DAYS, and bundle digests of
    days gone."""
    clock = get_clock()
    with command_db() as db:
        n = services.prune_audit(db, keep_days=current_app.config["GATES_AUDIT_KEEP_DAYS"],
                                 clock=clock)
        d = prune_digests(db, before=clock.now().date())
    click.echo(f"pruned {n} scan records, {d} bundle digests")
