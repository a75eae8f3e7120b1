"""Guide routes: visitor pages, narration audio, the question APIs and the staff
content admin. Views parse input, call one service and render (house rule 1)."""
from __future__ import annotations

import io
import time
from pathlib import Path

from flask import (Blueprint, Response, current_app, flash, jsonify, redirect, render_template,
                   request, send_file, url_for)
from flask_babel import gettext as _

from catalog import interface as catalog
from core import inference
from core.auth import current_user, role_required
from core.clock import get_clock
from core.contracts import contract
from core.csrf import csrf_exempt
from core.db import get_db
from core.errors import NotFound, ValidationError
from core.i18n import content_lang, get_lang
from core.ratelimit import Rule, client_key, limits
from core.serving import pool
from core.text import _l
from crowd import interface as crowd

from . import jobs, metrics, route, services
from .schemas import (AnswerOut, AskIn, NearOut, NearQuery, OfflineManifestOut, PoisOut,
                      VoiceUpload)

bp = Blueprint("guide", __name__)


# --- helpers -----------------------------------------------------------------

def audio_dir(app=None) -> Path:
    """GUIDE_AUDIO_DIR, or <instance>/guide-audio."""
    app = app or current_app
    configured = app.config.get("GUIDE_AUDIO_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "guide-audio"


def _crowd_policy() -> crowd.Policy:
    return crowd.Policy.from_config(current_app.config)


def _job(fn, *args, **kwargs):
    """Run a model job in the inference pool (bounded: a full queue is 503 + Retry-After)."""
    return inference.run(current_app, fn, *args, busy=_l("The guide is busy; try again in a "
                                                         "moment, or type."), **kwargs)


def _rate_limit(name: str, setting: str) -> None:
    limits().enforce([Rule("rate_limited", f"{current_app.config[setting]}/minute",
                           (f"guide-{name}", client_key()), _l("Too many questions."))])


def _job_settings() -> dict:
    return jobs.job_settings(current_app.config)


def _answer_json(ans, **extra) -> dict:
    key = services.answer_audio_key(ans, audio_dir(), current_app.config["GUIDE_ANSWER_AUDIO_KEEP"])
    body = {"answer": ans.text, "sources": ans.sources, "citations": ans.citations,
            "audio_url": url_for("guide.answer_audio", key=key), "lang": ans.lang,
            "kind": ans.kind}
    for s in body["sources"]:
        site = services.get_poi(get_db(), s["poi"]).site_id
        s["url"] = url_for("guide.poi_page", site_id=site, poi_id=s["poi"], lang=ans.lang)
    body.update(extra)
    return body


def _site_context(site_id: str):
    db = get_db()
    site = catalog.get_site(db, site_id)
    pois = services.list_pois(db, site_id)
    return db, site, pois


def _route_points(pois, width=320, height=320):
    xy = route.project([(p.lat, p.lon) for p in pois], width, height)
    return [{"poi": p, "x": x, "y": y} for p, (x, y) in zip(pois, xy)]


# --- visitor pages -------------------------------------------------------------

@bp.get("/guide/")
def index():
    db = get_db()
    return render_template("guide/index.html", sites=catalog.list_sites(db),
                           areas=catalog.list_areas(db))


@bp.get("/guide/<site_id>")
def site_page(site_id):
    db, site, pois = _site_context(site_id)
    clock = get_clock()
    levels = services.poi_levels(db, pois, clock, policy=_crowd_policy())
    return render_template("guide/site.html", site=site, pois=pois,
                           tours=services.list_tours(db, site_id), levels=levels,
                           points=_route_points(pois),
                           quiet=services.less_crowded(db, site_id, clock, policy=_crowd_policy()),
                           near_accuracy=current_app.config["GUIDE_NEAR_ACCURACY_M"])


@bp.get("/guide/<site_id>/tours/<tour_id>")
def tour_page(site_id, tour_id):
    db, site, _pois = _site_context(site_id)
    tour = services.get_tour(db, tour_id)
    if site_id != tour.site_id and site_id not in tour.sites:
        raise NotFound("unknown_tour", _l("That tour is not part of this site."))
    stops = [s.poi for s in tour.stops]
    return render_template("guide/tour.html", site=site, tour=tour,
                           levels=services.poi_levels(db, stops, get_clock(), policy=_crowd_policy()),
                           points=_route_points(stops))


@bp.get("/guide/<site_id>/poi/<poi_id>")
def poi_page(site_id, poi_id):
    db, site, pois = _site_context(site_id)
    poi = services.get_poi(db, poi_id)
    if poi.site_id != site.id:
        return redirect(url_for("guide.poi_page", site_id=poi.site_id, poi_id=poi.id,
                                lang=get_lang()))
    clock = get_clock()
    tour = None
    prev_poi = next_poi = None
    tour_id = request.args.get("tour")
    if tour_id:
        tour = services.get_tour(db, tour_id)
        ids = [s.poi.id for s in tour.stops]
        if poi.id in ids:
            i = ids.index(poi.id)
            prev_poi = tour.stops[i - 1] if i > 0 else None
            next_poi = tour.stops[i + 1] if i + 1 < len(ids) else None
        else:
            tour = None
    lang = content_lang()  # narration exists in the content's languages only
    recs = services.recordings(db)
    sources = services.content.sources(db)
    cited = [sources[s] for s in poi.sources if s in sources]
    return render_template(
        "guide/poi.html", site=site, poi=poi, tour=tour, prev_stop=prev_poi, next_stop=next_poi,
        numbers={s["id"]: i for i, s in enumerate(cited, 1)},
        part_urls=[url_for("guide.narration_audio", poi_id=poi.id, lang=lang, kind=k,
                           v=services.narration_version(poi, lang, k, db))
                   for k in services.narration_kinds(poi) if k.startswith("part")],
        level=services.poi_levels(db, [poi], clock, policy=_crowd_policy())[poi.id],
        quiet=[p for p in services.less_crowded(db, site.id, clock, exclude=poi.id,
                                                  policy=_crowd_policy())][:3],
        human=(poi.id, lang) in recs, cited=cited,
        versions={k: services.narration_version(poi, lang, k, db)
                  for k in services.narration_kinds(poi)},
        points=_route_points(pois))


@bp.get("/guide/<site_id>/n/<int:number>")
def by_number(site_id, number):
    db = get_db()
    site = catalog.get_site(db, site_id)
    poi = services.content.poi_by_number(db, site.id, number)
    return redirect(url_for("guide.poi_page", site_id=site.id, poi_id=poi.id, lang=get_lang()))


@bp.get("/guide/<site_id>/go")
def go_number(site_id):
    raw = (request.args.get("number") or "").strip()
    if not raw.isdigit() or not 0 < int(raw) < 10000:
        raise ValidationError("bad_number", _l("Enter the number printed on the signpost."))
    return by_number(site_id, int(raw))


@bp.get("/guide/<site_id>/poi/<poi_id>/qr.svg")
def signpost_qr(site_id, poi_id):
    import qrcode
    import qrcode.image.svg
    poi = services.get_poi(get_db(), poi_id)
    target = url_for("guide.by_number", site_id=poi.site_id, number=poi.number, _external=True)
    img = qrcode.make(target, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    buf = io.BytesIO()
    img.save(buf)
    return Response(buf.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


# --- audio ---------------------------------------------------------------------

# Synthesis runs a model: these are served by the inference pool, and only a file not
# cached yet becomes a job.
@bp.get("/guide/audio/<poi_id>/<lang>/<kind>")
@pool("inference")
def narration_audio(poi_id, lang, kind):
    found = services.narration_file(get_db(), poi_id=poi_id, lang=lang, kind=kind,
                                    audio_dir=audio_dir(), generate=False)
    if found is None:
        found = _job(jobs.narration_file, _job_settings(), poi_id=poi_id, lang=lang, kind=kind,
                     audio_dir=audio_dir())
    path, mime = found
    return send_file(path, mimetype=mime, conditional=True, max_age=3600)


@bp.get("/guide/answer-audio/<key>.wav")
@pool("inference")
def answer_audio(key):
    path = services.answer_audio_file(key, audio_dir(), generate=False) or \
        _job(jobs.answer_audio_file, key, audio_dir())
    return send_file(path, mimetype="audio/wav", conditional=True, max_age=3600)


# --- offline pack ----------------------------------------------------------------

@bp.get("/guide/sw.js")
def service_worker():
    resp = current_app.send_static_file("guide/sw.js")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/guide/"
    return resp


@bp.get("/guide/<site_id>/offline.json")
@contract(returns=OfflineManifestOut, errors={404: ("unknown_site",)})
def offline_manifest(site_id):
    """What a phone caches to use a site's guide offline (read by the service worker)."""
    db, site, pois = _site_context(site_id)
    lang = get_lang()
    # The bare address too: the home page links to it and a visitor reopens it from history
    # or a bookmark; its response is in the language this visitor's page is in.
    urls = [url_for("guide.site_page", site_id=site.id, lang=lang),
            url_for("guide.site_page", site_id=site.id),
            url_for("static", filename="css/site.css"),
            url_for("static", filename="guide/guide.css"),
            url_for("static", filename="guide/guide.js")]
    for tour in services.list_tours(db, site.id):
        urls.append(url_for("guide.tour_page", site_id=site.id, tour_id=tour.id, lang=lang))
        for stop in tour.stops:
            if stop.poi.site_id == site.id:
                urls.append(url_for("guide.poi_page", site_id=site.id, poi_id=stop.poi.id,
                                    lang=lang, tour=tour.id))
    for poi in pois:
        urls.append(url_for("guide.poi_page", site_id=site.id, poi_id=poi.id, lang=lang))
        voice = content_lang(lang)
        for kind in services.narration_kinds(poi):
            urls.append(url_for("guide.narration_audio", poi_id=poi.id, lang=voice, kind=kind,
                                v=services.narration_version(poi, voice, kind, db)))
    version = services.repo.content_version(db)
    return jsonify({"site": site.id, "lang": lang, "cache": f"guide-{site.id}-{lang}",
                    "version": version, "urls": list(dict.fromkeys(urls))})


# --- APIs ------------------------------------------------------------------------

# What asking can refuse with besides the fields' own codes (guide.services.ask; a job of
# the inference pool, whose full queue is 503 busy).
ASK_ERRORS = {400: ("question_empty", "question_too_long", "site_required",
                    "unsupported_language"),
              404: ("unknown_site",), 429: ("rate_limited",), 503: ("busy",)}


@bp.post("/api/guide/ask")
@pool("inference")
@csrf_exempt
@contract(body=AskIn, returns=AnswerOut, errors=ASK_ERRORS)
def api_ask(body: AskIn):
    """Ask the guide: an answer quoted from the guide's content with its sources and
    audio, live hours, tickets or crowds, or "I don't know" below the threshold."""
    _rate_limit("ask", "GUIDE_ASK_PER_MINUTE")
    started = time.perf_counter()
    ans = _job(jobs.ask, _job_settings(), site_id=body.site, question=body.question,
               lang=body.lang, clock=get_clock())
    metrics.answered("text", ans, time.perf_counter() - started)
    return jsonify(_answer_json(ans))


@bp.post("/api/guide/ask-voice")
@pool("inference")
@csrf_exempt
@contract(upload=VoiceUpload, media="multipart/form-data", returns=AnswerOut,
          errors={**ASK_ERRORS, 400: ASK_ERRORS[400] + (
              "audio_required", "audio_empty", "audio_unreadable", "audio_format",
              "audio_too_long", "audio_too_short", "audio_silent", "bad_request"),
              413: ("audio_too_large",), 422: ("no_speech", "unclear_speech")})
def api_ask_voice():
    """Ask by voice: the recording is transcribed (Whisper), then answered as a text
    question; the answer carries what was heard."""
    _rate_limit("voice", "GUIDE_VOICE_PER_MINUTE")
    upload = request.files.get("audio")
    if upload is None:
        raise ValidationError("audio_required", _l("Attach the recording as 'audio'."))
    data = upload.stream.read(current_app.config["GUIDE_MAX_AUDIO_BYTES"] + 1)
    started = time.perf_counter()
    ans, transcript = _job(jobs.ask_voice, _job_settings(), site_id=request.form.get("site"),
                           audio=data, lang=request.form.get("lang") or None, clock=get_clock())
    metrics.answered("voice", ans, time.perf_counter() - started)
    return jsonify(_answer_json(ans, transcript=transcript.text))


@bp.get("/api/guide/sites/<site_id>/pois")
@contract(returns=PoisOut, errors={404: ("unknown_site",)})
def api_pois(site_id):
    """A site's points of interest with their crowd levels."""
    db, site, pois = _site_context(site_id)
    levels = services.poi_levels(db, pois, get_clock(), policy=_crowd_policy())
    return jsonify({"site": site.id, "pois": [
        dict(services.poi_json(p), level=levels[p.id],
             url=url_for("guide.poi_page", site_id=site.id, poi_id=p.id)) for p in pois]})


@bp.get("/api/guide/near")
@contract(query=NearQuery, returns=NearOut,
          errors={400: ("position_inaccurate",), 404: ("unknown_site", "no_pois")})
def api_near(query: NearQuery):
    """The point of interest nearest a position, if it is precise enough to trust."""
    return jsonify(services.near(get_db(), site_id=query.site, lat=query.lat, lon=query.lon,
                                 accuracy=query.accuracy,
                                 max_accuracy=current_app.config["GUIDE_NEAR_ACCURACY_M"]))


# --- staff admin -------------------------------------------------------------------

@bp.get("/admin/guide")
@role_required("staff")
def admin_pois():
    db = get_db()
    return render_template("guide/admin_pois.html", pois=services.list_pois(db),
                           sites={s.id: s for s in catalog.list_sites(db)},
                           recs=services.recordings(db), log=services.edit_log(db))


@bp.route("/admin/guide/poi/<poi_id>", methods=["GET", "POST"])
@role_required("staff")
def admin_poi_edit(poi_id):
    db = get_db()
    poi = services.get_poi(db, poi_id)
    error = None
    form = None
    if request.method == "POST":
        try:
            updated = services.update_poi(db, poi.id, request.form, user=current_user(),
                                          clock=get_clock())
        except ValidationError as exc:
            error, form = exc.localized(get_lang()), request.form
        else:
            flash(_("Saved; the narration audio will be regenerated from the new text.")
                  if updated != poi else _("Nothing changed."))
            return redirect(url_for("guide.admin_poi_edit", poi_id=poi.id))
    area = catalog.get_site(db, poi.site_id).area_id
    known = [s for s in services.content.sources(db).values() if s["area"] == area]
    return render_template("guide/admin_poi.html", poi=poi, error=error, form=form,
                           zones=catalog.list_zones(db, poi.site_id), known_sources=known,
                           recs=services.recordings(db)), (400 if error else 200)


@bp.post("/admin/guide/poi/<poi_id>/recording")
@role_required("staff")
def admin_recording_upload(poi_id):
    upload = request.files.get("audio")
    if upload is None:
        raise ValidationError("audio_required", _l("Choose an audio file."))
    limit = current_app.config["GUIDE_MAX_RECORDING_BYTES"]
    services.save_recording(get_db(), poi_id=poi_id, lang=request.form.get("lang"),
                            data=upload.stream.read(limit + 1), filename=upload.filename or "",
                            user=current_user(), clock=get_clock(), audio_dir=audio_dir(),
                            max_bytes=limit,
                            max_seconds=current_app.config["GUIDE_MAX_RECORDING_SECONDS"])
    flash(_("Recording uploaded."))
    return redirect(url_for("guide.admin_poi_edit", poi_id=poi_id))


@bp.post("/admin/guide/poi/<poi_id>/recording/<lang>/delete")
@role_required("staff")
def admin_recording_delete(poi_id, lang):
    services.delete_recording(get_db(), poi_id=poi_id, lang=lang, user=current_user(),
                              clock=get_clock(), audio_dir=audio_dir())
    flash(_("Recording removed; synthetic narration plays again."))
    return redirect(url_for("guide.admin_poi_edit", poi_id=poi_id))
