"""The decoding half of audio uploads, run in a short-lived child process (see
guide/uploads.py): it reads the container's header, refuses what is over the limits,
then decodes streaming, counting samples, and stops at the limit however the header lies.

``python -m guide.audio_decode FD`` is the helper that forks those children: a
single-threaded process with only PyAV and NumPy loaded, so a fork is cheap (a few ms)
and safe, which forking the multi-threaded web server would not be.
"""
from __future__ import annotations

import io
import json
import os
import resource
import signal
import socket
import struct
import sys
from dataclasses import dataclass

import av
import numpy as np

TARGET_RATE = 16000
FRAME = int(0.03 * TARGET_RATE)        # 30 ms, the unit of the silence check
# What phones' browsers record (MediaRecorder: Chrome/Android WebM/Opus, Firefox Ogg/Opus,
# Safari/iOS MP4/AAC) and what people upload (WAV, MP3): demuxer -> accepted codecs.
ACCEPTED = {
    "wav": {"pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"},
    "ogg": {"opus"},
    "matroska": {"opus"},
    "mp4": {"aac"},
    "mp3": {"mp3", "mp3float"},
}
MIN_RATE, MAX_RATE = 8000, 96000
MAX_CHANNELS = 2
# The fewest samples an accepted codec puts in a packet (Opus: 2.5 ms): a stream of
# packets that decode to nothing stops here instead of spinning.
PACKETS_PER_SECOND = 400
TRAILING_SLACK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_seconds: float
    keep_samples: bool          # voice questions need the samples; recordings only stats
    memory_mb: int = 256        # address space the decode may add to the child
    cpu_seconds: int = 5


class Refused(Exception):
    """An upload the decoder will not take: ``code`` and values for its message."""

    def __init__(self, code: str, **values):
        super().__init__(code)
        self.code = code
        self.values = values


def limit_self(limits: Limits) -> None:
    """Cap this (child) process: CPU seconds, address space above what is mapped now,
    and no files written."""
    with open("/proc/self/statm") as fh:
        mapped = int(fh.read().split()[0]) * resource.getpagesize()
    budget = mapped + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _header(container, fmt: str, limits: Limits):
    streams = container.streams.audio
    if not streams:
        raise Refused("audio_unreadable")
    stream = streams[0]
    ctx = stream.codec_context
    codec = ctx.name
    if codec not in ACCEPTED[fmt]:
        raise Refused("audio_format", detail=f"{fmt}/{codec}")
    rate, channels = ctx.sample_rate or 0, ctx.channels or 0
    if not MIN_RATE <= rate <= MAX_RATE:
        raise Refused("audio_format", detail=f"{rate} Hz")
    if not 1 <= channels <= MAX_CHANNELS:
        raise Refused("audio_format", detail=f"{channels} channels")
    seconds = None
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / av.time_base
    if seconds is not None and seconds > limits.max_seconds:
        raise Refused("audio_too_long", seconds=seconds)
    # One decoding thread: FFmpeg's frame threads would multiply memory and CPU.
    ctx.thread_count = 1
    return stream, seconds


class _Loudness:
    """Running loudest 30 ms RMS of a 16 kHz stream, without keeping the stream."""

    def __init__(self):
        self.carry = np.zeros(0, np.float32)
        self.loudest = 0.0

    def add(self, block: np.ndarray) -> None:
        data = np.concatenate([self.carry, block]) if self.carry.size else block
        usable = len(data) - len(data) % FRAME
        if usable:
            frames = data[:usable].reshape(-1, FRAME).astype(np.float64)
            self.loudest = max(self.loudest, float(np.sqrt((frames ** 2).mean(axis=1)).max()))
        self.carry = data[usable:].copy()


