"""The gates' plug-in: the device scan API, the handheld page, the audit tile."""
from core.domains import ConsoleFigure, ConsoleLink, Plugin

from .cli import commands
from .services import inside_now
from .views import bp

PLUGIN = Plugin(
    name="gates",
    blueprints=(bp,),
    commands=(commands,),
    console=(ConsoleLink("gates.staff_audit", "console.gates", position=20),),
    figures=(ConsoleFigure("gates.staff_audit", "gates.console.inside_now", inside_now, position=20),),
)
