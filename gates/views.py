"""Gate routes: the device scan API, offline bundle and uploads, people inside, the
handheld gate page for staff phones, photo decoding, and the staff audit page."""
from __future__ import annotations

import sqlite3

from flask import (Blueprint, current_app, flash, g, jsonify, make_response, redirect,
                   render_template, request, url_for)
from flask_babel import gettext as _

from admission.qr import decode_qr
from admission.rules import REASONS, Rules
from catalog import interface as catalog
from core.auth import current_user, device_or_role_required, role_required, token_required
from core.clock import get_clock
from core.contracts import contract
from core.csrf import csrf_exempt
from core.db import get_db
from core.errors import DomainError, ValidationError
from core.i18n import get_lang, label
from core.text import _l

from . import metrics, services
from .bundle import DocumentPolicy, bundle
from .schemas import (BundleOut, CountsOut, CountsQuery, HandheldScanIn, InsideOut,
                      OfflineResultsOut, OfflineScansIn, PhotoOut, PhotoUpload, ScanIn, ScanOut,
                      SiteQuery)
from .tickets import TicketSource

bp = Blueprint("gates", __name__)


def _rules() -> Rules:
    cfg = current_app.config
    return Rules(cfg["GATES_SLOT_EARLY_MINUTES"], cfg["GATES_SLOT_LATE_MINUTES"])


def _scan_kwargs() -> dict:
    return {"clock": get_clock(), "rules": _rules(),
            "tickets": TicketSource.for_app(current_app),
            "hash_key": current_app.config["PII_HASH_KEY"]}


def _device_gate() -> services.Gate:
    return services.gate_for_device(get_db(), g.device)


def _busy_is_503(fn, *args, **kwargs):
    # A write lock held past the busy timeout is a 503 the gate retries (the gate client
    # decides offline meanwhile), never a 500; the transaction was rolled back whole.
    try:
        return fn(*args, **kwargs)
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        raise DomainError("busy", _l("The server is busy; try again in a moment."), 503) from None


# --- device API ----------------------------------------------------------------

# What deciding a scan can refuse with once its fields check out (services.parse_scan,
# services.scan); 503 busy: the gate retries, deciding offline meanwhile.
SCAN_ERRORS = {400: ("code_or_document", "bad_method", "direction_not_allowed"),
               404: ("unknown_site",), 409: ("nonce_reused",), 503: ("busy",)}


def _scan_body_limit(cfg) -> int:
    # Oversized bodies are refused before they are read (413 too_large).
    return cfg["GATES_SCAN_MAX_BYTES"]


@bp.post("/api/gate/scan")
@csrf_exempt  # bearer-token only: no cookie authority to forge; a missing token is a 401
@token_required("gate")
@contract(body=ScanIn, returns=ScanOut, body_limit=_scan_body_limit,
          errors={**SCAN_ERRORS, 403: ("not_a_gate",)})
def api_scan(body: ScanIn):
    """Decide one scan at this gate: allow or deny with a stable reason, admitting a
    ticket at most once; the same nonce again returns the first answer."""
    return _answer_scan(get_db(), _device_gate(), body, "online")


def _answer_scan(db, gate, body, source: str):
    """One scan decided at ``gate``, counted (metrics) once answered."""
    req = services.parse_scan(body, get_clock().tz)
    answer = _busy_is_503(services.scan, db, gate, req, source=source, **_scan_kwargs())
    metrics.scan_answered(gate.site_id, source, req.direction, answer)
    return jsonify(answer)


@bp.get("/api/gate/bundle")
@token_required("gate")
@contract(returns=BundleOut, errors={403: ("not_a_gate",), 404: ("unknown_site",)})
def api_bundle():
    """Today's offline bundle for this gate."""
    db = get_db()
    gate = _device_gate()
    resp = jsonify(bundle(db, gate, clock=get_clock(), rules=_rules(),
                          tickets=TicketSource.for_app(current_app),
                          documents=DocumentPolicy.from_config(current_app.config)))
    resp.headers["Cache-Control"] = "no-store"  # masked holders, the day's key and digests
    return resp


@bp.post("/api/gate/offline-scans")
@csrf_exempt  # bearer-token only, as above
@token_required("gate")
@contract(body=OfflineScansIn, returns=OfflineResultsOut,
          body_limit=lambda cfg: cfg["GATES_SCAN_MAX_BYTES"] * cfg["GATES_OFFLINE_BATCH_MAX"],
          errors={400: ("too_many_scans",), 403: ("not_a_gate",), 404: ("unknown_site",),
                  503: ("busy",)})
def api_offline_scans(body: OfflineScansIn):
    """Upload scans an offline gate decided; each is recorded once (by nonce), and where
    the server would have denied one a conflict is flagged for staff."""
    cfg = current_app.config
    db = get_db()
    gate = _device_gate()
    items = body.scans
    if len(items) > cfg["GATES_OFFLINE_BATCH_MAX"]:
        raise ValidationError("too_many_scans", _l("Send at most %(most)s scans at once.",
                                                   most=cfg['GATES_OFFLINE_BATCH_MAX']))
    results = _busy_is_503(services.record_offline_scans, db, gate, items,
                                            max_age_days=cfg["GATES_OFFLINE_MAX_AGE_DAYS"],
                                            **_scan_kwargs())
    metrics.offline_synced(gate.site_id, items, results)
    return jsonify({"results": results})


