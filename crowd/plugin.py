"""The crowd monitor's plug-in: the control room, camera admin, the worker ingest API,
its commands and the control-room tile."""
from core.domains import ConsoleLink, Plugin

from .cli import commands
from .views import bp

PLUGIN = Plugin(
    name="crowd",
    blueprints=(bp,),
    commands=(commands,),
    console=(ConsoleLink("crowd.dashboard", "console.crowd", position=30),),
)
