"""Narration audio: real espeak-ng (Mandarin) and Piper (English) output, cached by a
hash of text and voice, valid WAV of plausible length, regenerated when text changes."""
import pytest

from guide import services, tts
from guide_helpers import poi_form, wav_info

pytestmark = pytest.mark.model


def test_mandarin_narration_is_valid_speech_of_plausible_length(gclient, gdb):
    poi = services.get_poi(gdb, "kongmiao-xingtan")
    resp = gclient.get("/guide/audio/kongmiao-xingtan/zh/short")
    assert resp.status_code == 200 and resp.mimetype == "audio/wav"
    rate, seconds, peak = wav_info(resp.data)
    chars = len(services.narration_text(poi, "zh", "short"))
    # Mandarin narration runs at roughly 3-6 characters a second.
    assert chars / 8 < seconds < chars / 2, (chars, seconds)
    assert rate in (16000, 22050) and peak > 0.1


def test_english_narration_is_valid_speech_of_plausible_length(gclient, gdb):
    poi = services.get_poi(gdb, "kongmiao-xingtan")
    resp = gclient.get("/guide/audio/kongmiao-xingtan/en/short")
    rate, seconds, peak = wav_info(resp.data)
    words = len(services.narration_text(poi, "en", "short").split())
    # Piper's joe voice speaks about 2-3.5 words a second.
    assert words / 4.5 < seconds < words / 1.5, (words, seconds)
    assert rate == 22050 and peak > 0.1


def test_audio_is_cached_and_a_text_change_makes_new_audio(gclient, gdb, audio_dir, clock,
                                                           make_user):
    first = gclient.get("/guide/audio/kongfu-ertang/zh/short")
    files = set(audio_dir.glob("*.wav"))
    again = gclient.get("/guide/audio/kongfu-ertang/zh/short")
    assert again.data == first.data and set(audio_dir.glob("*.wav")) == files
    poi = services.get_poi(gdb, "kongfu-ertang")
    services.update_poi(gdb, poi.id, poi_form(poi, short_zh=poi.short["zh"] + "这里曾考选礼乐童生。"),
                        user=make_user("staff"), clock=clock)
    changed = gclient.get("/guide/audio/kongfu-ertang/zh/short")
    assert changed.data != first.data
    assert wav_info(changed.data)[1] > wav_info(first.data)[1]
    assert len(set(audio_dir.glob("*.wav")) - files) == 1


def test_cli_pregenerates_missing_audio_only(guide_app, audio_dir):
    runner = guide_app.test_cli_runner()
    from core.db import connect
    db = connect(guide_app.config["DATABASE"])
    try:
        expected = sum(len(services.narration_kinds(p)) for p in services.list_pois(db, "daimiao"))
    finally:
        db.conn.close()
    result = runner.invoke(args=["guide", "audio", "--site", "daimiao", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert f"generated {expected}, already cached 0" in result.output
    assert len(list(audio_dir.glob("*.wav"))) == expected >= 20
    result = runner.invoke(args=["guide", "audio", "--site", "daimiao", "--lang", "zh"])
    assert f"generated 0, already cached {expected}" in result.output


def test_markup_is_not_read_aloud():
    assert tts.speakable("<b>南天门</b>\n  海拔 1460 米") == "南天门 海拔 1460 米"
    assert tts.audio_key("a", "zh") != tts.audio_key("a", "en")
