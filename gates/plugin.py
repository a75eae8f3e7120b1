"""The gates' plug-in: the device scan API, the handheld page, the audit tile."""
from core.domains import ConsoleLink, Plugin

from .cli import commands
from .views import bp

PLUGIN = Plugin(
    name="gates",
    blueprints=(bp,),
    commands=(commands,),
    console=(ConsoleLink("gates.staff_audit", "console.gates", position=20),),
)
