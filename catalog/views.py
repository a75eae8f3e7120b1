"""Catalog routes: public site list (JSON) and the capacity admin page."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.auth import current_user, role_required
from core.clock import get_clock
from core.contracts import contract
from core.db import get_db
from core.errors import Forbidden, ValidationError
from core.i18n import get_lang
from core.text import _l

from . import services
from .schemas import SiteOut, SitesOut

bp = Blueprint("catalog", __name__)


def site_json(status: services.SiteStatus) -> dict:
    s, season, cap = status.site, status.season, status.capacity
    return {
        "id": s.id, "area": s.area_id, "name": s.name, "lat": s.lat, "lon": s.lon,
        "open_now": status.open_now,
        "hours_today": None if season is None else {
            "open": season.open, "close": season.close, "last_entry": season.last_entry,
            "season": season.name},
        "capacity": {"daily": cap.daily, "instant": cap.instant,
                     "daily_source": cap.daily_source, "instant_source": cap.instant_source},
        "zones": [{"id": z.id, "name": z.name,
                   "capacity": services.zone_capacity(z).instant} for z in status.zones],
    }


@bp.get("/api/sites")
@contract(returns=SitesOut)
def api_sites():
    """Every site: open now, today's hours, capacities and zones."""
    return jsonify({"sites": [site_json(st) for st in services.status_now(get_db(), get_clock())]})


@bp.get("/api/sites/<site_id>")
@contract(returns=SiteOut, errors={404: ("unknown_site",)})
def api_site(site_id):
    """One site: open now, today's hours, capacities and zones."""
    db = get_db()
    services.get_site(db, site_id)
    status = [st for st in services.status_now(db, get_clock()) if st.site.id == site_id][0]
    return jsonify(site_json(status))


def _parse_capacity(raw: str):
    raw = (raw or "").strip()
    if raw == "":
        return None
    if not raw.isdigit():
        raise ValidationError("bad_capacity", _l("A capacity must be a whole number above 0."))
    return int(raw)


@bp.route("/admin/capacity", methods=["GET", "POST"])
@role_required("staff")
def capacity_admin():
    db = get_db()
    if request.method == "POST":
        user = current_user()
        if not user.has_role("admin"):
            raise Forbidden("forbidden", _l("Only administrators may change capacities."))
        services.adjust_capacity(db, kind=request.form.get("kind", ""),
                                 target_id=request.form.get("target_id", ""),
                                 field=request.form.get("field", ""),
                                 value=_parse_capacity(request.form.get("value")),
                                 reason=request.form.get("reason", ""), user=user,
                                 clock=get_clock())
        flash(_("Capacity updated and logged."))
        return redirect(url_for("catalog.capacity_admin"))
    statuses = services.status_now(db, get_clock())
    return render_template("catalog/capacity.html", statuses=statuses,
                           zone_capacity=services.zone_capacity,
                           changes=services.capacity_changes(db, 50), lang=get_lang())
