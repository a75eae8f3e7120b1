"""The command line's foundation: one way for every command to open the database, and
core's own commands (``flask --app app migrate | create-admin | create-user |
create-device | db backup | db restore | db schedule``). Each domain keeps its commands in ``<domain>/cli.py`` as a click group
named after the domain and built on ``command_db``."""
from __future__ import annotations

from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext

from . import backup as backups
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


db_commands = click.Group("db", help="Backups of the database: backup, restore, schedule.")


@db_commands.command("backup")
@with_appcontext
@click.argument("dest", required=False)
@click.option("--keep", type=int, default=None,
              help="Then keep only the newest N timestamped backups in DEST's folder.")
def backup_command(dest, keep):
    """Copy the database, online, to DEST (a file or a folder; default BACKUP_DIR)."""
    cfg = current_app.config
    try:
        done = backups.backup(cfg["DATABASE"], dest or cfg["BACKUP_DIR"] + "/",
                              at=get_clock().now(), busy_timeout_ms=cfg["DB_BUSY_TIMEOUT_MS"])
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"backup: {done.path} ({done.bytes} bytes, {done.seconds} s, integrity ok)")
    if keep is not None:
        for old in backups.prune(done.path.parent, keep):
            click.echo(f"removed old backup {old}")


@db_commands.command("restore")
@with_appcontext
@click.argument("src", type=click.Path(dir_okay=False))
def restore_command(src):
    """Replace the database with the backup SRC (the site must be stopped)."""
    cfg = current_app.config
    try:
        done = backups.restore(src, cfg["DATABASE"], at=get_clock().now())
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"restored {cfg['DATABASE']} from {done.restored_from}: integrity ok, "
               f"migrations current"
               + (f" (applied {', '.join(done.migrations_applied)})"
                  if done.migrations_applied else ""))
    if done.kept_previous:
        click.echo(f"the database it replaced is kept as {done.kept_previous}")


@db_commands.command("schedule")
@with_appcontext
def schedule_command():
    """Back up every day at BACKUP_TIME into BACKUP_DIR, keeping BACKUP_KEEP (runs until
    stopped; ./run.sh starts it)."""
    import signal
    import threading
    from datetime import timedelta
    cfg, clock = current_app.config, get_clock()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    hour, minute = map(int, cfg["BACKUP_TIME"].split(":"))
    while not stop.is_set():
        now = clock.now()
        due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if due <= now:
            due += timedelta(days=1)
        click.echo(f"next backup at {due.isoformat(timespec='minutes')}")
        while not stop.is_set() and clock.now() < due:
            stop.wait(min(60.0, max(0.5, (due - clock.now()).total_seconds())))
        if stop.is_set():
            break
        try:
            done = backups.backup(cfg["DATABASE"], cfg["BACKUP_DIR"] + "/", at=clock.now(),
                                  busy_timeout_ms=cfg["DB_BUSY_TIMEOUT_MS"])
            backups.prune(done.path.parent, cfg["BACKUP_KEEP"])
            click.echo(f"backup: {done.path} ({done.bytes} bytes, {done.seconds} s)")
        except Exception as exc:  # a failed night must not end the schedule
            current_app.logger.error("daily backup failed: %s", exc,
                                     extra={"event": "backup_failed"})


COMMANDS = (migrate_command, create_admin_command, create_user_command, create_device_command,
            db_commands)
