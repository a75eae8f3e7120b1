"""The message conversion script: what it rewrites, that a second run changes nothing, and
that it leaves what it does not understand alone and says so."""
import re
import shutil
import textwrap
from pathlib import Path

from babel.messages.pofile import read_po

from scripts import i18n_convert

ROOT = Path(__file__).resolve().parents[2]

MESSAGES = '''MESSAGES = {
    "shop.title": {"zh": "商店", "en": "Shop"},
    "shop.walk": {"zh": "步行约 {n} 分钟", "en": "about {n} min walk"},
    "shop.status.open": {"zh": "营业中", "en": "Open"},
    "shop.valid": {"zh": "有效期", "en": "Valid"},
    "shop.tstatus.valid": {"zh": "有效", "en": "Valid"},
}
'''

SERVICES = '''"""Shop services."""
from __future__ import annotations

from core.errors import NotFound, ValidationError


def _bad(code, en, zh, field=None):
    return ValidationError(code, en, message_zh=zh, details={"field": field})


def get_item(db, item_id):
    if item_id is None:
        raise NotFound("unknown_item", f"There is no item '{item_id}'.",
                       message_zh=f"没有编号为“{item_id}”的商品。")
    if not item_id:
        raise _bad("empty", "Give the item's id.", "请填写商品编号。", "id")
    if len(item_id) > 9:
        raise ValidationError("too_long", f"At most 9 characters, not {len(item_id)}.",
                              message_zh="最多 9 个字符。")
    raise ValidationError("odd", "Odd item.", message_zh="奇怪的商品。")
'''

VIEWS = '''"""Shop views."""
from flask import flash

from core.i18n import get_lang, t


def saved(item):
    flash(("已保存 " if get_lang() == "zh" else "Saved ") + item.id)
    flash(t("shop.title"))
    return t(f"shop.status.{item.state}")
'''

UNKNOWN = '''from core.errors import ValidationError

TEXTS = {"x": ("Ex.", "例。")}


def check(kind):
    en, zh = TEXTS[kind]
    raise ValidationError("x", en, message_zh=zh)
'''

TEMPLATE = """<h1>{{ _('shop.title') }} · {{ _('shop.walk', n=3) }}</h1>
<template data-msg="walk">{{ _('shop.walk') }}</template>
<p>{{ _('shop.status.' ~ item.state) }} {{ _('shop.valid') }} {{ _('shop.tstatus.valid') }}</p>
<a>{{ '跳到正文' if lang == 'zh' else 'Skip to content' }}</a>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}">
{{ pick({'zh': '全价票', 'en': 'Full price'}) }} {{ pick(item.name) }}
"""


def make_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    files = {"shop/messages.py": MESSAGES, "shop/services.py": SERVICES,
             "shop/views.py": VIEWS, "shop/odd.py": UNKNOWN,
             "templates/shop/page.html": TEMPLATE,
             "static/shop/app.js": "var t = lang === 'zh' ? '你好' : 'Hello';\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "babel.cfg", root / "babel.cfg")
    return root


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_converts_idempotently_and_reports_what_it_leaves(tmp_path, capsys):
    root = make_project(tmp_path)
    assert i18n_convert.main(["--root", str(root), "--check"]) == 1
    assert i18n_convert.main(["--root", str(root)]) == 0
    report = capsys.readouterr().out

    services = (root / "shop/services.py").read_text()
    assert "from core.text import _l" in services
    assert "_l(\"There is no item '%(item_id)s'.\", item_id=item_id)" in services
    assert "def _bad(code, en, field=None):" in services
    assert 'raise _bad("empty", _l("Give the item\'s id."), "id")' in services
    assert "message_zh=\"最多 9 个字符。\"" in services  # an expression it cannot name: left
    assert 'raise ValidationError("odd", _l("Odd item."))' in services

    views = (root / "shop/views.py").read_text()
    assert 'flash(_("Saved %(id)s", id=item.id))' in views
    assert 'flash(_("Shop"))' in views and 'return label(f"shop.status.{item.state}")' in views
    assert "from core.i18n import label" in views and "get_lang" not in views

    page = (root / "templates/shop/page.html").read_text()
    assert "{{ _('Shop') }} · {{ _('about %(n)s min walk', n=3) }}" in page
    assert "label('shop.status.' ~ item.state)" in page
    assert "{{ _('about %(n)s min walk', n='{n}') }}" in page  # {n} for the page's JS, as before
    assert "pgettext('shop.valid', 'Valid')" in page and "pgettext('shop.tstatus.valid'" in page
    assert "{{ _('Skip to content') }}" in page and "'zh-CN' if lang == 'zh'" in page
    assert "{{ _('Full price') }} {{ pick(item.name) }}" in page

    labels = (root / "shop/messages.py").read_text()
    assert '"shop.status.open": _l("Open")' in labels and "shop.title" not in labels

    with (root / "translations/zh/LC_MESSAGES/messages.po").open("rb") as fh:
        po = read_po(fh)
    assert po.get("There is no item '%(item_id)s'.").string == "没有编号为“%(item_id)s”的商品。"
    assert po.get("about %(n)s min walk").string == "步行约 %(n)s 分钟"
    assert po.get("Valid", "shop.tstatus.valid").string == "有效"
    assert po.get("Saved %(id)s").string == "已保存 %(id)s"
    assert po.get("Skip to content").string == "跳到正文"

    # what it cannot do it leaves, and says where
    assert re.search(r"shop/services.py:\d+: no placeholder name for the expression "
                     r"'len\(item_id\)'", report)
    assert (root / "shop/odd.py").read_text() == UNKNOWN
    assert "shop/odd.py:8: the message is not a string literal or f-string: 'en'" in report
    assert "static/shop/app.js:1: static JS with texts of its own" in report

    before = snapshot(root)
    assert i18n_convert.main(["--root", str(root)]) == 0
    assert snapshot(root) == before
    assert "changed 0 files" in capsys.readouterr().out


def test_keymap_converts_old_keys_after_messages_went(tmp_path):
    """A template merged in later with old keys converts although messages.py is gone."""
    root = make_project(tmp_path)
    i18n_convert.main(["--root", str(root)])
    (root / "templates/shop/late.html").write_text("{{ _('shop.title') }}\n")
    (root / "shop/late.py").write_text(SERVICES.replace("get_item", "get_other"))
    i18n_convert.main(["--root", str(root)])
    assert (root / "templates/shop/late.html").read_text() == "{{ _('Shop') }}\n"
    late = (root / "shop/late.py").read_text()
    assert "def _bad(code, en, field=None):" in late and '_l("Odd item.")' in late


def test_a_converted_key_wanted_again_at_run_time_comes_back_as_a_label(tmp_path):
    root = make_project(tmp_path)
    i18n_convert.main(["--root", str(root)])
    assert "shop.title" not in (root / "shop/messages.py").read_text()
    (root / "shop/plugin.py").write_text('TILES = [("shop.index", "shop.title")]\n')
    i18n_convert.main(["--root", str(root)])
    assert '"shop.title": _l("Shop")' in (root / "shop/messages.py").read_text()
