"""Catalog routes: the public site list and hours (JSON), the capacity admin page, and the
opening-hours exceptions staff enter (a page and a JSON API)."""
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

from . import schedule, services
from .schemas import (DayHours, ExceptionIn, ExceptionOut, ExceptionsOut, ExceptionsQuery,
                      HoursQuery, LiftedOut, LiftIn, SiteOut, SitesOut)

bp = Blueprint("catalog", __name__)


def site_json(status: services.SiteStatus) -> dict:
    s, hours, cap = status.site, status.hours, status.capacity
    return {
        "id": s.id, "area": s.area_id, "name": s.name, "lat": s.lat, "lon": s.lon,
        "open_now": status.open_now,
        "hours_today": None if hours.closed else {
            "open": hours.open, "close": hours.close, "last_entry": hours.last_entry,
            "season": hours.name},
        "closed_reason": hours.reason if hours.closed else None,
        "hours": hours.to_json(),
        "capacity": {"daily": cap.daily, "instant": cap.instant,
                     "daily_source": cap.daily_source, "instant_source": cap.instant_source},
        "zones": [{"id": z.id, "name": z.name, "method": z.method,
                   "capacity": services.zone_capacity(z).instant,
                   "capacity_source": services.zone_capacity(z).instant_source}
                  for z in status.zones],
        "places": [{"id": p.id, "kind": p.kind, "name": p.name,
                    "capacity": services.place_capacity(s, p.id)} for p in s.places],
    }


@bp.get("/api/sites")
@contract(returns=SitesOut)
def api_sites():
    """Every site: open now, today's hours, capacities and zones."""
    return jsonify({"sites": [site_json(st) for st in schedule.status_now(get_db(), get_clock())]})


@bp.get("/api/sites/<site_id>")
@contract(returns=SiteOut, errors={404: ("unknown_site",)})
def api_site(site_id):
    """One site: open now, today's hours, capacities and zones."""
    db = get_db()
    services.get_site(db, site_id)
    status = [st for st in schedule.status_now(db, get_clock()) if st.site.id == site_id][0]
    return jsonify(site_json(status))


@bp.get("/api/sites/<site_id>/hours")
@contract(query=HoursQuery, returns=DayHours, errors={404: ("unknown_site",)})
def api_site_hours(site_id, query: HoursQuery):
    """A day's hours (``?date=YYYY-MM-DD``, default today) with each place's, exceptions
    applied."""
    day = query.date or get_clock().now().date()
    return jsonify(schedule.hours_on(get_db(), site_id, day).to_json())


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
    statuses = schedule.status_now(db, get_clock())
    return render_template("catalog/capacity.html", statuses=statuses,
                           zone_capacity=services.zone_capacity,
                           cable_cars=services.cable_car_capacities,
                           changes=services.capacity_changes(db, 50), lang=get_lang())


# --- exceptions to the opening hours (staff) --------------------------------------------

def _exception_fields(data) -> dict:
    return {"site_id": str(data.get("site_id") or ""), "place_id": data.get("place_id") or None,
            "start": data.get("start"), "end": data.get("end"), "kind": data.get("kind"),
            "open_at": data.get("open"), "close_at": data.get("close"),
            "last_entry": data.get("last_entry"), "reason": data.get("reason")}


@bp.route("/admin/hours", methods=["GET", "POST"])
@role_required("staff")
def hours_admin():
    db = get_db()
    if request.method == "POST":
        site_id, _sep, place_id = request.form.get("target", "").partition("/")
        fields = {**_exception_fields(request.form), "site_id": site_id,
                  "place_id": place_id or None}
        schedule.add_exception(db, **fields, user=current_user(), clock=get_clock())
        flash(_("Saved and logged."))
        return redirect(url_for("catalog.hours_admin"))
    clock = get_clock()
    return render_template("catalog/hours.html", sites=services.list_sites(db),
                           statuses=schedule.status_now(db, clock),
                           exceptions=schedule.list_exceptions(db, clock),
                           log=schedule.hours_log(db, 50), lang=get_lang())


@bp.post("/admin/hours/<int:exception_id>/lift")
@role_required("staff")
def hours_lift(exception_id):
    schedule.lift_exception(get_db(), exception_id, reason=request.form.get("reason", ""),
                            user=current_user(), clock=get_clock())
    flash(_("Withdrawn and logged."))
    return redirect(url_for("catalog.hours_admin"))


@bp.get("/api/catalog/hours/exceptions")
@role_required("staff")
@contract(query=ExceptionsQuery, returns=ExceptionsOut, errors={404: ("unknown_site",)})
def api_exceptions(query: ExceptionsQuery):
    """Exceptions to the opening hours from today on (holiday rules and staff closures)."""
    return jsonify({"exceptions": schedule.list_exceptions(get_db(), get_clock(),
                                                           query.site or None)})


@bp.post("/api/catalog/hours/exceptions")
@role_required("staff")
@contract(body=ExceptionIn, returns=ExceptionOut, status=201,
          errors={400: ("bad_date", "bad_time", "bad_kind", "date_in_past", "bad_range",
                        "hours_required", "reason_required"),
                  404: ("unknown_site", "unknown_place")})
def api_add_exception(body: ExceptionIn):
    """Close a site or a place, or change its hours, for some days; logged with who and
    why. Bookings for those days are refused and their tickets become refundable."""
    ex = schedule.add_exception(get_db(), **_exception_fields(body.model_dump()),
                                user=current_user(), clock=get_clock())
    return jsonify(ex.to_json()), 201


@bp.post("/api/catalog/hours/exceptions/<int:exception_id>/lift")
@role_required("staff")
@contract(body=LiftIn, returns=LiftedOut,
          errors={400: ("reason_required", "already_lifted"), 404: ("unknown_exception",)})
def api_lift_exception(exception_id, body: LiftIn):
    """Withdraw a staff exception, with a reason."""
    schedule.lift_exception(get_db(), exception_id, reason=body.reason,
                            user=current_user(), clock=get_clock())
    return jsonify({"lifted": exception_id})
