"""Audio uploads that cannot exhaust the server: hostile files (low sample rates, lying
headers, truncated and chained streams, compressed silence that decodes to hours,
non-audio with an audio extension) each get a clear 4xx within a second or two, the
server's memory stays flat with several at once, and a decode that runs long or
balloons is cut off. No model is loaded: every file is refused before Whisper."""
import io
import time

import numpy as np
import pytest

from guide import uploads
from guide_helpers import FIXTURES
from testkit import csrf_of as csrf
from hostile_audio import encode, hostile_set, noise_pcm, wav

EXPECTED = {
    "low-rate-200hz.wav": (400, "audio_format"),
    "header-says-1s.wav": (400, "audio_unreadable"),
    "header-unbounded.wav": (400, "audio_too_long"),
    "truncated.webm": (400, "audio_silent"),
    "two-streams.ogg": (400, "audio_too_long"),
    "silence-bomb.ogg": (400, "audio_too_long"),
    "silence-bomb.webm": (400, "audio_too_long"),
    "not-audio.mp3": (400, "audio_unreadable"),
    "png-as.m4a": (400, "audio_unreadable"),
    "garbage-after-magic.webm": (400, "audio_unreadable"),
}
QUESTION = uploads.question_policy(4 << 20, 30)


@pytest.fixture(scope="module")
def hostile():
    return hostile_set()


def _post(client, data, name, lang="en"):
    return client.post(f"/api/guide/ask-voice?lang={lang}", data={
        "site": "taishan", "lang": lang, "audio": (io.BytesIO(data), name)},
        content_type="multipart/form-data")


def test_every_hostile_upload_gets_a_clear_4xx_quickly(gclient, hostile):
    assert set(hostile) == set(EXPECTED)
    gclient.application.config["GUIDE_VOICE_PER_MINUTE"] = 1000
    for name, data in hostile.items():
        assert len(data) < 4 << 20, name                # all pass the byte limit
        started = time.monotonic()
        resp = _post(gclient, data, name)
        took = time.monotonic() - started
        body = resp.get_json()
        assert (resp.status_code, body["error"]) == EXPECTED[name], (name, body)
        assert body["message"] and took < 2.5, (name, took)
    zh = _post(gclient, hostile["low-rate-200hz.wav"], "q.wav", lang="zh").get_json()
    assert "WebM/Opus" in zh["message"] and "不支持" in zh["message"]


def test_a_wav_claiming_one_second_but_carrying_an_hour_stops_at_the_limit():
    hour = wav(b"\x80" * (8000 * 3600), 8000, bits=8, data_size=8000)   # 28.8 MB
    unbounded = wav(b"\x80" * (8000 * 3600), 8000, bits=8, data_size=0xFFFFFFFF)
    policy = uploads.question_policy(64 << 20, 30)
    for data, code in ((hour, "audio_unreadable"), (unbounded, "audio_too_long")):
        started = time.monotonic()
        with pytest.raises(Exception) as exc:
            uploads.decode(data, policy)
        assert exc.value.code == code and time.monotonic() - started < 2


def test_accepted_formats_decode_to_the_same_question():
    speech = np.frombuffer((FIXTURES / "zh_q1.wav").read_bytes()[44:], "<i2") / 32768
    expected = len(speech) / 16000
    rate = 48000
    up = np.interp(np.arange(int(expected * rate)) / rate, np.arange(len(speech)) / 16000,
                   speech).astype(np.float32)
    files = {"webm": encode(up, rate, "webm", "libopus", bit_rate=32000),
             "ogg": encode(up, rate, "ogg", "libopus", bit_rate=32000),
             "m4a": encode(up, rate, "mp4", "aac", bit_rate=64000),
             "mp3": encode(up, rate, "mp3", "libmp3lame", bit_rate=64000),
             "wav": (FIXTURES / "zh_q1.wav").read_bytes()}
    for name, data in files.items():
        decoded = uploads.decode(data, QUESTION)
        assert abs(decoded.seconds - expected) < 0.15, (name, decoded.seconds)
        assert len(decoded.samples) == pytest.approx(decoded.seconds * 16000, abs=2000)
        assert decoded.loudest > 0.05, name
    # A codec we do not accept, in a container we do: refused by its header.
    with pytest.raises(Exception) as exc:
        uploads.decode(encode(up, rate, "matroska", "libmp3lame"), QUESTION)
    assert exc.value.code == "audio_format"


