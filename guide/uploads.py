"""Audio uploads that cannot exhaust the server (voice questions and staff recordings).

An upload is checked in three steps, cheapest first:
1. here, in the server: its size, and its first bytes, which must be one of the formats
   phones' browsers record (WebM/Opus, Ogg/Opus, MP4/AAC) or WAV or MP3; the format
   picks the one FFmpeg demuxer allowed to read it (no probing across all of FFmpeg's);
2. in a short-lived child process: the container's header (codec, sample rate,
   channels, duration) is refused when over the limits, before any decoding;
3. in the same child: a streaming decode that counts the samples it gets and stops at
   the limit however the header lies, into a buffer sized by the limit.
The child is forked from a small helper process (Python, PyAV and NumPy only; never
from the multi-threaded server), caps its own address space and CPU time (RLIMIT_AS,
RLIMIT_CPU) and ends itself at a wall-clock timeout (SIGALRM); the server stops
waiting for it a second later. At
most ``DECODE_SLOTS`` children run at once; a further upload waits briefly, then gets
503 ``busy``. The server process holds the upload and, for questions, at most
``max_seconds`` of 16 kHz samples: nothing an upload says can make it hold more.
"""
from __future__ import annotations

import logging
import math
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.errors import DomainError, ValidationError
from core.text import _l

from . import audio_decode
from .audio_decode import TARGET_RATE, Limits

log = logging.getLogger("scenic.guide")

DECODE_SLOTS = 3
SLOT_WAIT_S = 10
SILENCE_RMS = 0.0056        # about -45 dBFS: no 30 ms frame louder means nobody spoke
MIN_SECONDS = 0.3


@dataclass(frozen=True)
class Decoded:
    seconds: float
    loudest: float
    samples: np.ndarray | None      # 16 kHz mono float32, for questions only


@dataclass(frozen=True)
class Policy:
    """The bounds of one kind of upload."""
    max_bytes: int
    max_seconds: float
    keep_samples: bool
    timeout_s: float = 5.0
    memory_mb: int = 256
    cpu_seconds: int = 5


def question_policy(max_bytes: int, max_seconds: float) -> Policy:
    return Policy(max_bytes, max_seconds, True, timeout_s=5.0, cpu_seconds=5)


def recording_policy(max_bytes: int, max_seconds: float) -> Policy:
    # A narration of several minutes decodes in a few seconds of CPU.
    return Policy(max_bytes, max_seconds, False, timeout_s=20.0, cpu_seconds=20)


def sniff(data: bytes) -> str | None:
    """The demuxer for an upload's first bytes, or None when it is none we accept."""
    head = data[:12]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":             # EBML: Matroska / WebM
        return "matroska"
    if head[4:8] == b"ftyp":                        # ISO base media: MP4 / M4A
        return "mp4"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


# --- the decoding child ----------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


class _Decoder:
    """The helper process that forks decoding children (``python -m guide.audio_decode``),
    started on first use (never at import or in create_app) and again if it died."""

    def __init__(self):
        self.lock = threading.Lock()
        self.proc = None
        self.control = None

    def _ensure(self):
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.control is not None:
            self.control.close()
        ours, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "guide.audio_decode", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], cwd=ROOT, stdin=subprocess.DEVNULL)
        theirs.close()
        self.control = ours

    def submit(self, job: dict, data: bytes, timeout: float) -> socket.socket:
        """Hand a job to a new child; returns the socket its answer comes back on."""
        mine, child = socket.socketpair()
        mine.settimeout(timeout)
        try:
            with self.lock:
                self._ensure()
                socket.send_fds(self.control, [b"job"], [child.fileno()])
        finally:
            child.close()
        audio_decode.send_message(mine, job, data)
        return mine


_decoder = _Decoder()
_slots = threading.BoundedSemaphore(DECODE_SLOTS)


