"""The home page and the console show what the domains' plug-ins declare; core itself
names no domain (not in code, not in its templates)."""
from __future__ import annotations

import re
from pathlib import Path

from core.domains import DOMAINS, plugins

ROOT = Path(__file__).resolve().parents[2]


def test_every_domain_plugs_in_once_in_order():
    assert [p.name for p in plugins()] == ["core", *DOMAINS]


def test_home_shows_each_sites_actions_from_the_plugins(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    for site in ("taishan", "daimiao", "kongmiao", "kongfu", "konglin"):
        card = html[html.index(f'id="site-{site}"'):]
        card = card[:card.index("</li>")]
        assert f'href="/tickets/{site}">Book tickets</a>' in card
        assert f'href="/guide/{site}">Audio guide</a>' in card


def test_console_tiles_follow_roles_and_positions(client, login, app):
    login("staff")
    html = client.get("/console?lang=en").get_data(as_text=True)
    tiles = re.findall(r'class="tile" href="([^"]+)"', html)
    assert tiles == ["/staff/tickets", "/gates/audit", "/crowd", "/admin/guide",
                     "/admin/capacity", "/admin/hours", "/docs/api"]
    admin = app.test_client()
    login("admin", c=admin)
    assert re.findall(r'class="tile" href="([^"]+)"', admin.get("/console").get_data(
        as_text=True))[-1] == "/admin/accounts"


def test_core_names_no_domain():
    domain_endpoint = re.compile(r"""url_for\(\s*['"](%s)\.""" % "|".join(DOMAINS))
    for path in [*(ROOT / "core").glob("*.py"), *(ROOT / "templates" / "core").glob("*.html"),
                 ROOT / "templates" / "base.html"]:
        text = path.read_text(encoding="utf-8")
        assert not domain_endpoint.search(text), path
        assert not re.search(r"^\s*(from|import) (%s)\b" % "|".join(DOMAINS), text, re.M), path
