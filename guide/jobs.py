"""The guide's model work as jobs for the inference pool (core.inference): questions by
text and voice (retrieval with the embedding model, Whisper) and speech synthesis.

Each job is a top-level function of plain values, so it can run in a model worker
process: it opens its own database connection and returns picklable results. The
``settings`` argument is ``job_settings(app.config)``.
"""
from __future__ import annotations

from pathlib import Path

from core.db import own_connection
from crowd import interface as crowd

from . import models, services

SETTINGS = ("DATABASE", "DB_BUSY_TIMEOUT_MS", "GUIDE_MODEL_DIR", "GUIDE_THREADS",
            "GUIDE_ANSWER_THRESHOLD", "GUIDE_MAX_AUDIO_BYTES", "GUIDE_MAX_AUDIO_SECONDS")


def job_settings(config) -> dict:
    """What a job needs of the app's settings (plain values), with the crowd policy."""
    out = {k: config[k] for k in SETTINGS}
    out["crowd_policy"] = crowd.Policy.from_config(config)
    return out


def _prepare(settings: dict) -> None:
    models.use_model_dir(settings["GUIDE_MODEL_DIR"] or None)


def ask(settings: dict, *, site_id, question, lang, clock):
    """Answer a typed question (services.ask)."""
    _prepare(settings)
    with own_connection(settings) as db:
        return services.ask(db, site_id=site_id, question=question, lang=lang, clock=clock,
                            threshold=settings["GUIDE_ANSWER_THRESHOLD"] or None,
                            threads=settings["GUIDE_THREADS"],
                            crowd_policy=settings["crowd_policy"])


def ask_voice(settings: dict, *, site_id, audio: bytes, lang, clock):
    """Transcribe and answer a spoken question: (answer, transcript)."""
    _prepare(settings)
    with own_connection(settings) as db:
        return services.ask_voice(
            db, site_id=site_id, audio=audio, lang=lang, clock=clock,
            max_bytes=settings["GUIDE_MAX_AUDIO_BYTES"],
            max_seconds=settings["GUIDE_MAX_AUDIO_SECONDS"], threads=settings["GUIDE_THREADS"],
            threshold=settings["GUIDE_ANSWER_THRESHOLD"] or None,
            crowd_policy=settings["crowd_policy"])


def narration_file(settings: dict, *, poi_id: str, lang: str, kind: str, audio_dir: Path):
    """A POI's narration (path, mime type), synthesised if it is not cached yet."""
    _prepare(settings)
    with own_connection(settings) as db:
        return services.narration_file(db, poi_id=poi_id, lang=lang, kind=kind,
                                       audio_dir=audio_dir)


def answer_audio_file(key: str, audio_dir: Path) -> Path:
    """A spoken answer, synthesised on first use."""
    return services.answer_audio_file(key, audio_dir)


def warm(settings: dict) -> None:
    """Load the models a worker needs, so the first visitor does not wait for them."""
    _prepare(settings)
    models.whisper_model(threads=settings["GUIDE_THREADS"])
    models.embedding_session(threads=settings["GUIDE_THREADS"])
    with own_connection(settings) as db:
        services.search_index(db, settings["GUIDE_THREADS"])
    models.piper_voice()
