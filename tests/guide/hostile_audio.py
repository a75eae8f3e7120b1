"""Hostile audio uploads, made in Python with PyAV (no sox/ffmpeg binaries), for the
upload tests and bench/upload_bench.py. Each is small enough to pass the byte limit
and aims at a different way of making a decoder hold or spend too much.

Most carry quiet noise or silence on purpose: whatever slips past the upload checks
would then stop at the silence check, never at Whisper, so a memory measurement sees
the upload path only."""
from __future__ import annotations

import io
import struct
from fractions import Fraction

import av
import numpy as np


def wav(pcm: bytes, rate: int, *, bits: int = 16, channels: int = 1,
        data_size: int | None = None) -> bytes:
    """A RIFF WAV around ``pcm``; ``data_size`` lets the header lie about its length."""
    size = len(pcm) if data_size is None else data_size
    block = channels * bits // 8
    head = b"RIFF" + struct.pack("<I", min(36 + size, 0xFFFFFFFF)) + b"WAVE"
    head += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
    head += b"data" + struct.pack("<I", size)
    return head + pcm


def noise_pcm(seconds: float, rate: int, level: float = 0.2, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * rate)) * level * 32767).clip(
        -32767, 32767).astype("<i2").tobytes()


def encode(samples: np.ndarray, rate: int, fmt: str, codec: str, *, bit_rate: int | None = None,
           options: dict | None = None) -> bytes:
    """Encode mono float samples with PyAV into ``fmt`` / ``codec``."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        step = rate                                  # one second a frame
        for start in range(0, len(samples), step):
            block = samples[start:start + step].astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def repeated_silence(fmt: str, seconds: float, *, options: dict | None = None) -> bytes:
    """Hours of Opus silence in a few hundred KB: one encoded silent packet muxed again
    and again with rising timestamps (a 'zip bomb' of audio), no duration in the header
    when ``options`` asks for a live stream."""
    rate = 48000
    with av.open(io.BytesIO(), "w", format="ogg") as scratch:
        stream = scratch.add_stream("libopus", rate=rate, layout="mono")
        stream.bit_rate = 6000
        frame = av.AudioFrame.from_ndarray(np.zeros((1, rate), np.float32), format="flt",
                                           layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        template = [bytes(p) for p in stream.encode(frame)] + \
            [bytes(p) for p in stream.encode(None)]
    silent = template[len(template) // 2]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream("libopus", rate=rate, layout="mono")
        stream.bit_rate = 6000
        stream.time_base = Fraction(1, rate)
        step = 960                                   # 20 ms packets
        for i in range(int(seconds * rate / step)):
            packet = av.Packet(silent)
            packet.stream = stream
            packet.pts = packet.dts = i * step
            packet.duration = step
            packet.time_base = stream.time_base
            out.mux(packet)
    return buf.getvalue()


def hostile_set() -> dict[str, bytes]:
    """name -> bytes of every hostile upload (all under the 4 MiB question limit)."""
    rate = 48000
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * rate) / rate)).astype(np.float32)
    quiet = np.zeros(10 * rate, np.float32)
    webm = encode(quiet, rate, "webm", "libopus", bit_rate=24000)
    first = encode(tone, rate, "ogg", "libopus", bit_rate=24000)
    return {
        # 5.5 hours at 200 Hz, 8-bit: 3.96 MB that once cost 2.9 GB to resample.
        "low-rate-200hz.wav": wav(b"\x80" * (200 * 5 * 3600 + 200 * 1800), 200, bits=8),
        # Says 1 s of 16 kHz audio in its data chunk, carries two more minutes.
        "header-says-1s.wav": wav(noise_pcm(120, 16000, level=0.001), 16000, data_size=32000),
        # Says "unknown length" (0xFFFFFFFF) and carries two minutes.
        "header-unbounded.wav": wav(noise_pcm(120, 16000, level=0.001), 16000,
                                    data_size=0xFFFFFFFF),
        "truncated.webm": webm[: len(webm) * 6 // 10],
        # A 2 s stream followed by a second one of an hour of silence.
        "two-streams.ogg": first + repeated_silence("ogg", 3600),
        # Two and a half hours of silence in 3.4 MB.
        "silence-bomb.ogg": repeated_silence("ogg", 2.5 * 3600),
        # 40 minutes of silence, no duration in its header (like MediaRecorder's WebM).
        "silence-bomb.webm": repeated_silence("webm", 40 * 60, options={"live": "1"}),
        "not-audio.mp3": b"%PDF-1.4\n" + bytes(range(256)) * 400,
        "png-as.m4a": b"\x89PNG\r\n\x1a\n" + b"\x00" * 50000,
        "garbage-after-magic.webm": b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 2000,
    }
