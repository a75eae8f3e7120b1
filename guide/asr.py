"""Speech to text for spoken questions: Whisper base (multilingual) via faster-whisper.

Uploads are checked before the model sees them (guide/uploads.py): empty, not an
accepted format, too long, too short and silent clips each get their own error code.
The language is forced when the page knows it, and Mandarin gets an initial prompt with
the place names in simplified characters (without it Whisper drifts into traditional
characters and mishears the names). A transcript that looks like a repetition loop or a
hallucination (Whisper's compression-ratio and log-probability checks, a token budget
and a length bound from the clip's duration, a read-back prompt) is not answered: the
visitor is asked to ask again.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import numpy as np

from core.errors import DomainError
from core.text import _l

from . import models, uploads

log = logging.getLogger("scenic.guide")

SAMPLE_RATE = 16000
MAX_TOKENS = 80
PROMPTS = {
    # Kept short on purpose: a longer list of names made Whisper base hear 孔庙 as 红妙
    # on the fixture clips; this one is the prompt verified in tests/guide/fixtures.
    "zh": "以下是普通话的句子。泰山、南天门、十八盘、玉皇顶、孔庙、孔府、孔林、大成殿。",
    "en": "A visitor asks about Mount Tai, the Dai Temple, the Temple of Confucius, the Kong "
          "Family Mansion or the Cemetery of Confucius.",
}
# Whisper sometimes answers in traditional characters despite the prompt; these are
# the ones that occur in visitors' questions (the search index is simplified).
_T2S = str.maketrans(
    "麼時個裡廟門臺階幾嗎過開關還這誰塊錢為們說參觀遊覽點鐘票價買賣張來車纜纜嶽頂殿樓碑間"
    "廣場處記與從後會對進區館實東禮於應經歷條遠話該將長壓擠滿隊現剩餘圖邊萬聖師龍鳳華韓盤鬥級",
    "么时个里庙门台阶几吗过开关还这谁块钱为们说参观游览点钟票价买卖张来车缆缆岳顶殿楼碑间"
    "广场处记与从后会对进区馆实东礼于应经历条远话该将长压挤满队现剩余图边万圣师龙凤华韩盘斗级")
PROMPT_NAMES = {
    "zh": ("泰山", "南天门", "十八盘", "玉皇顶", "孔庙", "孔府", "孔林", "大成殿"),
    "en": ("mount tai", "dai temple", "temple of confucius", "kong family mansion",
           "cemetery of confucius"),
}
_lock = threading.Lock()


@dataclass(frozen=True)
class Transcript:
    text: str
    lang: str
    audio_seconds: float
    language_probability: float


def decode(data: bytes, *, max_bytes: int, max_seconds: float) -> np.ndarray:
    """Check and decode an upload (guide/uploads.py: header first, bounded streaming
    decode in a child process) to 16 kHz mono float samples, or raise a clear error."""
    return uploads.decode(data, uploads.question_policy(max_bytes, max_seconds)).samples


def to_simplified(text: str) -> str:
    return text.translate(_T2S)


def token_budget(seconds: float) -> int:
    """The most tokens a question of ``seconds`` can need: fast Mandarin is about 7
    syllables a second, a token each or a little more; English needs fewer."""
    return max(12, min(MAX_TOKENS, int(8 + 10 * seconds)))


def _units(text: str, lang: str) -> list[str]:
    if lang == "zh":
        return [ch for ch in text if ch.isalnum()]
    return re.findall(r"[a-z0-9']+", text.lower())


def repeats(units: list[str], *, max_unit: int = 8) -> int:
    """The most times any run of 1..max_unit units repeats back to back."""
    best = 1
    n = len(units)
    for size in range(1, min(max_unit, n // 2) + 1):
        for start in range(0, n - size):
            count = 1
            while units[start + count * size:start + (count + 1) * size] == \
                    units[start:start + size]:
                count += 1
            if count > best and (size > 1 or count >= 4):
                best = count
    return best


def prompt_echo(text: str, lang: str) -> bool:
    """Whisper on unclear audio tends to read its prompt back ("泰山、南天门、十八盘…",
    "A visitor asks about Mount Tai…"): a list of prompt names with almost nothing else."""
    if lang == "zh":
        names = [n for n in PROMPT_NAMES["zh"] if n in text]
        rest = text
        for n in names:
            rest = rest.replace(n, "")
        rest = "".join(ch for ch in rest if ch.isalnum() and ch not in "和与及还有")
        return "以下是普通话" in text or (len(names) >= 3 and len(rest) <= 2)
    lowered = text.lower()
    if "visitor asks" in lowered:
        return True
    names = [n for n in PROMPT_NAMES["en"] if n in lowered]
    for n in names:
        lowered = lowered.replace(n, "")
    rest = [w for w in re.findall(r"[a-z']+", lowered) if w not in ("the", "and", "or", "of", "a")]
    return len(names) >= 3 and len(rest) <= 1


def unclear(segments, text: str, lang: str, speech_seconds: float, budget: int) -> str | None:
    """Why a transcript cannot be trusted as the question (a loop, a hallucination, a
    read-back prompt), or None. Thresholds: Whisper's own (compression ratio 2.4,
    mean log-probability -1.0, no-speech 0.6), the token budget, and the length a
    person can say in the speech's duration."""
    for seg in segments:
        if seg.compression_ratio > 2.4:
            return "compression"
        if seg.avg_logprob < -1.0:
            return "logprob"
        if seg.no_speech_prob > 0.6 and seg.avg_logprob < -0.4:
            return "no-speech"
        if len(seg.tokens) >= budget:
            return "token budget"
    units = _units(text, lang)
    if repeats(units) >= 3:
        return "repetition"
    per_second = 9 if lang == "zh" else 5
    if len(units) > per_second * speech_seconds + 4:
        return "too long for the speech"
    if prompt_echo(text, lang):
        return "prompt echo"
    return None


