"""Core's plug-in: the home page, login, console, accounts admin, /healthz, /metrics, the
API's OpenAPI document and its staff docs, the contract checks under tests, and the
foundation's commands."""
from . import api_docs, contracts, metrics
from .cli import COMMANDS
from .domains import ConsoleLink, Plugin
from .views import bp


def _init_app(app) -> None:
    contracts.init_app(app)
    metrics.init_app(app)


PLUGIN = Plugin(
    name="core",
    blueprints=(bp, api_docs.bp, metrics.bp),
    commands=COMMANDS,
    console=(ConsoleLink("core.accounts", "console.accounts", ("admin",), position=90),
             ConsoleLink("api_docs.api_docs", "console.api_docs", position=85)),
    init_app=_init_app,
)
