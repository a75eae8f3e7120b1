"""Guide services: the entry points views, CLIs and other domains call.

Content (POIs, tours) lives in the guide's tables, loaded from data/guide/ and edited by
staff; narration audio is cached as files keyed by a hash of the text and voice; a
question is answered from live data or from retrieved content, or politely refused.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict
from pathlib import Path

from catalog import interface as catalog
from core.db import immediate
from core.errors import NotFound, ValidationError
from core.text import _l
from crowd import interface as crowd

from . import answer, asr, content, live, repo, retrieval, route, tts
# Content reads are part of the guide's service API for its views and commands.
from .content import Poi, Tour, get_poi, get_tour, list_pois, list_tours, load_content  # noqa: F401

MAX_QUESTION = 500
KINDS = ("short", "long")
RECORDING_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4",
                   "ogg": "audio/ogg", "opus": "audio/ogg", "webm": "audio/webm"}


def _atomic_write(target: Path, data: bytes) -> None:
    """Write via a unique temporary file and rename, so concurrent writers of the same
    file never see or leave a half-written one."""
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- questions ---------------------------------------------------------------

def check_lang(lang, question: str = "") -> str:
    """zh or en; None means: guess from the question's script."""
    if lang in (None, ""):
        return "zh" if re.search(r"[\u3400-\u9fff]", question or "") else "en"
    if lang not in ("zh", "en"):
        raise ValidationError("unsupported_language", _l("Language must be 'zh' or 'en'."))
    return lang


def check_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ValidationError("question_empty", _l("Please type a question."))
    question = question.strip()
    if len(question) > MAX_QUESTION:
        raise ValidationError("question_too_long", _l("Questions may be up to %(max_question)s "
                                                      "characters.", max_question=MAX_QUESTION))
    return question


def check_site(db, site_id) -> str:
    if not isinstance(site_id, str) or not site_id:
        raise ValidationError("site_required", _l("Say which site you are at ('site')."))
    return catalog.get_site(db, site_id).id


def area_sites(db, site_id: str) -> tuple[str, ...]:
    """The sites of the scenic area ``site_id`` lies in (the catalog's areas): a visitor at
    Dai Temple may ask about Mount Tai, one at the Temple of Confucius about the Cemetery."""
    area = catalog.get_site(db, site_id).area_id
    return tuple(s.id for s in catalog.list_sites(db) if s.area_id == area)


def search_index(db, threads: int = 2) -> retrieval.Index:
    return retrieval.get_index(repo.content_version(db), lambda: list_pois(db), threads)


def ask(db, *, site_id, question, lang, clock, threshold: float | None = None,
        threads: int = 2, mode: str = "fused",
        crowd_policy: crowd.Policy | None = None) -> answer.Answer:
    """Answer a visitor's question about ``site_id`` in ``lang`` (zh/en): live data for
    hours, tickets and crowds (read with ``crowd_policy``); otherwise quoted guide
    content, or a refusal."""
    question = check_question(question)
    site_id = check_site(db, site_id)
    lang = check_lang(lang, question)
    index = search_index(db, threads)
    elsewhere = index.unknown_names(question)
    if elsewhere and not answer.mentioned_site(question):
        return answer.scope_refusal("elsewhere", lang, elsewhere[:3])
    intent = answer.detect_intent(question)
    if intent is not None:
        target = answer.mentioned_site(question) or site_id
        if intent == "hours":
            return answer.hours_answer(db, target, lang, clock)
        if intent == "tickets":
            return answer.tickets_answer(db, target, lang, clock)
        return answer.crowd_answer(db, target, lang, clock,
                                   less_crowded(db, target, clock, policy=crowd_policy),
                                   crowd_policy)
    scope = answer.out_of_scope(question)
    if scope is not None:
        return answer.scope_refusal(scope, lang)
    hits = index.search(question, sites=area_sites(db, site_id), mode=mode)
    limit = retrieval.THRESHOLD if not threshold else threshold
    return answer.from_hits(hits, index.pois, lang, limit, question)


