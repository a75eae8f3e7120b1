"""The catalog's plug-in: the site list on the home page, the sites API and the
capacity and opening-hours admin tiles."""
from core.domains import ConsoleLink, HomeSection, Plugin

from . import schedule, services
from .cli import commands
from .views import bp


def _home(db, clock) -> dict:
    return {"statuses": schedule.status_now(db, clock), "areas": services.list_areas(db)}


PLUGIN = Plugin(
    name="catalog",
    blueprints=(bp,),
    commands=(commands,),
    console=(ConsoleLink("catalog.capacity_admin", "console.capacity", position=50),
             ConsoleLink("catalog.hours_admin", "console.hours", position=51)),
    home=HomeSection("catalog/_home.html", _home),
)
