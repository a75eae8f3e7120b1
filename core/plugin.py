"""Core's plug-in: the home page, login, console, accounts admin, /healthz and the
foundation's commands."""
from .cli import COMMANDS
from .domains import ConsoleLink, Plugin
from .views import bp

PLUGIN = Plugin(
    name="core",
    blueprints=(bp,),
    commands=COMMANDS,
    console=(ConsoleLink("core.accounts", "console.accounts", ("admin",), position=90),),
)
