"""``flask --app app catalog ...``: loading the scenic catalog."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from core.cli import command_db

from . import services

commands = AppGroup("catalog", help="The scenic catalog: sites, zones, hours, capacities.")


@commands.command("load")
def load_command():
    """Load (upsert) the scenic catalog from data/catalog/sites.json."""
    with command_db() as db:
        counts = services.load_catalog(db)
    click.echo(f"catalog loaded: {counts}")
