"""The crowd monitor's plug-in: the control room, camera admin, the worker ingest API,
its commands and the control-room tile."""
from core.domains import ConsoleFigure, ConsoleLink, Plugin

from .cli import commands
from .services import active_alerts
from .views import bp

PLUGIN = Plugin(
    name="crowd",
    blueprints=(bp,),
    commands=(commands,),
    console=(ConsoleLink("crowd.dashboard", "console.crowd", position=30),),
    figures=(ConsoleFigure("crowd.dashboard", "crowd.console.active_alerts", active_alerts, alarm=True,
                           position=30),),
)