def ask_voice(db, *, site_id, audio: bytes, lang, clock, max_bytes: int,
              max_seconds: float, threads: int = 2, threshold: float | None = None,
              crowd_policy: crowd.Policy | None = None):
    """Transcribe a spoken question and answer it; returns (answer, transcript)."""
    site_id = check_site(db, site_id)
    if lang not in (None, ""):
        lang = check_lang(lang)
    samples = asr.decode(audio, max_bytes=max_bytes, max_seconds=max_seconds)
    transcript = asr.transcribe(samples, lang or None, threads=threads)
    question = transcript.text[:MAX_QUESTION]
    return ask(db, site_id=site_id, question=question, lang=transcript.lang, clock=clock,
               threshold=threshold, threads=threads, crowd_policy=crowd_policy), transcript


# --- narration audio ---------------------------------------------------------

def narration_text(poi: Poi, lang: str, kind: str) -> str:
    if kind == "short":
        return f"{poi.name[lang]}。{poi.short[lang]}" if lang == "zh" else \
            f"{poi.name[lang]}. {poi.short[lang]}"
    return poi.long[lang]


def narration_version(poi: Poi, lang: str, kind: str, db=None) -> str:
    """A short tag that changes when the narration's text, voice or recording does."""
    if db is not None and kind == "long":
        rec = repo.recording(db, poi.id, lang)
        if rec is not None:
            return rec["sha256"][:12]
    return tts.audio_key(tts.speakable(narration_text(poi, lang, kind)), lang)[:12]


def narration_file(db, *, poi_id: str, lang: str, kind: str, audio_dir: Path):
    """(path, mime type) of a POI's narration: a staff recording wins over synthesis
    for the long narration; synthesised audio is generated on first use and cached."""
    if lang not in ("zh", "en") or kind not in KINDS:
        raise NotFound("unknown_narration", _l("There is no such narration."))
    poi = get_poi(db, poi_id)
    if kind == "long":
        rec = repo.recording(db, poi.id, lang)
        if rec is not None:
            path = audio_dir / "recordings" / rec["filename"]
            if path.exists():
                return path, rec["mime"]
    return tts.cached(narration_text(poi, lang, kind), lang, audio_dir), "audio/wav"


def pregenerate(db, audio_dir: Path, site_id: str | None = None,
                langs: tuple = ("zh", "en"), progress=None) -> dict:
    """Generate every missing narration file (short and long, in ``langs``)."""
    made = kept = 0
    for poi in list_pois(db, site_id):
        for lang in langs:
            for kind in KINDS:
                text = narration_text(poi, lang, kind)
                target = audio_dir / f"{tts.audio_key(tts.speakable(text), lang)}.wav"
                if target.exists():
                    kept += 1
                    continue
                tts.cached(text, lang, audio_dir)
                made += 1
                if progress:
                    progress(poi.id, lang, kind)
    return {"generated": made, "cached": kept}


def answer_audio_key(ans: answer.Answer, audio_dir: Path, keep: int) -> str:
    """Store the answer's text for lazy synthesis; returns the key for its audio URL."""
    folder = audio_dir / "answers"
    folder.mkdir(parents=True, exist_ok=True)
    key = tts.audio_key(tts.speakable(ans.text), ans.lang)
    note = folder / f"{key}.json"
    if not note.exists():
        _atomic_write(note, json.dumps({"lang": ans.lang, "text": ans.text},
                                       ensure_ascii=False).encode("utf-8"))
        tts.prune(folder, keep, "*.json")
        tts.prune(folder, keep, "*.wav")
    return key


def answer_audio_file(key: str, audio_dir: Path) -> Path:
    """The spoken answer for a key from ``answer_audio_key`` (synthesised on first use)."""
    if not re.fullmatch(r"[0-9a-f]{32}", key or ""):
        raise NotFound("unknown_audio", _l("There is no such audio."))
    folder = audio_dir / "answers"
    note = folder / f"{key}.json"
    if not note.exists():
        raise NotFound("unknown_audio", _l("That answer's audio has expired; ask again."))
    data = json.loads(note.read_text(encoding="utf-8"))
    return tts.cached(data["text"], data["lang"], folder)


# --- staff editing -----------------------------------------------------------

def _lines(raw: str, limit: int, where: str) -> list[str]:
    items = [line.strip() for line in (raw or "").splitlines() if line.strip()]
    for item in items:
        if len(item) > limit:
            raise ValidationError("bad_content", _l("%(where)s: a line is longer than %(limit)s "
                                                    "characters.", where=where, limit=limit))
    return items


