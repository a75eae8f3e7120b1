"""Every route, as a stranger and signed in as staff and as an admin, with hostile values in
its path, its query string and every field of its form: no answer is a 5xx (the JSON APIs get
the same from Schemathesis, tests/test_api_contracts.py). Streams are left out: they do not
end."""
from __future__ import annotations

import io
import re

import pytest
from testkit import PASSWORD, csrf_of, generous_limits

HOSTILE = ["", "0", "-1", "99999999999999999999999", "abc", "x" * 5000, "%00", "<script>",
           "2026-13-45", "1e309", "nan", "../../etc/passwd", "😀", "[]", "{}", "\u202e"]
QUERY_NAMES = ("site", "site_id", "date", "day", "lang", "page", "q", "camera", "zone", "limit",
               "since", "slot_id", "order", "secret", "next", "window", "kind", "state")
FILES = ("photo", "audio")      # every upload field of the site's forms
FORM_NAMES = {"site_id", "slot_id", "date", "reason", "quota", "name", "role", "username",
              "password", "camera_id", "zone_id", "text", "lang", "number", "last4"}
ENDLESS = ("stream", "mjpeg", "events", "/live")


def _paths(rule):
    if not rule.arguments:
        return [rule.rule]
    out = []
    for value in HOSTILE[:8]:
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(r"<(?:[^:<>]+:)?" + name + ">", value or "x", path)
        out.append(path)
    return out


def _attack(app, client, token):
    fives = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/static") or any(w in rule.rule for w in ENDLESS) \
                or rule.rule in ("/logout", "/login"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for path in _paths(rule):
                if method == "GET":
                    for value in HOSTILE[:6]:
                        query = "&".join(f"{k}={value}" for k in QUERY_NAMES)
                        r = client.get(f"{path}?{query}")
                        if r.status_code >= 500:
                            fives.append(f"GET {path}?{query[:40]} -> {r.status_code}")
                    continue
                page = client.get(path) if "GET" in rule.methods else None
                names = set(FORM_NAMES)
                if page is not None and page.status_code == 200:
                    names |= set(re.findall(r'name="([^"]+)"', page.get_data(as_text=True)))
                for value in HOSTILE:
                    for accept in ("text/html", "application/json"):
                        form = {**{n: value for n in names - set(FILES)}, "csrf_token": token,
                                **{f: (io.BytesIO(value.encode() * 50), f"{f}.bin")
                                   for f in FILES}}
                        r = client.open(path, method=method, data=form,
                                        headers={"Accept": accept})
                        if r.status_code >= 500:
                            fives.append(f"{method} {path} {value[:20]!r} ({accept}) -> "
                                         f"{r.status_code}")
    return fives


@pytest.mark.parametrize("who", ["stranger", "staff", "admin"])
def test_no_route_answers_a_5xx_to_hostile_values(app, client, make_user, who):
    generous_limits(app)          # the handlers, not the limits, are under test here
    token = csrf_of(client)
    if who != "stranger":
        user = make_user(who)
        assert client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        token = csrf_of(client, "/console")
    fives = _attack(app, client, token)
    assert not fives, "\n".join(fives[:30])


def test_what_this_attack_found(app, client, make_user):
    """A row id longer than SQLite's 64 bits in a page's path (was a 500: the routes' <int:>
    now stops at 2**63 - 1), and the new-camera form sent without its drawn regions (a
    browser without scripts) and a bad source (was a 500 rendering the form again)."""
    user = make_user("admin")
    token = csrf_of(client)
    client.post("/login", data={"username": user.username, "password": PASSWORD,
                                "csrf_token": token})
    token = csrf_of(client, "/console")
    r = client.post(f"/gates/conflicts/{2 ** 64}/resolve", data={"csrf_token": token})
    assert r.status_code == 404
    r = client.post(f"/gates/conflicts/{2 ** 63 - 1}/resolve", data={"csrf_token": token},
                    headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.get_json()["error"] == "unknown_conflict"
    r = client.post("/crowd/cameras/new", data={"csrf_token": token, "id": "gate-cam",
                                               "name": "Gate", "source": ""})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "rtsp://" in page and 'name="regions"' in page
