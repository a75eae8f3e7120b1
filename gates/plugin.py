"""The gates' plug-in: the device scan API, the handheld page, the audit tile."""
from core import metrics as core_metrics
from core.domains import ConsoleFigure, ConsoleLink, DevicePage, Plugin
from core.text import _l

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
    # A gate's token is bound to its gate (site, direction) or every scan is refused: gates
    # are made on the gates page, never as bare accounts on the accounts page.
    device_pages=(DevicePage("gate", "gates.staff_audit", "gates.accounts_link", _l(
        "Gates are registered on the gates page with their site and direction; "
        "a bare gate account could not scan."), anchor="new-gate"),),
    init_app=_init_app,
)
