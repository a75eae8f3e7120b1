"""Home page, staff login/logout, the console shell and /healthz.

The home page and the console know no domain: they show what the installed plug-ins
declare (``core.domains.Plugin``: home sections, per-site links, console tiles)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (Blueprint, current_app, jsonify, make_response, redirect, render_template,
                   request, session, url_for)

from . import pow
from .auth import (DEVICE_ROLES, authenticate, create_device, create_user, current_user,
                   deactivate_account, list_accounts, login_session, role_required,
                   rotate_device_token)
from .clock import get_clock
from .contracts import contract
from .db import get_db, pending_migrations, ping
from .domains import Plugin
from .errors import ValidationError
from .i18n import UnsupportedLanguage, languages, remember
from .ratelimit import client_key, limiter, limits, setting
from .schemas import Health, PowChallenge
from .serving import pool
from .text import _l

bp = Blueprint("core", __name__)


def _plugins() -> list[Plugin]:
    return current_app.extensions["scenic.plugins"]


@bp.get("/")
def home():
    db, clock = get_db(), get_clock()
    site_links = sorted((link for p in _plugins() for link in p.site_links),
                        key=lambda link: link.position)
    sections = [(p.home.template, p.home.context(db, clock)) for p in _plugins() if p.home]
    return render_template("core/home.html", sections=sections, site_links=site_links)


@bp.get("/lang/<lang>")
def set_lang(lang):
    if lang not in languages():
        raise UnsupportedLanguage(lang)
    target = request.args.get("next") or url_for("core.home")
    if urlsplit(target).netloc or not target.startswith("/"):
        target = url_for("core.home")
    resp = make_response(redirect(target))
    remember(resp, lang)
    return resp


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return url_for("core.console")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(setting("LOGIN_PER_CLIENT"), methods=["POST"])
def login():
    if request.method == "POST":
        cfg = current_app.config
        user = authenticate(get_db(), username=request.form.get("username", ""),
                            password=request.form.get("password", ""),
                            client=client_key(), limits=limits(),
                            max_failures=cfg["LOGIN_MAX_FAILURES"],
                            max_failures_per_ip=cfg["LOGIN_MAX_FAILURES_PER_IP"],
                            window_seconds=cfg["LOGIN_WINDOW_SECONDS"])
        login_session(user)
        return redirect(_safe_next(request.args.get("next")))
    if current_user() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("core/login.html")


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("core.home"))


@bp.get("/console")
@role_required("staff")
def console():
    user = current_user()
    tiles = sorted((link for p in _plugins() for link in p.console
                    if user.has_role(*link.roles)), key=lambda link: link.position)
    # Today's figures first: what a shift opens the console to see.
    db, clock = get_db(), get_clock()
    figures = [(f, f.value(db, clock)) for f in sorted(
        (f for p in _plugins() for f in p.figures if user.has_role(*f.roles)),
        key=lambda f: f.position)]
    return render_template("core/console.html", user=user, figures=figures, today=clock.now(),
                           links=[(link.endpoint, link.label) for link in tiles])


@bp.get("/api/pow/challenge")
@limiter.limit(setting("POW_CHALLENGES_PER_CLIENT"))
@contract(returns=PowChallenge, errors={429: ("rate_limited",)})
def pow_challenge():
    """A fresh proof-of-work challenge (ALTCHA v2 JSON) for an anonymous write."""
    cfg = current_app.config
    challenge = pow.issue(cfg["SECRET_KEY"], now=get_clock().now().timestamp(),
                          ttl_s=cfg["POW_TTL_SECONDS"], max_number=cfg["POW_MAX_NUMBER"])
    resp = jsonify(challenge)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/healthz")
@pool("any")  # every pool answers it: the supervisor and the front check each one
@contract(returns={200: Health, 503: Health})
def healthz():
    """The database answers and every migration is applied (503 otherwise)."""
    try:
        db = get_db()
        ping(db)
        pending = pending_migrations(db)
    except Exception as exc:  # the point of a health check is to report, not raise
        current_app.logger.error("health check failed", exc_info=exc)
        return jsonify({"status": "error", "db": "unreachable"}), 503
    if pending:
        return jsonify({"status": "error", "db": "ok", "migrations": "pending",
                        "pending": pending}), 503
    return jsonify({"status": "ok", "db": "ok", "migrations": "current"})


@bp.route("/admin/accounts", methods=["GET", "POST"])
@role_required("admin")
def accounts():
    """Accounts admin: people (admin/staff) and devices (gate/worker tokens)."""
    db, clock = get_db(), get_clock()
    elsewhere = {d.role: d for p in _plugins() for d in p.device_pages}
    new_token = None
    if request.method == "POST":
        action = request.form.get("action", "")
        role = request.form.get("role", "")
        username = request.form.get("username", "").strip()
        if action == "create" and role in elsewhere:
            raise ValidationError("device_has_own_page", elsewhere[role].reason)
        if action == "create" and role in DEVICE_ROLES:
            _user, new_token = create_device(db, username=username, role=role, clock=clock)
        elif action == "create":
            create_user(db, username=username, password=request.form.get("password", ""),
                        role=role, clock=clock,
                        display_name=request.form.get("display_name", "").strip()[:80])
        elif action in ("rotate", "disable"):
            user_id = request.form.get("user_id", "")
            if not user_id.isdigit():
                raise ValidationError("bad_account", _l("Choose an account."))
            if action == "rotate":
                new_token = rotate_device_token(db, user_id=int(user_id), clock=clock)
            else:
                deactivate_account(db, user_id=int(user_id), by=current_user(), clock=clock)
        else:
            raise ValidationError("bad_action", _l("Unknown action."))
        if new_token is None:
            return redirect(url_for("core.accounts"))
    resp = make_response(render_template(
        "core/accounts.html", accounts=list_accounts(db), new_token=new_token,
        device_roles=[r for r in DEVICE_ROLES if r not in elsewhere],
        device_pages=list(elsewhere.values())))
    resp.headers["Cache-Control"] = "no-store"  # a new token is shown once
    return resp
