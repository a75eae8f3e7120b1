"""Crowd routes: control-room dashboard (SSE, MJPEG), camera admin, worker ingest API.

Views are thin: parse, call one service, render. Worker endpoints take a ``worker``
bearer token; staff pages take a session (and the CSRF token on every change).
"""
from __future__ import annotations

import json
import threading
import time

from flask import (Blueprint, Response, current_app, flash, g, jsonify, redirect,
                   render_template, request, url_for)
from flask_babel import gettext as _

from catalog import interface as catalog
from core import inference
from core.auth import current_user, role_required, token_required
from core.clock import get_clock
from core.contracts import contract
from core.csrf import csrf_exempt
from core.db import connect, get_db
from core.errors import DomainError, ValidationError
from core.i18n import get_lang
from core.serving import pool, stream_slot
from core.text import _l

from . import cameras, checks, jobs, services, workers
from .live import frames_of
from .schemas import (AlertOut, AlertsOut, AlertsQuery, CameraIn, CameraOut, CamerasOut,
                      DashboardOut, ForecastOut, ForecastQuery, FrameOut, FrameUpload, HeatmapOut,
                      IngestOut, ObservationIn, OccupancyOut, RegionsIn, TrendOut, TrendQuery)
from .stream import StateFeed

bp = Blueprint("crowd", __name__)

_eval_lock = threading.Lock()
_last_eval = {"ts": 0.0}
_feed_lock = threading.Lock()


def _policy():
    return services.Policy.from_config(current_app.config)


def _sources():
    return checks.SourcePolicy.from_config(current_app.config)


# --- worker API (bearer token, role worker) ---------------------------------------------

# Three views keep their endpoint names but not their function names, which would hide
# the crowd.cameras module they call.
@bp.get("/api/crowd/worker/config", endpoint="worker_config")
@token_required("worker")
@contract(returns=CamerasOut)
def api_worker_config():
    """This worker's enabled cameras with their sources and regions."""
    return jsonify(workers.worker_config(get_db(), g.device))


@bp.post("/api/crowd/observations")
@csrf_exempt  # bearer-token only: no cookie authority to forge; a missing token is a 401
@token_required("worker")
@contract(body=ObservationIn, returns=IngestOut, status=201,
          errors={400: ("counts_while_offline", "missing_people", "unknown_area",
                        "missing_area", "unknown_line"),
                  403: ("camera_not_allowed",), 409: ("camera_disabled",)})
def ingest(body: ObservationIn):
    """A worker's report for one of its cameras: people in view, per area, line crossings,
    heat."""
    result = services.ingest(get_db(), body, worker=g.device, clock=get_clock(),
                             policy=_policy(), frames=frames_of(current_app))
    return jsonify(result), 201


@bp.post("/api/crowd/cameras/<camera_id>/frame")
@csrf_exempt  # bearer-token only, as above
@token_required("worker")
@contract(upload=FrameUpload, media="image/jpeg", returns=FrameOut, status=201,
          errors={400: ("invalid_jpeg", "frame_too_large"), 403: ("camera_not_allowed",)})
def post_frame(camera_id):
    """The newest annotated frame of a camera, for the live view (kept in memory only)."""
    workers.authorize_camera(get_db(), g.device, camera_id)
    data = request.get_data(cache=False)
    limit = current_app.config["CROWD_FRAME_MAX_BYTES"]
    if request.mimetype != "image/jpeg" or len(data) < 4 or data[:2] != b"\xff\xd8" \
            or data[-2:] != b"\xff\xd9":
        raise ValidationError("invalid_jpeg", _l("Send one JPEG image with Content-Type "
                                                 "image/jpeg."))
    if len(data) > limit:
        raise ValidationError("frame_too_large", _l("A frame may be at most %(limit)s bytes.",
                                                    limit=limit))
    seq = frames_of(current_app).put(camera_id, data)
    return jsonify({"camera_id": camera_id, "seq": seq}), 201


# --- public: a coarse level per site for visitors ----------------------------------------

