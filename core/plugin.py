"""Core's plug-in: the home page, login, console, accounts admin, /healthz, /metrics and
the foundation's commands."""
from . import metrics
from .cli import COMMANDS
from .domains import ConsoleLink, Plugin
from .views import bp

PLUGIN = Plugin(
    name="core",
    blueprints=(bp, metrics.bp),
    commands=COMMANDS,
    console=(ConsoleLink("core.accounts", "console.accounts", ("admin",), position=90),),
    init_app=metrics.init_app,
)
