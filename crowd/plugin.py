"""The crowd monitor's plug-in: the control room, camera admin, the worker ingest API,
its commands and the control-room tile."""
from core import metrics as core_metrics
from core.domains import ConsoleFigure, ConsoleLink, Plugin

from . import metrics
from .cli import commands
from .services import active_alerts
from .views import bp


def _init_app(app) -> None:
    # Occupancy, alert levels and cameras, read from the database at each scrape.
    core_metrics.on_scrape(app, metrics.collect)


PLUGIN = Plugin(
    name="crowd",
    blueprints=(bp,),
    commands=(commands,),
    console=(ConsoleLink("crowd.dashboard", "console.crowd", position=30),),
    figures=(ConsoleFigure("crowd.dashboard", "crowd.console.active_alerts", active_alerts, alarm=True,
                           position=30),),
    init_app=_init_app,
)