@bp.get("/api/crowd/sites/<site_id>/occupancy")
@contract(returns=OccupancyOut, errors={404: ("unknown_site",)})
def public_occupancy(site_id):
    """A coarse crowd level for visitors (no counts)."""
    occ = services.site_occupancy(get_db(), site_id, get_clock(), policy=_policy())
    return jsonify({"site_id": occ.site_id, "level": occ.level,
                    "ratio": None if occ.ratio is None else round(occ.ratio, 2)})


# --- control room ----------------------------------------------------------------------------

@bp.get("/crowd")
@role_required("staff")
def dashboard():
    db = get_db()
    state = services.dashboard_state(db, get_clock(), policy=_policy())
    return render_template("crowd/dashboard.html", state=state)


@bp.get("/api/crowd/state")
@role_required("staff")
@contract(returns=DashboardOut)
def state():
    """Everything the control room shows: sites, zones, cameras, open alerts."""
    _maybe_evaluate(get_db())
    return jsonify(services.dashboard_state(get_db(), get_clock(), policy=_policy()))


def _maybe_evaluate(db) -> None:
    """Re-evaluate at most once a second per process, so a silent worker still raises
    'camera offline' while someone watches the dashboard."""
    if _due_for_evaluation():
        services.evaluate(db, get_clock(), _policy())


def _due_for_evaluation() -> bool:
    now = time.monotonic()
    with _eval_lock:
        if now - _last_eval["ts"] < 1.0:
            return False
        _last_eval["ts"] = now
        return True


def _state_feed() -> StateFeed:
    """This process's dashboard feed (crowd.stream), made by the first stream."""
    app = current_app._get_current_object()
    with _feed_lock:
        feed = app.extensions.get("crowd.state_feed")
        if feed is None:
            cfg, clock, policy = app.config, get_clock(), _policy()
            db = connect(cfg["DATABASE"], cfg["DB_BUSY_TIMEOUT_MS"])  # the feed thread's own

            def compute() -> dict:
                if _due_for_evaluation():
                    services.evaluate(db, clock, policy)
                return services.dashboard_state(db, clock, policy=policy)
            feed = app.extensions["crowd.state_feed"] = StateFeed(
                compute, cfg["CROWD_SSE_INTERVAL"])
    return feed


