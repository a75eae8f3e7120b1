"""Languages: the request's language, the gettext catalogues, a third language added as a
catalogue only, and locale-aware money and dates."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import write_po

from app import create_app
from core.errors import NotFound
from core.i18n import CatalogueError
from core.text import _l
from scripts import i18n as catalogues

ROOT = Path(__file__).resolve().parents[2]


def test_default_is_simplified_chinese(client):
    html = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "欢迎来到泰山与曲阜三孔" in html and "泰山" in html


def test_accept_language_english(client):
    html = client.get("/", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(as_text=True)
    assert 'lang="en"' in html and "Welcome to Mount Tai" in html


def test_switch_is_visible_and_remembered(client):
    html = client.get("/").get_data(as_text=True)
    assert 'class="lang-switch"' in html and ">English<" in html
    resp = client.get("/lang/en?next=/")
    assert resp.status_code == 302 and "lang=en" in resp.headers["Set-Cookie"]
    html = client.get("/").get_data(as_text=True)
    assert "Welcome to Mount Tai" in html and ">中文<" in html


def test_query_parameter_sets_language_and_refuses_unknown_ones(client):
    html = client.get("/?lang=en", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "Welcome to Mount Tai" in html
    # An unknown one gets a clear error in both languages.
    resp = client.get("/?lang=fr")
    assert resp.status_code == 400 and client.get("/lang/xx").status_code == 400
    body = resp.get_data(as_text=True)
    assert "unsupported_language" in body and "不支持的语言" in body and "choose zh or en" in body
    api = client.get("/api/sites?lang=fr").get_json()
    assert api["error"] == "unsupported_language" and "choose zh or en" in api["message"]


def test_lang_switch_refuses_offsite_redirect(client):
    resp = client.get("/lang/en?next=https://evil.example/")
    assert resp.headers["Location"] == "/"


def test_every_message_is_translated_in_every_catalogue():
    """Fresh extraction from the code and templates: nothing missing, empty or fuzzy, and
    every translation has its msgid's placeholders."""
    template = catalogues.extract()
    assert len(template) > 400
    found = []
    for path in sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po")):
        found += catalogues.problems(template, catalogues.read(path))
    assert found == [], "run .venv/bin/python -m scripts.i18n check, then translate"


def test_the_check_finds_gaps_and_wrong_placeholders():
    template = catalogues.extract()
    zh = catalogues.read(ROOT / "translations/zh/LC_MESSAGES/messages.po")
    zh.delete("Log in")
    zh["There is no site '%(site_id)s'."].string = "没有名为“%(site)s”的景点。"
    zh["Log out"].flags.add("fuzzy")
    problems = "\n".join(catalogues.problems(template, zh))
    assert "missing 'Log in'" in problems and "fuzzy 'Log out'" in problems
    assert "placeholders differ in \"There is no site '%(site_id)s'.\"" in problems


def _catalogue_dir(tmp_path, ko_texts: dict) -> Path:
    """translations/ as shipped, plus a Korean catalogue with a few texts translated."""
    folder = tmp_path / "translations"
    shutil.copytree(ROOT / "translations", folder)
    ko = catalogues.new_catalog("ko")
    ko.update(catalogues.extract(), no_fuzzy_matching=True)
    for msgid, text in ko_texts.items():
        ko[msgid].string = text
    (folder / "ko" / "LC_MESSAGES").mkdir(parents=True)
    with (folder / "ko/LC_MESSAGES/messages.po").open("wb") as fh:
        write_po(fh, ko)
    return folder


def test_a_third_language_is_a_catalogue_not_code(tmp_path, clock):
    folder = _catalogue_dir(tmp_path, {
        "Welcome to Mount Tai and the Three Confucian Sites": "태산과 곡부 삼공에 오신 것을 환영합니다",
        "There is no site '%(site_id)s'.": "'%(site_id)s' 관광지가 없습니다."})
    app = create_app({"ENV": "testing", "TRANSLATIONS_DIR": str(folder)}, clock=clock,
                     instance_path=str(tmp_path / "instance"))
    from catalog.services import load_catalog
    from core.db import connect, migrate
    from guide.services import load_content
    db = connect(app.config["DATABASE"])
    migrate(db)
    load_catalog(db)
    load_content(db, clock=clock)
    client = app.test_client()

    resp = client.get("/?lang=ko")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'lang="ko"' in html
    assert "태산과 곡부 삼공에 오신 것을 환영합니다" in html
    assert "Book tickets" in html                  # untranslated yet: the English source
    assert ">中文<" in html and ">English<" in html  # the switch offers the others
    assert "lang=ko" in resp.headers["Set-Cookie"]
    assert "태산과" in client.get("/").get_data(as_text=True)  # remembered
    fresh = app.test_client()
    assert "태산과" in fresh.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"}).get_data(
        as_text=True)
    assert fresh.get("/api/sites/atlantis?lang=ko").get_json() == {
        "error": "unknown_site", "message": "'atlantis' 관광지가 없습니다."}
    assert "zh, en, or ko" in fresh.get("/?lang=fr").get_data(as_text=True)
    for page in ("/tickets/kongmiao", "/guide/taishan", "/guide/taishan/poi/taishan-hongmen",
                 "/guide/taishan/offline.json", "/login"):
        assert fresh.get(page + "?lang=ko").status_code == 200, page
    poi = fresh.get("/guide/taishan/poi/taishan-hongmen?lang=ko").get_data(as_text=True)
    assert "/guide/audio/taishan-hongmen/en/long" in poi  # narration in English, not "ko"


