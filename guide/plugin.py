"""The audio guide's plug-in: visitor pages and APIs, the content admin tile, the "Audio
guide" button on each site of the home page, and where its model caches live."""
from core import inference
from core.domains import ConsoleLink, Plugin, SiteLink

from . import jobs, models
from .cli import commands
from .views import bp


def _init_app(app) -> None:
    # Models load once per process (guide.models), so their cache folder is the process's.
    models.use_model_dir(app.config["GUIDE_MODEL_DIR"] or None)
    # What each model worker of the inference pool loads when it starts (not now).
    inference.on_start(app, jobs.warm, jobs.job_settings(app.config))


PLUGIN = Plugin(
    name="guide",
    blueprints=(bp,),
    commands=(commands,),
    console=(ConsoleLink("guide.admin_pois", "console.guide", position=40),),
    site_links=(SiteLink("guide.site_page", "home.guide", position=20),),
    init_app=_init_app,
)
