"""``flask --app app guide ...``: loading content and pre-generating narration audio."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli import command_db
from core.clock import get_clock

from . import services
from .views import audio_dir

commands = AppGroup("guide", help="The audio guide: content and narration audio.")


@commands.command("load")
@click.option("--force", is_flag=True, help="Overwrite staff edits with the data files.")
def load_command(force):
    """Load POIs, tours and sources from data/guide/ (keeps staff edits unless --force)."""
    with command_db() as db:
        result = services.load_content(db, clock=get_clock(), force=force)
    click.echo("guide content: " + ", ".join(f"{k} {v}" for k, v in result.items()))


@commands.command("audio")
@click.option("--site", default=None, help="Only this site.")
@click.option("--lang", "langs", multiple=True, type=click.Choice(["zh", "en"]),
              help="Only this language (repeatable); default both.")
def audio_command(site, langs):
    """Pre-generate every narration's audio (skips what is cached)."""
    folder = audio_dir(current_app)
    with command_db() as db:
        result = services.pregenerate(
            db, folder, site, tuple(langs) or ("zh", "en"),
            progress=lambda p, lang, kind: click.echo(f"  {p} {lang} {kind}"))
    click.echo(f"narration audio in {folder}: generated {result['generated']}, "
               f"already cached {result['cached']}")