def _run_child(data: bytes, fmt: str, policy: Policy) -> tuple[dict, bytes]:
    limits = Limits(max_seconds=policy.max_seconds, keep_samples=policy.keep_samples,
                    memory_mb=policy.memory_mb, cpu_seconds=policy.cpu_seconds)
    job = {"fmt": fmt, "limits": asdict(limits), "timeout_s": math.ceil(policy.timeout_s)}
    started = time.monotonic()
    try:
        # The child ends itself at timeout_s (SIGALRM); this waits a second longer.
        conn = _decoder.submit(job, data, policy.timeout_s + 1)
    except OSError:
        return {"status": "refused", "code": "audio_unreadable", "why": "no decoder"}, b""
    max_pcm = int(policy.max_seconds * TARGET_RATE + TARGET_RATE) * 4
    with conn:
        try:
            return audio_decode.read_message(conn, max_pcm)
        except (TimeoutError, EOFError, OSError, ValueError):
            # Cut off by its alarm, its CPU limit or its address space: no answer.
            log.warning("audio decode gave no answer after %.1f s (%s, %d bytes)",
                        time.monotonic() - started, fmt, len(data))
            return {"status": "refused", "code": "audio_unreadable", "why": "cut off"}, b""


# --- errors ----------------------------------------------------------------------

def _refusal(code: str, info: dict, policy: Policy) -> DomainError:
    if code == "audio_too_long":
        limit = policy.max_seconds
        seconds = info.get("seconds") or limit
        return ValidationError("audio_too_long", _l("Recordings may be up to %(limit)g seconds; "
                                                    "this one is longer (%(seconds).0f s or "
                                                    "more).", limit=limit, seconds=seconds))
    if code == "audio_format":
        return ValidationError("audio_format", _l(
            "That audio format is not accepted (%(detail)s). Accepted: WebM/Opus, Ogg/Opus, "
            "MP4/AAC (M4A), WAV or MP3, mono or stereo, 8-96 kHz.",
            detail=info.get("detail", "")))
    if code == "audio_inconsistent":
        return ValidationError("audio_unreadable", _l("The file's header does not match its "
                                                      "content (it carries much more than it "
                                                      "declares). Record again."))
    return ValidationError("audio_unreadable", _l(
        "That file is not audio we can read, or it is damaged. Record again, or upload "
        "WebM/Opus, Ogg/Opus, MP4/AAC (M4A), WAV or MP3."))


def decode(data: bytes, policy: Policy) -> Decoded:
    """Check and decode an upload within ``policy``, or raise a clear 4xx (503 when
    every decoding slot stays busy)."""
    if not data:
        raise ValidationError("audio_empty", _l("The recording is empty."))
    if len(data) > policy.max_bytes:
        size = (f"{policy.max_bytes // (1024 * 1024)} MB" if policy.max_bytes >= 1 << 20
                else f"{policy.max_bytes // 1024} KB")
        raise DomainError("audio_too_large", _l("The recording is larger than %(size)s.",
                                                size=size), 413)
    fmt = sniff(data)
    if fmt is None:
        raise _refusal("audio_unreadable", {}, policy)
    if not _slots.acquire(timeout=SLOT_WAIT_S):
        raise DomainError("busy", _l("The guide is busy; try again in a moment."), 503)
    try:
        info, pcm = _run_child(data, fmt, policy)
    finally:
        _slots.release()
    if info.get("status") != "ok":
        if info.get("why"):
            log.info("audio upload refused: %s (%s)", info.get("code"), info.get("why"))
        raise _refusal(info.get("code", "audio_unreadable"), info, policy)
    seconds = float(info["seconds"])
    if seconds < MIN_SECONDS:
        raise ValidationError("audio_too_short", _l("The recording is too short to hold a "
                                                    "question."))
    if info["loudest"] < SILENCE_RMS:
        raise ValidationError("audio_silent", _l("We heard only silence. Speak close to the "
                                                 "phone and try again."))
    samples = np.frombuffer(pcm, dtype=np.float32) if policy.keep_samples else None
    return Decoded(seconds=seconds, loudest=float(info["loudest"]), samples=samples)