def _pairs(zh: list[str], en: list[str], where: str, limit: int) -> list[dict]:
    if len(zh) != len(en):
        raise ValidationError("unpaired_lines", _l("%(where)s: give the same number of lines in "
                                                   "Chinese (%(zh_lines)s) and English "
                                                   "(%(en_lines)s); line N of each says the same "
                                                   "thing.", where=where, zh_lines=len(zh),
                                                   en_lines=len(en)))
    if len(zh) > limit:
        raise ValidationError("bad_content",
                              _l("%(where)s: at most %(limit)s lines.", where=where, limit=limit))
    return [{"zh": a, "en": b} for a, b in zip(zh, en)]


def update_poi(db, poi_id: str, form: dict, *, user, clock) -> Poi:
    """Save a staff edit of a POI's texts, facts, questions, coordinates and zone."""
    poi = get_poi(db, poi_id)
    where = poi.id
    fields = {}
    for name, limit in (("name", content.LIMITS["name"]), ("short", content.LIMITS["short"]),
                        ("long", content.LIMITS["long"])):
        for lang in ("zh", "en"):
            value = (form.get(f"{name}_{lang}") or "").strip()
            if not value:
                raise ValidationError("field_required",
                                      _l("%(name)s (%(lang)s) may not be empty.", name=name,
                                         lang=lang))
            if len(value) > limit:
                raise ValidationError("field_too_long", _l("%(name)s (%(lang)s) may be up to "
                                                           "%(limit)s characters.", name=name,
                                                           lang=lang, limit=limit))
            fields[f"{name}_{lang}"] = value
    facts = _pairs(_lines(form.get("facts_zh"), content.LIMITS["fact"], "facts"),
                   _lines(form.get("facts_en"), content.LIMITS["fact"], "facts"), "facts",
                   content.LIMITS["facts"])
    questions = _pairs(_lines(form.get("questions_zh"), content.LIMITS["question"], "questions"),
                       _lines(form.get("questions_en"), content.LIMITS["question"], "questions"),
                       "questions", content.LIMITS["questions"])
    lat, lon = content.check_coordinates(form.get("lat"), form.get("lon"), where)
    zone_id = (form.get("zone_id") or "").strip() or None
    if zone_id is not None and zone_id not in {z.id for z in catalog.list_zones(db, poi.site_id)}:
        raise ValidationError("unknown_zone", _l("Zone %(zone_id)r is not part of this site.",
                                                 zone_id=zone_id))
    fields.update(facts_json=json.dumps(facts, ensure_ascii=False),
                  questions_json=json.dumps(questions, ensure_ascii=False), lat=lat, lon=lon,
                  zone_id=zone_id)
    old = {"name_zh": poi.name["zh"], "name_en": poi.name["en"], "short_zh": poi.short["zh"],
           "short_en": poi.short["en"], "long_zh": poi.long["zh"], "long_en": poi.long["en"],
           "facts_json": json.dumps(list(poi.facts), ensure_ascii=False),
           "questions_json": json.dumps(list(poi.questions), ensure_ascii=False),
           "lat": poi.lat, "lon": poi.lon, "zone_id": poi.zone_id}
    changed = sorted(k for k, v in fields.items() if old.get(k) != v)
    if not changed:
        return poi
    now = clock.now().isoformat(timespec="seconds")
    with immediate(db):
        repo.update_poi_fields(db, poi.id, fields, at=now, username=user.username)
        repo.log_edit(db, poi_id=poi.id, action="edit", fields=",".join(changed),
                      username=user.username, at=now)
    return get_poi(db, poi.id)


