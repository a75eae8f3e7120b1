"""Ticketing's plug-in: the booking pages and JSON API, its commands, the staff tile and
the "Book tickets" button on each site of the home page."""
from core.domains import ConsoleLink, Plugin, SiteLink

from .api_views import bp as api_bp
from .cli import commands
from .views import bp

PLUGIN = Plugin(
    name="ticketing",
    blueprints=(bp, api_bp),
    commands=(commands,),
    console=(ConsoleLink("ticketing.staff_overview", "console.tickets", position=10),),
    site_links=(SiteLink("ticketing.book_site", "home.buy", primary=True, position=10),),
)