def decode(data: bytes, fmt: str, limits: Limits) -> dict:
    """Probe and decode ``data`` with the demuxer ``fmt``; returns seconds, header
    seconds, loudest 30 ms RMS and (for questions) 16 kHz mono float32 samples."""
    try:
        container = av.open(io.BytesIO(data), format=fmt, metadata_errors="ignore",
                            options={"probesize": "1048576", "analyzeduration": "2000000"})
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError):
        raise Refused("audio_unreadable") from None
    with container:
        stream, header_seconds = _header(container, fmt, limits)
        cap = int(limits.max_seconds * TARGET_RATE) + TARGET_RATE
        kept = np.empty(cap if limits.keep_samples else 0, np.float32)
        n_out = 0
        seconds = 0.0
        packets = 0
        max_packets = int(limits.max_seconds * PACKETS_PER_SECOND) + 100
        consumed = 0
        loud = _Loudness()
        resampler = None
        layout = None

        def take(frames):
            nonlocal n_out
            for out in frames:
                block = out.to_ndarray().reshape(-1)
                loud.add(block)
                if limits.keep_samples:
                    room = min(len(block), cap - n_out)
                    kept[n_out:n_out + room] = block[:room]
                    n_out += room
                else:
                    n_out += len(block)
        try:
            for packet in container.demux(stream):
                packets += 1
                if packets > max_packets:
                    raise Refused("audio_unreadable")
                if packet.pos is not None and packet.pos >= 0:
                    consumed = max(consumed, packet.pos + packet.size)
                for frame in packet.decode():
                    seconds += frame.samples / (frame.sample_rate or TARGET_RATE)
                    if seconds > limits.max_seconds:
                        raise Refused("audio_too_long", seconds=seconds)
                    shape = (frame.format.name, frame.layout.name, frame.sample_rate)
                    if shape != layout:      # a chained stream may change its format
                        if resampler is not None:
                            take(resampler.resample(None))
                        resampler = av.AudioResampler(format="flt", layout="mono",
                                                      rate=TARGET_RATE)
                        layout = shape
                    frame.pts = None
                    take(resampler.resample(frame))
            if resampler is not None:
                take(resampler.resample(None))
        except av.error.FFmpegError:
            raise Refused("audio_unreadable") from None
        except MemoryError:
            raise Refused("audio_unreadable") from None
    # A file that carries much more than its header let the demuxer read (a WAV whose
    # data chunk claims 1 s, followed by an hour) is not what it says it is.
    if consumed and len(data) - consumed > max(TRAILING_SLACK, len(data) // 10):
        raise Refused("audio_inconsistent")
    out = {"seconds": seconds, "header_seconds": header_seconds, "loudest": loud.loudest,
           "samples": n_out}
    if limits.keep_samples:
        out["pcm"] = kept[:n_out].tobytes()
    return out


# --- the decoding service: a single-threaded helper that forks one child per upload ---

def _read_exact(conn, n: int) -> bytes:
    buf = bytearray(n)          # filled in place: no list of chunks joined afterwards
    view, got = memoryview(buf), 0
    while got < n:
        read = conn.recv_into(view[got:], min(n - got, 1 << 20))
        if not read:
            raise EOFError
        got += read
    return bytes(buf) if n < 1 << 16 else buf


def send_message(conn, header: dict, payload: bytes = b"") -> None:
    head = json.dumps(header).encode()
    conn.sendall(struct.pack("<II", len(head), len(payload)) + head)
    if payload:
        conn.sendall(memoryview(payload))       # no joined copy of a 12 MB upload


def read_message(conn, max_payload: int) -> tuple[dict, bytes]:
    n_head, n_payload = struct.unpack("<II", _read_exact(conn, 8))
    if n_head > 1 << 16 or n_payload > max_payload:
        raise EOFError
    return json.loads(_read_exact(conn, n_head)), _read_exact(conn, n_payload)


def _job(conn) -> None:
    """One upload, in a forked child: cap this process, read the job, decode, answer."""
    # The wall-clock bound: SIGALRM's default action ends the process even inside C code.
    signal.alarm(60)
    job, data = read_message(conn, 1 << 30)
    limits = Limits(**job["limits"])
    signal.alarm(max(1, int(job["timeout_s"])))
    limit_self(limits)
    try:
        result = decode(data, job["fmt"], limits)
    except Refused as exc:
        send_message(conn, {"status": "refused", "code": exc.code, **exc.values})
        return
    except MemoryError:
        send_message(conn, {"status": "refused", "code": "audio_unreadable", "why": "memory"})
        return
    except Exception as exc:  # noqa: BLE001 - a decoder bug must still answer the server
        send_message(conn, {"status": "refused", "code": "audio_unreadable",
                            "why": type(exc).__name__})
        return
    pcm = result.pop("pcm", b"")
    send_message(conn, {"status": "ok", **result}, pcm)


def serve(control_fd: int) -> None:
    """The helper's loop: each message on the control socket carries one job's socket;
    a forked child does the job. Ends when the server closes the control socket."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)      # children are reaped by the kernel
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(control, 64, 1)
        except OSError:
            return
        if not msg or not fds:
            return
        conn = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                control.close()
                _job(conn)
            except BaseException:  # noqa: BLE001 - the child exits whatever happened
                code = 1
            finally:
                os._exit(code)
        conn.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
