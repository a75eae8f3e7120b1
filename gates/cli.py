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


@commands.command("prune")
def prune_command():
    """Delete scan audit rows older than GATES_AUDIT_KEEP_DAYS."""
    with command_db() as db:
        n = services.prune_audit(db, keep_days=current_app.config["GATES_AUDIT_KEEP_DAYS"],
                                 clock=get_clock())
    click.echo(f"pruned {n} scan records")