@bp.get("/api/gate/inside")
@device_or_role_required(("gate",), "staff")  # visitors see crowd levels, not head counts
@contract(query=SiteQuery, returns=InsideOut, errors={404: ("unknown_site",)})
def api_inside(query: SiteQuery):
    """People inside a site now, counted at its gates."""
    site_id = query.site
    db = get_db()
    clock = get_clock()
    inside = services.people_inside(db, site_id, clock)
    capacity = catalog.site_capacity(db, site_id)
    return jsonify({"site": site_id, "inside": inside, "instant_capacity": capacity.instant,
                    "at": clock.now().isoformat(timespec="seconds")})


@bp.get("/api/gate/counts")
@role_required("staff")
@contract(query=CountsQuery, returns=CountsOut, errors={404: ("unknown_site",)})
def api_counts(query: CountsQuery):
    """Entries, exits and check-outs per minute at a site on a day."""
    site_id = query.site
    day = query.day or get_clock().now().date()
    rows = services.counts_per_minute(get_db(), site_id, day)
    return jsonify({"site": site_id, "day": day.isoformat(), "minutes": rows,
                    "inside": services.people_inside(get_db(), site_id, get_clock())})


# --- handheld gate (staff phones) ----------------------------------------------

@bp.get("/gates/handheld")
@role_required("staff")
def handheld():
    db = get_db()
    gates = services.list_gates(db)
    sites = {s.id: s for s in catalog.list_sites(db)}
    reasons = {r: {"zh": label(f"gates.reason.{r}", "zh"), "en": label(f"gates.reason.{r}", "en")}
               for r in REASONS}
    return render_template("gates/handheld.html", gates=gates, sites=sites, reasons=reasons,
                           lang=get_lang())


@bp.post("/api/gate/handheld-scan")
@role_required("staff")
@contract(body=HandheldScanIn, returns=ScanOut, body_limit=_scan_body_limit,
          errors=SCAN_ERRORS)
def api_handheld_scan(body: HandheldScanIn):
    """Decide one scan from a staff phone standing in for a gate."""
    db = get_db()
    return _answer_scan(db, services.get_gate(db, body.gate_id), body, "handheld")


@bp.post("/api/gate/photo")
@role_required("staff")
@contract(upload=PhotoUpload, media="multipart/form-data", returns=PhotoOut,
          body_limit=lambda cfg: cfg["GATES_PHOTO_MAX_BYTES"] + 64 * 1024,
          errors={400: ("bad_image", "bad_request"), 413: ("image_too_large",),
                  422: ("no_qr_found",)})
def api_photo():
    """The QR code's text in a photo of an e-ticket (a screenshot, a printout)."""
    cfg = current_app.config
    upload = request.files.get("photo")
    if upload is None:
        raise ValidationError("bad_image", _l("Upload the photo in the form field 'photo'."))
    data = upload.read(cfg["GATES_PHOTO_MAX_BYTES"] + 1)
    if len(data) > cfg["GATES_PHOTO_MAX_BYTES"]:
        raise DomainError("too_large", _l("The photo is too large."), 413)
    # An AdmissionError (bad_image, image_too_large, no_qr_found) is answered as any refusal.
    return jsonify({"code": decode_qr(data, max_pixels=cfg["GATES_PHOTO_MAX_PIXELS"])})


# --- staff audit ---------------------------------------------------------------

@bp.get("/gates/audit")
@role_required("staff")
def staff_audit():
    db = get_db()
    site_id = request.args.get("site") or None
    if site_id:
        catalog.get_site(db, site_id)
    clock = get_clock()
    sites = catalog.list_sites(db)
    inside = {s.id: services.people_inside(db, s.id, clock) for s in sites}
    return render_template("gates/audit.html", sites=sites, inside=inside, site_id=site_id,
                           denied=services.denied_scans(db, site_id=site_id, limit=200),
                           conflicts=services.open_conflicts(db, limit=200),
                           gates=services.list_gates(db), lang=get_lang())


@bp.post("/gates/conflicts/<int:conflict_id>/resolve")
@role_required("staff")
def resolve_conflict(conflict_id):
    services.resolve_conflict(get_db(), conflict_id, user=current_user(),
                              note=request.form.get("note", ""), clock=get_clock())
    flash(_("Marked as resolved."))
    return redirect(url_for("gates.staff_audit"))


@bp.post("/gates/new")
@role_required("admin")
def create_gate():
    gate, token = services.create_gate(get_db(), site_id=request.form.get("site", ""),
                                       name=request.form.get("name", ""),
                                       direction=request.form.get("direction", ""),
                                       clock=get_clock(),
                                       place_id=request.form.get("place") or None)
    # The token is shown once, on this response only; it is never stored in the clear.
    resp = make_response(render_template("gates/token.html", gate=gate, token=token))
    resp.headers["Cache-Control"] = "no-store"
    return resp
