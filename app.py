"""The Flask application factory. It wires config, database, errors and blueprints,
and starts nothing: no threads, no camera loops, no model loads (house rule 6)."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from flask import Flask, request

from core import auth, csrf, db, i18n, logs, ratelimit, security, serving, web
from core.clock import clock_for
from core.config import load_config, load_secrets
from core.domains import plugins

ROOT = Path(__file__).resolve().parent


def create_app(config: dict | None = None, *, clock=None, instance_path: str | None = None) -> Flask:
    instance = Path(instance_path or os.environ.get("SCENIC_INSTANCE")
                    or ROOT / "instance").resolve()
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.url_map.converters["int"] = web.RowIdConverter   # before any route is added
    instance.mkdir(parents=True, exist_ok=True)
    settings = load_config(instance, config)
    app.config.update(settings)
    app.config.update(load_secrets(instance))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="scenic_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["SESSION_HOURS"]),
        TESTING=settings["ENV"] == "testing", JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.extensions["scenic.clock"] = clock or clock_for(settings["TIMEZONE"])

    logs.setup(app)
    serving.init_app(app)
    i18n.init_app(app)
    db.init_app(app)
    web.init_app(app)
    security.init_app(app)
    app.wsgi_app = app.extensions["scenic.penalty_box"] = ratelimit.PenaltyBox(app)
    app.wsgi_app = web.TrustedProxy(app)  # outermost: the box sees the visitor's address

    @app.before_request
    def _per_request():
        i18n.use_lang(i18n.select_lang())
        csrf.protect()

    ratelimit.init_app(app)  # its check runs after the language and CSRF checks above

    @app.after_request
    def _remember_lang(response):
        if request.args.get("lang") in app.extensions["scenic.i18n"].languages:
            i18n.remember(response, request.args["lang"])
        return response

    @app.context_processor
    def _template_globals():
        return {"lang": i18n.get_lang(), "html_lang": i18n.html_lang(),
                "csrf_token": csrf.csrf_token, "current_user": auth.current_user}

    installed = plugins()
    app.extensions["scenic.plugins"] = installed
    for plugin in installed:
        for blueprint in plugin.blueprints:
            app.register_blueprint(blueprint)
        for command in plugin.commands:
            app.cli.add_command(command)
        if plugin.init_app is not None:
            plugin.init_app(app)
    return app