@bp.get("/crowd/stream")
@pool("live")
@role_required("staff")
def stream():
    release = stream_slot(_l("Too many live dashboards are open."))
    feed = _state_feed()
    resp = Response(feed.events(current_app.config["CROWD_SSE_MAX_SECONDS"]),
                    mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    # Give the slot back when the server closes the response, even one never iterated
    # (a HEAD request, a client gone before the first byte).
    resp.call_on_close(release)
    return resp


@bp.post("/api/crowd/alerts/<int:alert_id>/ack")
@role_required("staff")
@contract(returns=AlertOut, errors={404: ("unknown_alert",), 409: ("alert_not_open",)})
def acknowledge(alert_id):
    """Mark an open alert as seen."""
    row = services.acknowledge(get_db(), alert_id, user=current_user(), clock=get_clock(),
                               policy=_policy())
    return jsonify(row)


@bp.get("/api/crowd/alerts")
@role_required("staff")
@contract(query=AlertsQuery, returns=AlertsOut)
def alerts(query: AlertsQuery):
    """The latest alerts, newest first."""
    active = query.active == "1"
    return jsonify({"alerts": services.list_alerts(get_db(), active_only=active)})


@bp.get("/api/crowd/trend")
@role_required("staff")
@contract(query=TrendQuery, returns=TrendOut)
def trend(query: TrendQuery):
    """People per minute (the last hour) or per 10 minutes (the last day)."""
    return jsonify(services.trend(get_db(), get_clock(), site_id=query.site,
                                  camera_id=query.camera, window=query.window))


@bp.get("/api/crowd/forecast")
@pool("inference")  # fits models (crowd/jobs.py)
@role_required("staff")
@contract(query=ForecastQuery, returns=ForecastOut,
          errors={404: ("unknown_site",), 503: ("busy",)})
def forecast(query: ForecastQuery):
    """A site's occupancy for the next 3 hours (and when it may reach the warning level),
    and its visitors for the next 7 days (fitted in the inference pool: 503 busy when its
    queue is full)."""
    cfg = current_app.config
    return jsonify(inference.run(current_app, jobs.site_forecast,
                                 {"DATABASE": cfg["DATABASE"],
                                  "DB_BUSY_TIMEOUT_MS": cfg["DB_BUSY_TIMEOUT_MS"]},
                                 query.site.strip(), get_clock(), _policy()))


@bp.get("/api/crowd/cameras/<camera_id>/heatmap")
@role_required("staff")
@contract(returns=HeatmapOut, errors={404: ("unknown_camera",)})
def heatmap(camera_id):
    """Where people stood in a camera's view, on a 32x24 grid."""
    return jsonify(services.heatmap(get_db(), camera_id, get_clock(), policy=_policy()))


@bp.get("/crowd/cameras/<camera_id>/live.mjpg")
@pool("live")
@role_required("staff")
def live(camera_id):
    cameras.get_camera(get_db(), camera_id)
    release = stream_slot(_l("Too many live views are open."))
    store = frames_of(current_app)
    max_s = current_app.config["CROWD_SSE_MAX_SECONDS"]

    def parts():
        started, seq = time.monotonic(), 0
        while time.monotonic() - started < max_s:
            item = store.wait_newer(camera_id, seq, timeout=5.0)
            if item is None:
                return  # the feed went quiet: end cleanly, the page retries
            seq, jpeg = item
            yield (b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                   + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")

    resp = Response(parts(), mimetype="multipart/x-mixed-replace; boundary=frame",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    resp.call_on_close(release)
    return resp


@bp.get("/crowd/cameras/<camera_id>/snapshot.jpg")
@role_required("staff")
def snapshot(camera_id):
    """The newest annotated frame, on demand (from memory; nothing is stored)."""
    cameras.get_camera(get_db(), camera_id)
    item = frames_of(current_app).latest(camera_id)
    if item is None:
        raise DomainError("no_snapshot", _l("No live frame from this camera right now."), 404)
    return Response(item[1], mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


# --- camera admin ------------------------------------------------------------------------------

@bp.get("/crowd/cameras", endpoint="cameras")
@role_required("staff")
def cameras_page():
    db = get_db()
    is_admin = current_user().has_role("admin")
    return render_template("crowd/cameras.html", cameras=cameras.list_cameras(db),
                           sites={s.id: s for s in catalog.list_sites(db)},
                           workers=workers.list_workers(db) if is_admin else [])


@bp.post("/crowd/workers/<int:user_id>/cameras", endpoint="worker_cameras")
@role_required("admin")
def worker_cameras_form(user_id):
    workers.assign_cameras(get_db(), request.form.getlist("camera"), user_id=user_id)
    flash(_("Saved the worker's cameras"))
    return redirect(url_for("crowd.cameras") + "#workers")


CAMERA_ERRORS = {400: ("invalid_source", "source_not_allowed", "zone_not_in_site",
                       "too_few_points", "zero_area", "point_outside_frame", "duplicate_region",
                       "zero_length_line", "invalid_capacity"),
                 404: ("unknown_site", "unknown_zone")}


@bp.get("/api/crowd/cameras")
@role_required("staff")
@contract(returns=CamerasOut)
def api_cameras():
    """Every camera (sources with any password masked)."""
    return jsonify({"cameras": [c.to_json(with_source=False)
                                for c in cameras.list_cameras(get_db())]})


@bp.post("/api/crowd/cameras")
@role_required("admin")
@contract(body=CameraIn, returns=CameraOut, status=201,
          errors={**CAMERA_ERRORS, 409: ("camera_exists",)})
def api_create_camera(body: CameraIn):
    """Add a camera, with its regions if given."""
    cam = cameras.save_camera(get_db(), body, clock=get_clock(), create=True,
                              sources=_sources())
    return jsonify(cam.to_json(with_source=False)), 201


@bp.put("/api/crowd/cameras/<camera_id>")
@role_required("admin")
@contract(body=CameraIn, returns=CameraOut,
          errors={**CAMERA_ERRORS, 404: ("unknown_site", "unknown_zone", "unknown_camera")})
def api_update_camera(camera_id, body: CameraIn):
    """Edit a camera (the id in the path wins); a smaller frame must still hold its regions;
    the masked source sent back keeps the stored one."""
    cam = cameras.save_camera(get_db(), body.model_copy(update={"id": camera_id}),
                              clock=get_clock(), create=False, sources=_sources())
    return jsonify(cam.to_json(with_source=False))


@bp.put("/api/crowd/cameras/<camera_id>/regions")
@role_required("staff")
@contract(body=RegionsIn, returns=CameraOut,
          errors={**CAMERA_ERRORS, 404: ("unknown_camera",)})
def api_regions(camera_id, body: RegionsIn):
    """Redraw a camera's counting areas and lines (staff may; the rest is for admins)."""
    cam = cameras.save_regions(get_db(), camera_id, body.regions, clock=get_clock())
    return jsonify(cam.to_json(with_source=False))


def _form_camera() -> dict:
    form = request.form
    data = {k: form.get(k, "") for k in ("id", "name", "site_id", "zone_id", "source", "width",
                                          "height", "tile_rows", "tile_cols", "tile_overlap",
                                          "inertia", "detect_every", "wide_rows")}
    data["detect_every"] = form.get("detect_every") or 1
    data["wide_rows"] = form.get("wide_rows") or 0
    data["full_frame"] = form.get("full_frame") == "on"
    data["enabled"] = form.get("enabled") == "on"
    raw = form.get("regions", "").strip()
    if raw:
        try:
            data["regions"] = json.loads(raw)
        except ValueError:
            raise ValidationError("invalid_regions",
                                  _l("The drawn regions could not be read.")) from None
    return data


def _edit_page(cam, form_data, error, status=200):
    if "regions" not in form_data:   # none sent (no script): the stored ones are kept
        form_data = {**form_data, "regions": [dict(r) for r in cam.regions] if cam else []}
    db = get_db()
    sites = catalog.list_sites(db)
    zones = {s.id: catalog.list_zones(db, s.id) for s in sites}
    return render_template("crowd/camera_form.html", cam=cam, form=form_data, error=error,
                           sites=sites, zones=zones), status


@bp.route("/crowd/cameras/new", methods=["GET", "POST"])
@role_required("admin")
def new_camera():
    if request.method == "GET":
        return _edit_page(None, {"width": 768, "height": 576, "tile_rows": 2, "tile_cols": 2,
                                 "tile_overlap": 0.2, "inertia": 3, "enabled": True, "detect_every": 1,
                                 "wide_rows": 0,
                                 "regions": []}, None)
    data = _form_camera()
    try:
        cam = cameras.save_camera(get_db(), data, clock=get_clock(), create=True,
                                  sources=_sources())
    except DomainError as exc:
        return _edit_page(None, data, exc.localized(get_lang()), exc.status)
    flash(_("Saved camera %(id)s", id=cam.id))
    return redirect(url_for("crowd.cameras"))


@bp.route("/crowd/cameras/<camera_id>/edit", methods=["GET", "POST"])
@role_required("staff")
def edit_camera(camera_id):
    db = get_db()
    cam = cameras.get_camera(db, camera_id)
    is_admin = current_user().role == "admin"
    if request.method == "GET":
        # Masked even for admins: sending it back unchanged keeps the stored credentials.
        return _edit_page(cam, cam.to_json(with_source=False), None)
    data = _form_camera()
    try:
        if is_admin:
            data["id"] = camera_id
            cam = cameras.save_camera(db, data, clock=get_clock(), create=False,
                                      sources=_sources())
        else:  # staff may redraw regions; sources and sites are for admins
            cam = cameras.save_regions(db, camera_id, data.get("regions", []),
                                        clock=get_clock())
    except DomainError as exc:
        # Re-shown after an error: what the admin typed in this request (stored
        # credentials are never shown; the unchanged masked text keeps them).
        form = dict(data, id=camera_id) if is_admin else \
            dict(cam.to_json(with_source=False), regions=data.get("regions", []))
        return _edit_page(cam, form, exc.localized(get_lang()), exc.status)
    flash(_("Saved camera %(id)s", id=cam.id))
    return redirect(url_for("crowd.cameras"))


@bp.post("/crowd/cameras/<camera_id>/delete", endpoint="delete_camera")
@role_required("admin")
def delete_camera_form(camera_id):
    cameras.delete_camera(get_db(), camera_id)
    flash(_("Deleted camera %(camera_id)s", camera_id=camera_id))
    return redirect(url_for("crowd.cameras"))
