"""Staff content admin: guarded, CSRF-protected, validated, audited; human recordings
win over synthesis and bad uploads leave nothing behind."""
import numpy as np

from guide import services
from guide_helpers import poi_form as _form
from guide_helpers import wav_bytes, wav_info
from testkit import csrf_of


def test_admin_needs_a_staff_login(gclient, login):
    resp = gclient.get("/admin/guide")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login("staff", gclient)
    html = gclient.get("/admin/guide").get_data(as_text=True)
    assert "南天门" in html and "South Gate of Heaven" in html


def test_console_links_to_the_guide_admin(gclient, login):
    login("staff", gclient)
    assert "/admin/guide" in gclient.get("/console").get_data(as_text=True)


def test_edit_saves_audits_and_changes_the_narration_audio_url(gclient, gdb, login):
    user = login("staff", gclient)
    poi = services.get_poi(gdb, "konglin-kongzimu")
    old_version = services.narration_version(poi, "en", "long", gdb)
    last = len(poi.paragraphs) - 1
    form = _form(poi, **{f"para_en_{last}": poi.paragraphs[last]["en"] + " Visitors bow here."})
    form["csrf_token"] = csrf_of(gclient)
    resp = gclient.post("/admin/guide/poi/konglin-kongzimu", data=form)
    assert resp.status_code == 302
    saved = services.get_poi(gdb, poi.id)
    assert saved.long["en"].endswith("Visitors bow here.") and saved.edited
    assert saved.paragraphs[last]["sources"] == poi.paragraphs[last]["sources"]   # kept
    assert saved.updated_by == user.username
    assert services.narration_version(saved, "en", "long", gdb) != old_version
    log = services.edit_log(gdb)
    assert log[0]["poi_id"] == poi.id and "paragraphs_json" in log[0]["fields"]


def test_staff_add_and_remove_paragraphs_and_facts_with_their_own_sources(gclient, gdb, login):
    login("staff", gclient)
    poi = services.get_poi(gdb, "konglin-kongzimu")
    page = gclient.get("/admin/guide/poi/konglin-kongzimu").get_data(as_text=True)
    assert 'name="para_sources_0"' in page and poi.paragraphs[0]["sources"][0] in page
    spare = len(poi.paragraphs)
    cite = sorted(s for s in services.content.sources(gdb) if s.startswith("SK-"))[-1]
    form = _form(poi, **{f"para_zh_{spare}": "孔子墓前有明代墓碑。",
                         f"para_en_{spare}": "A Ming stele stands before the tomb.",
                         f"para_sources_{spare}": cite, "fact_zh_0": "", "fact_en_0": "",
                         "fact_sources_0": ""})
    form["csrf_token"] = csrf_of(gclient)
    assert gclient.post("/admin/guide/poi/konglin-kongzimu", data=form).status_code == 302
    saved = services.get_poi(gdb, poi.id)
    assert len(saved.paragraphs) == spare + 1
    assert saved.paragraphs[-1] == {"zh": "孔子墓前有明代墓碑。",
                                    "en": "A Ming stele stands before the tomb.",
                                    "sources": [cite]}
    assert list(saved.facts) == list(poi.facts[1:])
    html = gclient.get("/guide/konglin/poi/konglin-kongzimu?lang=en").get_data(as_text=True)
    assert "A Ming stele stands before the tomb." in html and f'href="#src-{cite}"' in html


def test_edit_without_csrf_is_refused(gclient, gdb, login):
    login("staff", gclient)
    poi = services.get_poi(gdb, "konglin-kongzimu")
    resp = gclient.post("/admin/guide/poi/konglin-kongzimu", data=_form(poi, name_en="Hacked"))
    assert resp.status_code == 400
    assert services.get_poi(gdb, poi.id).name["en"] == poi.name["en"]


