"""The gates' plug-in: the device scan API, the handheld page, the audit tile."""
from core import metrics as core_metrics
from core.domains import ConsoleFigure, ConsoleLink, Plugin

from . import metrics
from .cli import commands
from .services import inside_now
from .views import bp


def _init_app(app) -> None:
    core_metrics.on_scrape(app, metrics.collect)   # people inside, read at each scrape


PLUGIN = Plugin(
    name="gates",
    blueprints=(bp,),
    commands=(commands,),
    console=(ConsoleLink("gates.staff_audit", "console.gates", position=20),),
    figures=(ConsoleFigure("gates.staff_audit", "gates.console.inside_now", inside_now, position=20),),
    init_app=_init_app,
)
