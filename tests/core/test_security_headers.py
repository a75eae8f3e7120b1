"""Security headers on every kind of response, HSTS and Secure cookies in production, and
templates that need no inline script (issue 9, item 6). The browser test that visits every
page with the policy on is tests/core/test_csp_browser.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from testkit import PASSWORD, csrf_of

ROOT = Path(__file__).resolve().parents[2]


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: " ".join(d.split()[1:]) for d in policy.split(";") if d.strip()}


@pytest.mark.parametrize("path", ["/", "/login", "/api/sites", "/static/css/site.css",
                                  "/nowhere", "/api/nowhere", "/console", "/healthz"])
def test_every_response_carries_the_policy(client, path):
    r = client.get(path)
    csp = directives(r)
    assert csp["script-src"] == "'self'" and "unsafe" not in r.headers["Content-Security-Policy"]
    assert csp["default-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'self'" and csp["form-action"] == "'self'"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["X-Frame-Options"] == "DENY"
    permissions = r.headers["Permissions-Policy"]
    for allowed in ("camera=(self)", "microphone=(self)", "geolocation=(self)"):
        assert allowed in permissions
    assert "payment=()" in permissions
    assert "Strict-Transport-Security" not in r.headers   # development: plain HTTP is fine


def test_production_adds_hsts_and_secure_cookies(production_app, clock):
    from core.auth import create_user
    from core.db import own_connection
    app = production_app()
    with own_connection(app.config) as db:
        create_user(db, username="staff1", password=PASSWORD, role="staff", clock=clock)
    client = app.test_client()
    r = client.get("/?lang=en")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    cookies = r.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies), cookies
    r = client.post("/login", data={"username": "staff1", "password": PASSWORD,
                                    "csrf_token": csrf_of(client)})
    session = [c for c in r.headers.getlist("Set-Cookie") if c.startswith("scenic_session=")]
    assert session and "Secure" in session[0] and "SameSite=Lax" in session[0]
    assert "Secure" in client.get("/lang/zh").headers["Set-Cookie"]


def test_hsts_can_be_tuned_or_left_to_the_proxy(production_app):
    assert "Strict-Transport-Security" not in production_app(HSTS_MAX_AGE=0).test_client() \
        .get("/").headers


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>",
                           re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("template", sorted(p.relative_to(ROOT / "templates").as_posix()
                                            for p in (ROOT / "templates").rglob("*.html")))
def test_templates_hold_no_inline_script_handler_or_style(template):
    text = (ROOT / "templates" / template).read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), "move the script into static/"
    assert not HANDLER.search(text), "attach the handler from a static script"
    assert "javascript:" not in text.lower()
    assert not re.search(r"\sstyle\s*=|<style", text, re.I), "move the style into static/ CSS"
