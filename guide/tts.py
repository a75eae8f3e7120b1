"""Narration audio: text to speech, cached as WAV files keyed by a hash of voice + text.

Mandarin uses Debian's espeak-ng with the ``cmn-latn-pinyin`` voice fed Chinese
characters (the plain ``cmn`` voice reads tone digits aloud in English); English uses
Piper with the joe (medium) voice. A changed text hashes to a new file, so edits
regenerate audio and stale files are never served.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import threading
import wave
from pathlib import Path

from core.errors import DomainError
from core.text import _l

from . import models

ESPEAK_VOICE = "cmn-latn-pinyin"
ESPEAK_SPEED = 165          # words a minute; the default 175 runs Mandarin syllables together
VOICES = {"zh": f"espeak-ng:{ESPEAK_VOICE}:s{ESPEAK_SPEED}", "en": "piper:en_US-joe-medium:1"}
# Generation of one key at a time; a fixed pool of locks keeps this bounded.
_LOCKS = [threading.Lock() for _ in range(64)]
_piper_lock = threading.Lock()


class TtsFailed(DomainError):
    def __init__(self, detail: str):
        super().__init__("tts_failed", _l("Speech could not be generated right now."), 503)
        self.detail = detail


def audio_key(text: str, lang: str) -> str:
    return hashlib.sha256(f"{VOICES[lang]}\n{text}".encode()).hexdigest()[:32]


def speakable(text: str) -> str:
    """Text as the voice should read it: no markup remnants, collapsed whitespace."""
    text = re.sub(r"<[^>]*>", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _espeak(text: str, target: Path) -> None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise TtsFailed("espeak-ng is not installed")
    # Text goes through stdin so nothing in it can be read as an option.
    proc = subprocess.run([exe, "-v", ESPEAK_VOICE, "-s", str(ESPEAK_SPEED), "-w", str(target),
                           "--stdin"], input=text.encode("utf-8"), capture_output=True,
                          timeout=300, check=False)
    if proc.returncode != 0 or not target.exists() or target.stat().st_size <= 44:
        raise TtsFailed(f"espeak-ng exited {proc.returncode}: "
                        f"{proc.stderr.decode(errors='replace')[:200]}")


def _piper(text: str, target: Path) -> None:
    voice = models.piper_voice()
    # PiperVoice keeps per-call state in onnxruntime; one synthesis at a time is safe.
    with _piper_lock, wave.open(str(target), "wb") as out:
        voice.synthesize_wav(text, out)


def synthesize_to(text: str, lang: str, target: Path) -> Path:
    """Speak ``text`` in ``lang`` into a WAV file (atomically replaced)."""
    text = speakable(text)
    if not text:
        raise TtsFailed("nothing to say")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".wav", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if lang == "zh":
            _espeak(text, tmp)
        else:
            _piper(text, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def cached_path(text: str, lang: str, folder: Path) -> Path | None:
    """The cached narration for ``text`` if it has been generated, else None."""
    target = folder / f"{audio_key(speakable(text), lang)}.wav"
    return target if target.exists() else None


def cached(text: str, lang: str, folder: Path) -> Path:
    """The cached narration for ``text``, generating it on first use."""
    key = audio_key(speakable(text), lang)
    target = folder / f"{key}.wav"
    if target.exists():
        return target
    with _LOCKS[int(key[:4], 16) % len(_LOCKS)]:
        if not target.exists():
            synthesize_to(text, lang, target)
    return target


def wav_duration(path_or_bytes) -> float:
    """Seconds of audio in a WAV file (0 when unreadable)."""
    try:
        src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
        with wave.open(src, "rb") as w:
            return w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError, OSError):
        return 0.0


def prune(folder: Path, keep: int, pattern: str = "*.wav") -> int:
    """Delete the oldest files beyond ``keep`` (answer audio is a bounded cache)."""
    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except FileNotFoundError:      # pruned by a concurrent request meanwhile
            return 0.0
    files = sorted(folder.glob(pattern), key=mtime, reverse=True)
    removed = 0
    for old in files[keep:]:
        old.unlink(missing_ok=True)
        removed += 1
    return removed
