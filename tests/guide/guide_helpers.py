"""Helpers for the guide's tests: WAV making and reading, Piper-made English questions,
the Mandarin fixtures, a POI edit form and the session's CSRF token. (A plain module, not
a conftest, so its name never clashes with another domain's.)"""
from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def poi_form(poi, **changes) -> dict:
    """The admin edit form of a POI as it stands, with ``changes`` applied."""
    form = {f"{k}_{lang}": getattr(poi, k)[lang] for k in ("name", "short")
            for lang in ("zh", "en")}
    for prefix, group, rows in (("para", "paragraphs", poi.paragraphs),
                                ("fact", "facts", poi.facts)):
        form[group] = str(len(rows) + 1)                 # as the page: one spare row
        for i, row in enumerate(rows):
            form[f"{prefix}_zh_{i}"], form[f"{prefix}_en_{i}"] = row["zh"], row["en"]
            form[f"{prefix}_sources_{i}"] = ", ".join(row["sources"])
    for lang in ("zh", "en"):
        form[f"questions_{lang}"] = "\n".join(q[lang] for q in poi.questions)
    form.update(lat=str(poi.lat), lon=str(poi.lon), zone_id=poi.zone_id or "")
    form.update(changes)
    return form


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    """16-bit mono WAV from float samples in [-1, 1]."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def wav_info(data: bytes) -> tuple[int, float, float]:
    """(sample rate, seconds, peak) of a WAV; raises on anything that is not one."""
    with wave.open(io.BytesIO(data), "rb") as w:
        rate, frames = w.getframerate(), w.getnframes()
        pcm = np.frombuffer(w.readframes(frames), dtype="<i2")
    return rate, frames / rate, float(np.abs(pcm).max()) / 32767 if pcm.size else 0.0


_piper_cache: dict[str, bytes] = {}


def piper_clip(text: str) -> bytes:
    """An English spoken question made with Piper (the same voice the guide speaks), the
    same bytes every run: Piper's noise off (with it, each run speaks a little differently
    and Whisper hears a different question now and then)."""
    if text not in _piper_cache:
        from piper import SynthesisConfig

        from guide import models
        voice = models.piper_voice()
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            voice.synthesize_wav(text, w, syn_config=SynthesisConfig(noise_scale=0.0,
                                                                     noise_w_scale=0.0))
        _piper_cache[text] = buf.getvalue()
    return _piper_cache[text]


def zh_fixtures() -> dict[str, str]:
    return json.loads((FIXTURES / "transcripts.json").read_text(encoding="utf-8"))


SCENE = {
    "id": "kongmiao-test-scene", "site": "kongmiao", "number": 900, "kind": "scene",
    "zone": None, "name": {"zh": "祭孔大典（测试场景）", "en": "Test Ceremony Scene"},
    "aliases": {"zh": ["祭孔"], "en": ["Confucius ceremony"]},
    "lat": 35.597, "lon": 116.991,
    "short": {"zh": "测试用的场景。", "en": "A scene for the tests."},
    "paragraphs": [{"zh": "这是测试场景的引言。", "en": "This introduces the test scene.",
                    "sources": ["$1"]}],
    "facts": [], "questions": [],
    "scene": {"parts": [
        {"title": {"zh": "迎神", "en": "Welcoming the spirit"},
         "text": {"zh": "第一部分。", "en": "Part one."}, "sources": ["$1"]},
        {"title": {"zh": "初献", "en": "The first offering"},
         "text": {"zh": "第二部分。", "en": "Part two."}, "sources": ["$2"]},
        {"title": {"zh": "送神", "en": "Sending off the spirit"},
         "text": {"zh": "第三部分。", "en": "Part three."}, "sources": ["$1"]}]},
}


def load_with_scene(db, clock) -> list[str]:
    """Load the content files plus SCENE, a made-up scene point at the Temple of Confucius
    citing the area's first two sources ($1, $2); returns those two source ids."""
    from guide import content, services
    docs = content.read_files()
    sankong = next(d for d in docs if d["area"] == "sankong")
    cited = [s["id"] for s in sankong["sources"][:2]]
    scene = json.loads(json.dumps(SCENE).replace("$1", cited[0]).replace("$2", cited[1]))
    sankong["pois"].append(scene)
    services.load_content(db, clock=clock, docs=docs)
    return cited