def save_recording(db, *, poi_id: str, lang: str, data: bytes, filename: str, user, clock,
                   audio_dir: Path, max_bytes: int) -> dict:
    """Store a staff recording of a POI's long narration; it then wins over synthesis."""
    poi = get_poi(db, poi_id)
    if lang not in ("zh", "en"):
        raise ValidationError("unsupported_language", _l("Language must be 'zh' or 'en'."))
    ext = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if ext not in RECORDING_TYPES:
        raise ValidationError("recording_type",
                              _l("Upload WAV, MP3, M4A, Ogg/Opus or WebM audio."))
    if not data:
        raise ValidationError("audio_empty", _l("The file is empty."))
    if len(data) > max_bytes:
        raise ValidationError("audio_too_large", _l("Recordings may be up to %(mb)s MB.",
                                                    mb=max_bytes // (1024 * 1024)))
    samples = asr.decode(data, max_bytes=max_bytes, max_seconds=30 * 60)
    duration = len(samples) / asr.SAMPLE_RATE
    digest = hashlib.sha256(data).hexdigest()
    folder = audio_dir / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{poi.id}-{lang}-{digest[:12]}.{ext}"
    _atomic_write(folder / name, data)
    now = clock.now().isoformat(timespec="seconds")
    old = repo.recording(db, poi.id, lang)
    with immediate(db):
        repo.put_recording(db, {"poi_id": poi.id, "lang": lang, "filename": name,
                                "mime": RECORDING_TYPES[ext], "bytes": len(data),
                                "duration_s": round(duration, 2), "sha256": digest,
                                "uploaded_at": now, "uploaded_by": user.username})
        repo.log_edit(db, poi_id=poi.id, action=f"recording:{lang}", fields=name,
                      username=user.username, at=now)
    if old is not None and old["filename"] != name:
        (folder / old["filename"]).unlink(missing_ok=True)
    return {"poi": poi.id, "lang": lang, "duration_s": round(duration, 2), "bytes": len(data)}


def delete_recording(db, *, poi_id: str, lang: str, user, clock, audio_dir: Path) -> None:
    """Remove a staff recording; the synthesised narration plays again."""
    poi = get_poi(db, poi_id)
    old = repo.recording(db, poi.id, lang)
    if old is None:
        raise NotFound("unknown_recording", _l("There is no recording to remove."))
    now = clock.now().isoformat(timespec="seconds")
    with immediate(db):
        repo.delete_recording(db, poi.id, lang)
        repo.log_edit(db, poi_id=poi.id, action=f"recording-removed:{lang}",
                      fields=old["filename"], username=user.username, at=now)
    (audio_dir / "recordings" / old["filename"]).unlink(missing_ok=True)


def recordings(db) -> dict:
    return {(r["poi_id"], r["lang"]): dict(r) for r in repo.recordings(db)}


def edit_log(db, limit: int = 30) -> list[dict]:
    return [dict(r) for r in repo.edits(db, limit)]


# --- live levels and "near me" ---------------------------------------------

def poi_levels(db, pois, clock, *, policy: crowd.Policy | None = None) -> dict[str, str]:
    """Each POI's crowd level now (via its zone), "unknown" without data."""
    levels = live.zone_levels(db, clock, policy)
    return {p.id: (levels[p.zone_id].level if p.zone_id in levels else "unknown")
            for p in pois}


def less_crowded(db, site_id: str, clock, exclude: str | None = None, *,
                 policy: crowd.Policy | None = None) -> list[Poi]:
    """POIs of the site whose zone is at the lowest known level now, quietest first."""
    pois = [p for p in list_pois(db, site_id) if p.id != exclude]
    levels = poi_levels(db, pois, clock, policy=policy)
    order = {lvl: i for i, lvl in enumerate(live.LEVELS)}
    known = [p for p in pois if levels[p.id] in order]
    if not known:
        return []
    best = min(order[levels[p.id]] for p in known)
    if best >= order["warning"]:
        return []
    return [p for p in known if order[levels[p.id]] == best]


def near(db, *, site_id: str, lat: float, lon: float, accuracy: float,
         max_accuracy: int) -> dict:
    """The POI nearest a position (checked by its contract, guide/schemas.py), if the
    position is precise enough to trust."""
    site_id = check_site(db, site_id)
    if accuracy > max_accuracy:
        raise ValidationError("position_inaccurate", _l("Your position is only accurate to "
                                                        "%(accuracy).0f m; enter the signpost "
                                                        "number instead.", accuracy=accuracy))
    poi, metres = route.nearest(list_pois(db, site_id), lat, lon)
    if poi is None:
        raise NotFound("no_pois", _l("This site has no guide points yet."))
    return {"poi": poi.id, "distance_m": round(metres)}


def poi_json(poi: Poi) -> dict:
    d = asdict(poi)
    d["site"] = d.pop("site_id")
    d["facts"], d["questions"], d["sources"] = list(poi.facts), list(poi.questions), \
        list(poi.sources)
    return d