def transcribe(samples: np.ndarray, lang: str | None, *, threads: int = 2,
               beam_size: int = 1) -> Transcript:
    """Transcribe decoded samples; ``lang`` forces zh or en, None detects it. A
    transcript that looks like a loop or a hallucination raises 422 ``unclear_speech``
    (please ask again), nothing intelligible 422 ``no_speech``."""
    model = models.whisper_model(threads=threads)
    seconds = len(samples) / SAMPLE_RATE
    budget = token_budget(seconds)
    # CTranslate2 models may run concurrently, but two at once on two cores only
    # slow each other down; callers bound concurrency, this lock serialises the rest.
    with _lock:
        segments, info = model.transcribe(
            samples, language=lang, beam_size=beam_size, initial_prompt=PROMPTS.get(lang),
            without_timestamps=True, condition_on_previous_text=False, temperature=0.0,
            # A question is one or two sentences: the token budget follows the clip's
            # length, and the packaged Silero VAD drops wordless stretches first.
            max_new_tokens=budget, vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 500, "speech_pad_ms": 300})
        segments = list(segments)
    text = "".join(s.text for s in segments).strip()
    detected = info.language if lang is None else lang
    out_lang = "zh" if detected in ("zh", "yue") else "en"
    if out_lang == "zh":
        text = to_simplified(text)
    if not text or not any(ch.isalnum() for ch in text):
        raise DomainError("no_speech", _l("We could not make out a question. Please try again, "
                                          "or type it."), 422)
    speech = getattr(info, "duration_after_vad", None) or seconds
    why = unclear(segments, text, out_lang, speech, budget)
    if why is not None:
        log.info("transcript refused as unclear (%s): %r", why, text[:80])
        raise DomainError("unclear_speech", _l("We could not hear the question clearly. Please "
                                               "ask again, a little closer to the phone, or type "
                                               "it."), 422)
    return Transcript(text=text, lang=out_lang, audio_seconds=seconds,
                      language_probability=float(info.language_probability))