def test_a_decode_that_runs_long_or_balloons_is_cut_off(hostile):
    slow = uploads.Policy(16 << 20, 4 * 3600, False, timeout_s=1, cpu_seconds=1)
    started = time.monotonic()
    with pytest.raises(Exception) as exc:       # 2.5 h of Opus takes seconds to decode
        uploads.decode(hostile["silence-bomb.ogg"], slow)
    assert exc.value.code == "audio_unreadable" and time.monotonic() - started < 3
    tiny = uploads.Policy(4 << 20, 30, True, memory_mb=1)     # cannot hold 30 s of samples
    with pytest.raises(Exception) as exc:
        uploads.decode((FIXTURES / "zh_q1.wav").read_bytes(), tiny)
    assert exc.value.code == "audio_unreadable"
    # ...and the decoder still serves the next upload.
    assert uploads.decode((FIXTURES / "zh_q1.wav").read_bytes(), QUESTION).seconds > 2


def test_when_every_decoding_slot_is_taken_the_upload_is_told_busy(monkeypatch):
    monkeypatch.setattr(uploads, "SLOT_WAIT_S", 0.2)
    taken = 0
    while uploads._slots.acquire(blocking=False):
        taken += 1
    try:
        with pytest.raises(Exception) as exc:
            uploads.decode((FIXTURES / "zh_q1.wav").read_bytes(), QUESTION)
        assert exc.value.code == "busy" and exc.value.status == 503
    finally:
        for _ in range(taken):
            uploads._slots.release()


def test_hostile_staff_recordings_are_refused_and_leave_no_file(gclient, login, audio_dir,
                                                                 hostile):
    login("staff", gclient)
    token = csrf(gclient)
    long_one = wav(noise_pcm(700, 8000, level=0.1), 8000)           # 11.7 min > 10 min
    for name, data in [*hostile.items(), ("long.wav", long_one)]:
        ext = name.rsplit(".", 1)[1]
        resp = gclient.post("/admin/guide/poi/daimiao-hanbaiyuan/recording?lang=en",
                            data={"csrf_token": token, "lang": "en",
                                  "audio": (io.BytesIO(data), f"x.{ext}")},
                            content_type="multipart/form-data")
        assert resp.status_code == 400, (name, resp.status_code)
    assert not (audio_dir / "recordings").exists() or \
        list((audio_dir / "recordings").iterdir()) == []


def test_server_memory_stays_flat_under_concurrent_hostile_uploads(tmp_path, hostile):
    # The app under waitress in its own process, so the client's copies of the uploads
    # do not count: bench/upload_bench.py prints the same figures beside honest questions.
    from bench.upload_bench import RssWatch, post_audio, run_all, start_server
    proc, base = start_server(str(tmp_path / "instance"))
    try:
        post_audio(base, "warm-up.webm", hostile["truncated.webm"])   # decoder helper up
        items = [(name, data, "en") for name, data in hostile.items()] * 2
        started = time.monotonic()
        with RssWatch(proc.pid) as watch:
            results = run_all(base, items, 12)
        took = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    for (name, _data, _lang), (status, code, _s) in zip(items, results):
        assert (status, code) == EXPECTED[name], name
    # Twenty hostile uploads, twelve at once, 2.6 MB each on average: the server holds
    # the ones the inference pool admitted (9: one running, eight queued), each once read
    # and once on its way to the model worker, and nothing they decode to (the 2.9 GB of
    # the issue is gone); each decoding child stays under its limit.
    assert watch.growth_mb < 64, watch.growth_mb
    assert watch.children_peak < 3 * 400 * 2 ** 20, watch.children_peak
    assert took < 20, took
