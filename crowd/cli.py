"""``flask --app app crowd ...``: the worker and maintenance commands (thin wrappers)."""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from catalog import interface as catalog
from core.cli import command_db
from core.clock import get_clock

from . import services, workers

commands = AppGroup("crowd", help="Crowd monitoring: the counting worker, model caches, alerts.")


@commands.command("worker")
@click.option("--url", default=None, help="Site base URL (default http://HOST:PORT).")
@click.option("--token-file", default=None,
              help="File holding the worker token (default instance/crowd-worker.token; "
                   "or set CROWD_WORKER_TOKEN).")
@click.option("--camera", "cameras", multiple=True, help="Run only these camera ids.")
@click.option("--backend", type=click.Choice(["openvino", "pytorch"]), default="openvino")
@click.option("--precision", type=click.Choice(["int8", "fp32"]), default=None,
              help="OpenVINO model precision (default: the CROWD_DETECTOR_PRECISION setting).")
@click.option("--seconds", type=float, default=None, help="Stop after this long.")
@click.option("--counts", type=int, default=None,
              help="Stop after posting this many fresh counts (with --seconds as a cap).")
@click.option("--no-frames", is_flag=True, help="Do not post annotated live frames.")
def worker_command(url, token_file, cameras, backend, precision, seconds, counts, no_frames):
    """Count people on every enabled camera and post to the ingest API."""
    from .checks import SourcePolicy
    from .worker import PostError, run_worker
    cfg = current_app.config
    url = url or f"http://{cfg['HOST']}:{cfg['PORT']}"
    token = os.environ.get("CROWD_WORKER_TOKEN", "").strip()
    if not token:
        path = Path(token_file or Path(current_app.instance_path) / "crowd-worker.token")
        if not path.is_file():
            raise click.ClickException(
                f"no worker token: create one with 'flask --app app create-device "
                f"crowd-worker --role worker' and save it to {path}")
        token = path.read_text().strip()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        run_worker(url, token, camera_ids=cameras, backend=backend,
                   precision=precision or cfg["CROWD_DETECTOR_PRECISION"], seconds=seconds,
                   annotate=not no_frames, stop=stop, counts=counts,
                   sources=SourcePolicy.from_config(cfg))
    except PostError as exc:
        raise click.ClickException(f"the site refused the worker: {exc}") from None


@commands.command("assign-cameras")
@click.argument("username")
@click.argument("camera_ids", nargs=-1)
@click.option("--replace", is_flag=True, help="Replace the worker's cameras (default: add).")
def assign_cameras_command(username, camera_ids, replace):
    """Let a worker device report for these cameras."""
    with command_db() as db:
        now = workers.assign_cameras(db, list(camera_ids), username=username, replace=replace)
    click.echo(f"{username} may report for: {', '.join(now) or 'no camera'}")


@commands.command("unassign-cameras")
@click.argument("username")
@click.argument("camera_ids", nargs=-1, required=True)
def unassign_cameras_command(username, camera_ids):
    """Stop a worker device reporting for these cameras."""
    with command_db() as db:
        now = workers.unassign_cameras(db, list(camera_ids), username=username)
    click.echo(f"{username} may report for: {', '.join(now) or 'no camera'}")


@commands.command("workers")
def workers_command():
    """List worker devices and the cameras each may report for."""
    with command_db() as db:
        for w in workers.list_workers(db):
            click.echo(f"{w['username']}: {', '.join(w['cameras']) or 'no camera'}")


@commands.command("prepare-models")
def prepare_models_command():
    """Build the person detector's OpenVINO models, FP32 and INT8 (offline, idempotent)."""
    from .models import prepare
    click.echo(prepare())


@commands.command("evaluate")
def evaluate_command():
    """Re-evaluate levels, alerts and stale cameras once (e.g. from cron)."""
    with command_db() as db:
        changes = services.evaluate(db, get_clock(),
                                    services.Policy.from_config(current_app.config))
    click.echo(f"{len(changes)} change(s)")


@commands.command("forecast")
@click.option("--site", "sites", multiple=True, help="Only these sites (default: all).")
def forecast_command(sites):
    """Compute and store each site's 3-hour and 7-day forecasts (e.g. from cron), and
    print when a site is expected to reach the warning level."""
    clock = get_clock()
    policy = services.Policy.from_config(current_app.config)
    with command_db() as db:
        for site_id in sites or [s.id for s in catalog.list_sites(db)]:
            f = services.site_forecast(db, site_id, clock, policy=policy)
            occ = f["occupancy"]
            if occ is None:
                click.echo(f"{site_id}: closed")
                continue
            hit = f["crossing"]
            click.echo(f"{site_id} ({f['source']}): now {occ['start_people']}, in 3 h "
                       f"{occ['mean'][-1]:.0f} [{occ['low'][-1]:.0f}-{occ['high'][-1]:.0f}]"
                       + (f"; {round(100 * hit['ratio'])}% expected at {hit['at'][11:16]}"
                          if hit else "") + ("; 7 days: " + ", ".join(
                              str(d["mean"]) for d in f["daily"]["days"]) if f["daily"] else ""))
