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

from . import answer, asr, content, live, repo, retrieval, route, tts, uploads
# Content reads are part of the guide's service API for its views and commands.
from .content import Poi, Tour, get_poi, get_tour, list_pois, list_tours, load_content  # noqa: F401
from .editing import update_poi  # noqa: F401

MAX_QUESTION = 500
KINDS = ("short", "long")
RECORDING_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4",
                   "ogg": "audio/ogg", "opus": "audio/ogg", "webm": "audio/webm"}
STORED_AS = {"wav": ("wav", "audio/wav"), "mp3": ("mp3", "audio/mpeg"),
             "mp4": ("m4a", "audio/mp4"), "ogg": ("ogg", "audio/ogg"),
             "matroska": ("webm", "audio/webm")}


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


def normalise_question(index: retrieval.Index, question: str) -> str:
    """The question as retrieval sees it: the asker's words plus the names of the
    points it names by spelling or by sound (a misheard name still finds its point)."""
    return index.matcher.correct(question).extended


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
    names = index.matcher.correct(question)
    asked, question = question, names.replaced
    elsewhere = index.unknown_names(question) + [
        m for m in index.other_mountains(asked) if m not in index.unknown_names(question)]
    if elsewhere and not answer.mentioned_site(question):
        return answer.scope_refusal("elsewhere", lang, elsewhere[:3])
    places = index.unknown_places(question)     # 颜庙, 曲阜东站: even beside our own sites
    if places:
        return answer.scope_refusal("elsewhere", lang, places[:3])
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
    if answer.asks_existence(question):
        missing = index.uncovered_terms(question)
        if missing:
            return answer.scope_refusal("unknown_thing", lang, missing[:3])
    sites = area_sites(db, site_id)
    # A question that names sites of this area is about them (孔府是哪个朝代修的).
    named = [s for s in answer.mentioned_sites(question) if s in sites]
    hits = index.search(names.extended, sites=tuple(named) or sites, mode=mode)
    limit = retrieval.THRESHOLD if not threshold else threshold
    if hits and hits[0].score >= limit and not answer.holds_answer_type(
            question, index.texts_of(hits[0].poi_id)):
        # Asked for a height, a number or a date that the best point does not give.
        return answer.from_hits([], index.pois, lang, limit, question)
    return answer.from_hits(hits, index.pois, lang, limit, question, content.sources(db))


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

def narration_kinds(poi: Poi) -> tuple:
    """The short and long narration, then a scene's parts in order (part1, part2...)."""
    return KINDS + tuple(f"part{i + 1}" for i in range(len(poi.parts)))


def narration_text(poi: Poi, lang: str, kind: str) -> str:
    if kind == "short":
        return f"{poi.name[lang]}。{poi.short[lang]}" if lang == "zh" else \
            f"{poi.name[lang]}. {poi.short[lang]}"
    if kind.startswith("part"):
        part = poi.parts[int(kind[4:]) - 1]
        sep = "。" if lang == "zh" else ". "
        return f"{part['title'][lang]}{sep}{part['text'][lang]}"
    return poi.long[lang]


def narration_version(poi: Poi, lang: str, kind: str, db=None) -> str:
    """A short tag that changes when the narration's text, voice or recording does."""
    if db is not None and kind == "long":
        rec = repo.recording(db, poi.id, lang)
        if rec is not None:
            return rec["sha256"][:12]
    return tts.audio_key(tts.speakable(narration_text(poi, lang, kind)), lang)[:12]


def narration_file(db, *, poi_id: str, lang: str, kind: str, audio_dir: Path,
                   generate: bool = True):
    """(path, mime type) of a POI's narration: a staff recording wins over synthesis
    for the long narration; synthesised audio is generated on first use and cached
    (with ``generate=False``, None when it is not cached yet)."""
    poi = get_poi(db, poi_id)
    if lang not in ("zh", "en") or kind not in narration_kinds(poi):
        raise NotFound("unknown_narration", _l("There is no such narration."))
    if kind == "long":
        rec = repo.recording(db, poi.id, lang)
        if rec is not None:
            path = audio_dir / "recordings" / rec["filename"]
            if path.exists():
                return path, rec["mime"]
    if not generate:
        path = tts.cached_path(narration_text(poi, lang, kind), lang, audio_dir)
        return None if path is None else (path, "audio/wav")
    return tts.cached(narration_text(poi, lang, kind), lang, audio_dir), "audio/wav"


def pregenerate(db, audio_dir: Path, site_id: str | None = None,
                langs: tuple = ("zh", "en"), progress=None) -> dict:
    """Generate every missing narration file (short and long, in ``langs``)."""
    made = kept = 0
    for poi in list_pois(db, site_id):
        for lang in langs:
            for kind in narration_kinds(poi):
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


def answer_audio_file(key: str, audio_dir: Path, generate: bool = True) -> Path | None:
    """The spoken answer for a key from ``answer_audio_key`` (synthesised on first use;
    with ``generate=False``, None when it is not synthesised yet)."""
    if not re.fullmatch(r"[0-9a-f]{32}", key or ""):
        raise NotFound("unknown_audio", _l("There is no such audio."))
    folder = audio_dir / "answers"
    note = folder / f"{key}.json"
    if not note.exists():
        raise NotFound("unknown_audio", _l("That answer's audio has expired; ask again."))
    data = json.loads(note.read_text(encoding="utf-8"))
    if not generate:
        return tts.cached_path(data["text"], data["lang"], folder)
    return tts.cached(data["text"], data["lang"], folder)


# --- staff editing -----------------------------------------------------------

def save_recording(db, *, poi_id: str, lang: str, data: bytes, filename: str, user, clock,
                   audio_dir: Path, max_bytes: int, max_seconds: float = 600) -> dict:
    """Store a staff recording of a POI's long narration; it then wins over synthesis.
    The upload is checked like a voice question (guide/uploads.py), within its own limits."""
    poi = get_poi(db, poi_id)
    if lang not in ("zh", "en"):
        raise ValidationError("unsupported_language", _l("Language must be 'zh' or 'en'."))
    ext = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if ext not in RECORDING_TYPES:
        raise ValidationError("recording_type",
                              _l("Upload WAV, MP3, M4A, Ogg/Opus or WebM audio."))
    decoded = uploads.decode(data, uploads.recording_policy(max_bytes, max_seconds))
    # Stored and served by what the file is, whatever its name says.
    ext, mime = STORED_AS[uploads.sniff(data)]
    duration = decoded.seconds
    digest = hashlib.sha256(data).hexdigest()
    folder = audio_dir / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{poi.id}-{lang}-{digest[:12]}.{ext}"
    _atomic_write(folder / name, data)
    now = clock.now().isoformat(timespec="seconds")
    old = repo.recording(db, poi.id, lang)
    with immediate(db):
        repo.put_recording(db, {"poi_id": poi.id, "lang": lang, "filename": name,
                                "mime": mime, "bytes": len(data),
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
    d["paragraphs"], d["facts"], d["questions"] = list(poi.paragraphs), list(poi.facts), \
        list(poi.questions)
    d["long"], d["sources"] = poi.long, list(poi.sources)
    return d
