"""The command line's foundation: one way for every command to open the database, and
core's own commands (``flask --app app migrate | create-admin | create-user |
create-device``). Each domain keeps its commands in ``<domain>/cli.py`` as a click group
named after the domain and built on ``command_db``."""
from __future__ import annotations

from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext

from .auth import DEVICE_ROLES, PERSON_ROLES, create_device, create_user
from .clock import get_clock
from .db import migrate, own_connection
from .errors import DomainError


@contextmanager
def command_db():
    """A connection for one command run (DATABASE, DB_BUSY_TIMEOUT_MS), closed after it.
    A DomainError becomes a one-line click error instead of a traceback."""
    with own_connection(current_app.config) as db:
        try:
            yield db
        except DomainError as exc:
            raise click.ClickException(exc.message) from None


@click.command("migrate")
@with_appcontext
def migrate_command():
    """Apply all pending database migrations (safe to run twice)."""
    with command_db() as db:
        done = migrate(db)
    click.echo("applied: " + (", ".join(done) if done else "nothing, schema is current"))


def _create_person(username: str, password: str, role: str) -> None:
    with command_db() as db:
        user = create_user(db, username=username, password=password, role=role,
                           clock=get_clock())
    click.echo(f"created {role} {user.username}")


@click.command("create-admin")
@with_appcontext
@click.argument("username")
@click.password_option()
def create_admin_command(username, password):
    """Create the first admin account (asks for the password twice)."""
    _create_person(username, password, "admin")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice(PERSON_ROLES), required=True)
@click.password_option()
def create_user_command(username, role, password):
    """Create a staff or admin account (asks for the password twice)."""
    _create_person(username, password, role)


@click.command("create-device")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice(DEVICE_ROLES), required=True)
def create_device_command(username, role):
    """Create a gate or worker device account and print its token once."""
    with command_db() as db:
        user, token = create_device(db, username=username, role=role, clock=get_clock())
    click.echo(f"created {role} device {user.username}; token (shown once):")
    click.echo(token)


COMMANDS = (migrate_command, create_admin_command, create_user_command, create_device_command)