def test_bad_edits_show_the_form_again_and_change_nothing(gclient, gdb, login):
    login("staff", gclient)
    poi = services.get_poi(gdb, "kongfu-datang")
    token = csrf_of(gclient)
    cases = [
        ({"fact_en_0": ""}, "in Chinese and in English"),
        ({"questions_zh": "一\n二", "questions_en": "one"}, "same number of lines"),
        ({"name_zh": "  "}, "may not be empty"),
        ({"lat": "north"}, "coordinates"),
        ({"zone_id": "daiding"}, "not part of this site"),
        ({"para_en_0": "x" * 4001}, "up to 4000"),
        ({"para_sources_0": "MT-X1, SK-NOPE"}, "unknown: MT-X1, SK-NOPE"),
        ({"fact_sources_1": ""}, "(unknown: -)"),
        ({f"para_{k}_{i}": "" for i in range(len(poi.paragraphs))
          for k in ("zh", "en", "sources")}, "at least one narration"),
    ]
    for change, message in cases:
        form = dict(_form(poi, **change), csrf_token=token)
        resp = gclient.post("/admin/guide/poi/kongfu-datang?lang=en", data=form)
        assert resp.status_code == 400, change
        assert message in resp.get_data(as_text=True), change
    assert services.get_poi(gdb, poi.id) == poi
    assert services.edit_log(gdb) == []


def _tone(seconds=2.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    return wav_bytes(0.4 * np.sin(2 * np.pi * 220 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t)),
                     rate)


def test_human_recording_wins_then_removal_restores_synthesis(gclient, gdb, login, audio_dir):
    login("staff", gclient)
    token = csrf_of(gclient)
    recording = _tone(2.0)
    resp = gclient.post("/admin/guide/poi/daimiao-hanbaiyuan/recording",
                        data={"csrf_token": token, "lang": "zh",
                              "audio": (__import__("io").BytesIO(recording), "hanbai.wav")},
                        content_type="multipart/form-data")
    assert resp.status_code == 302
    served = gclient.get("/guide/audio/daimiao-hanbaiyuan/zh/long")
    assert served.status_code == 200 and served.data == recording
    page = gclient.get("/guide/daimiao/poi/daimiao-hanbaiyuan?lang=zh").get_data(as_text=True)
    assert "人工录音" in page
    resp = gclient.post("/admin/guide/poi/daimiao-hanbaiyuan/recording/zh/delete",
                        data={"csrf_token": token})
    assert resp.status_code == 302
    assert list((audio_dir / "recordings").glob("daimiao-hanbaiyuan-*")) == []
    synth = gclient.get("/guide/audio/daimiao-hanbaiyuan/zh/long")
    rate, seconds, _peak = wav_info(synth.data)
    assert synth.data != recording and seconds > 10


def test_bad_recordings_are_refused_and_leave_no_file(gclient, gdb, login, audio_dir):
    import io
    login("staff", gclient)
    token = csrf_of(gclient)
    cases = [
        (b"", "x.wav", "empty"),
        (b"this is not audio at all" * 50, "fake.wav", "not audio"),
        (_tone(1.0), "tone.exe", "Upload WAV"),
        (wav_bytes(np.zeros(32000)), "silence.wav", "silence"),
    ]
    for data, name, message in cases:
        resp = gclient.post("/admin/guide/poi/daimiao-hanbaiyuan/recording?lang=en",
                            data={"csrf_token": token, "lang": "en",
                                  "audio": (io.BytesIO(data), name)},
                            content_type="multipart/form-data")
        assert resp.status_code == 400, name
        assert message in resp.get_data(as_text=True), name
    resp = gclient.post("/admin/guide/poi/daimiao-hanbaiyuan/recording?lang=en",
                        data={"csrf_token": token, "lang": "fr",
                              "audio": (io.BytesIO(_tone(1.0)), "ok.wav")},
                        content_type="multipart/form-data")
    assert resp.status_code == 400
    assert services.recordings(gdb) == {}
    assert not (audio_dir / "recordings").exists() or \
        list((audio_dir / "recordings").iterdir()) == []