def test_a_broken_catalogue_stops_start_up_naming_the_file(tmp_path, clock):
    folder = _catalogue_dir(tmp_path, {"There is no site '%(site_id)s'.": "'%(site)s' 없음"})
    with pytest.raises(CatalogueError, match=r"ko/LC_MESSAGES/messages.po.*placeholders"):
        create_app({"ENV": "testing", "TRANSLATIONS_DIR": str(folder)}, clock=clock,
                   instance_path=str(tmp_path / "instance"))
    (folder / "ko/LC_MESSAGES/messages.po").write_text("not a catalogue\n")
    with pytest.raises(CatalogueError, match="not a readable .po file"):
        create_app({"ENV": "testing", "TRANSLATIONS_DIR": str(folder)}, clock=clock,
                   instance_path=str(tmp_path / "instance"))


def test_errors_render_in_the_request_language_and_english_outside(app):
    err = NotFound("unknown_site", _l("There is no site '%(site_id)s'.", site_id="x"))
    assert str(err) == "There is no site 'x'."
    with app.test_request_context("/?lang=zh"):
        app.preprocess_request()
        assert err.to_json() == {"error": "unknown_site", "message": "没有名为“x”的景点。"}
        assert err.localized("en") == "There is no site 'x'."


def test_money_numbers_and_days_follow_the_language(app, client):
    from flask import render_template_string
    shown = "{{ 14000|money }} {{ 85500|number }} {{ '2026-07-15'|day }}"
    for lang, want in (("zh", "¥140.00 85,500 2026年7月15日"),
                       ("en", "CN¥140.00 85,500 Jul 15, 2026")):
        with app.test_request_context(f"/?lang={lang}"):
            app.preprocess_request()
            assert render_template_string(shown) == want
    assert "Jul 15, 2026" in client.get("/tickets/kongmiao?lang=en").get_data(as_text=True)
    assert "2026年7月15日" in client.get("/tickets/kongmiao?lang=zh").get_data(as_text=True)


def test_no_old_message_patterns_left():
    """No code in the old pattern (message_zh=, MESSAGES, t()): messages are gettext msgids
    (docs/DEVELOPING.md, Translations)."""
    tracked = subprocess.run(["git", "ls-files", "*.py", "templates"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    old = re.compile(r"message_zh\s*=|^MESSAGES\s*=|from core\.i18n import .*\bt\b|"
                     r"if lang == 'zh' else")
    found = [f for f in tracked if f != "tests/core/test_i18n.py"
             and (ROOT / f).is_file()
             and any(old.search(line) for line in (ROOT / f).read_text().splitlines())]
    assert found == [], "write messages as gettext msgids: _l('English.') / _('English.')"


def test_static_js_has_no_texts_of_its_own():
    """Pages hand their JS translated texts; the service worker's offline fallback (no page to
    ask) is the one bilingual exception."""
    found = []
    for path in sorted((ROOT / "static").rglob("*.js")):
        if "vendor" in path.parts or path.name == "sw.js":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"[\u4e00-\u9fff]", line) or re.search(r"lang\s*===?\s*'(zh|en)'", line):
                found.append(f"{path.relative_to(ROOT)}:{n}")
    assert found == []


def test_the_turnstile_renders_texts_without_flask():
    """The admission core's errors carry lazy texts too; on the turnstile they read English."""
    code = ("import sys, gate_client, admission.identity, datetime; "
            "exc = None\n"
            "try: admission.identity.validate_resident_id('1', datetime.date(2026, 7, 15))\n"
            "except Exception as e: exc = e\n"
            "assert str(exc) == 'A resident ID number has 18 characters.', str(exc)\n"
            "print(sorted(m for m in ('flask', 'flask_babel', 'babel') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
