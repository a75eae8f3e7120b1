"""Ticketing's plug-in: the booking pages and JSON API, its commands, the staff tile and
the "Book tickets" button on each site of the home page."""
from core.domains import ConsoleLink, Plugin, SiteLink

from .api_views import bp as api_bp
from .cli import commands
from .providers import check_provider_setting
from .views import bp


def init_app(app) -> None:
    # Stops start-up (ConfigError naming the setting) on a sandbox in production.
    check_provider_setting(app.config)


PLUGIN = Plugin(
    name="ticketing",
    blueprints=(bp, api_bp),
    commands=(commands,),
    console=(ConsoleLink("ticketing.staff_overview", "console.tickets", position=10),),
    site_links=(SiteLink("ticketing.book_site", "home.buy", primary=True, position=10),),
    init_app=init_app,
)
