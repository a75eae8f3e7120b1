"""Walk every route of the app and check its role guard rejects the wrong role."""
import re

import pytest

from testkit import PASSWORD, csrf_of

PROTECTED_PREFIXES = ("/admin", "/staff", "/console")


def _url(rule):
    url = rule.rule
    for conv in re.findall(r"<([^>]+)>", url):
        kind = conv.split(":")[0] if ":" in conv else "string"
        url = url.replace(f"<{conv}>", "1" if kind == "int" else "x")
    return url


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, view, method


def test_staff_areas_are_all_guarded(app):
    unguarded = [r.rule for r, view, _m in _routes(app)
                 if r.rule.startswith(PROTECTED_PREFIXES) and not getattr(view, "_required_roles", None)]
    assert unguarded == []


def test_every_guard_rejects_the_wrong_role(app, client, make_user, device_token):
    checked = 0
    gate, worker = device_token("gate"), device_token("worker")
    staff_client = app.test_client()
    staff = make_user("staff")
    token = csrf_of(staff_client)
    assert staff_client.post("/login", data={"username": staff.username,
                                             "password": PASSWORD,
                                             "csrf_token": token}).status_code == 302
    staff_csrf = csrf_of(staff_client)
    anon = app.test_client()
    anon_csrf = csrf_of(anon)
    for rule, view, method in _routes(app):
        roles = getattr(view, "_required_roles", None)
        if not roles:
            continue
        url = _url(rule)
        if getattr(view, "_device_roles", None):
            # a device token of its roles or a staff session: anonymous 401, other devices
            # 403, and neither the right device nor staff is turned away
            assert anon.open(url, method=method).status_code == 401, (method, url)
            for token in (gate, worker):
                role = "gate" if token == gate else "worker"
                resp = anon.open(url, method=method, headers={"Authorization": f"Bearer {token}"})
                assert (resp.status_code == 403) == (role not in view._device_roles), (url, role)
            resp = staff_client.open(url, method=method, headers={"X-CSRF-Token": staff_csrf})
            assert resp.status_code not in (401, 403), (method, url)
        elif getattr(view, "_token_auth", False):
            # no token: 401; a device of another role: 403; a staff session is no token: 401
            assert anon.open(url, method=method).status_code == 401, (method, url)
            other = worker if "gate" in roles else gate
            if not ({"gate", "worker"} <= set(roles)):
                resp = anon.open(url, method=method, headers={"Authorization": f"Bearer {other}"})
                assert resp.status_code == 403, (method, url, resp.status_code)
            resp = staff_client.open(url, method=method, headers={"X-CSRF-Token": staff_csrf})
            assert resp.status_code == 401, (method, url)
        else:
            # Anonymous: pages send to the login page, JSON APIs answer 401.
            expected = 401 if url.startswith("/api/") else 302
            resp = anon.open(url, method=method, headers={"X-CSRF-Token": anon_csrf})
            assert resp.status_code == expected, (method, url, resp.status_code)
            if expected == 302:
                assert "/login" in resp.headers["Location"]
            # a gate device's bearer token never opens a staff page
            resp = anon.open(url, method=method, headers={"Authorization": f"Bearer {gate}"})
            assert resp.status_code == expected, (method, url, resp.status_code)
            if "staff" not in roles:  # admin-only: staff is the wrong role
                resp = staff_client.open(url, method=method, headers={"X-CSRF-Token": staff_csrf})
                assert resp.status_code == 403, (method, url, resp.status_code)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("path", ["/console", "/admin/capacity"])
def test_staff_pages_open_for_staff(client, login, path):
    login("staff")
    assert client.get(path).status_code == 200
