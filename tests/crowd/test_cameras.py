"""Camera records and their counting regions: validation through the API and the forms."""
from __future__ import annotations

import copy

import pytest

from crowd import cameras, workers



from testkit import csrf_of as csrf  # noqa: E402


BASE = {
    "name": "Test camera", "site_id": "kongmiao", "zone_id": "qianyuan",
    "source": "data/crowd/vtest-clip.mp4", "width": 768, "height": 576,
    "regions": [{"kind": "area", "name": "path", "capacity": 10,
                 "points": [[0, 100], [768, 100], [768, 576], [0, 576]]}],
}


def cam(**changes):
    data = copy.deepcopy(BASE)
    data["id"] = "cam-b"
    data.update(changes)
    return data


AREA = {"kind": "area", "name": "a", "capacity": 5, "points": [[0, 0], [100, 0], [100, 100]]}


@pytest.mark.parametrize("changes, code", [
    ({"id": "Bad Id"}, "invalid_camera_id"),
    ({"name": ""}, "invalid_name"),
    ({"site_id": "atlantis"}, "unknown_site"),
    ({"zone_id": "dacheng", "site_id": "taishan"}, "zone_not_in_site"),
    ({"zone_id": "nowhere"}, "unknown_zone"),
    ({"source": ""}, "invalid_source"),
    ({"source": "ftp://x/y"}, "invalid_source"),
    ({"source": "999"}, "invalid_source"),
    ({"width": 0}, "invalid_number"),
    ({"tile_rows": 9}, "invalid_number"),
    ({"tile_overlap": 0.9}, "invalid_number"),
    ({"tile_rows": 2, "wide_rows": 3}, "invalid_number"),
    ({"wide_rows": -1}, "invalid_number"),
    ({"wide_rows": "one"}, "invalid_number"),
    ({"colour": "red"}, "unknown_field"),
    ({"regions": [dict(AREA, points=[[0, 0], [10, 10]])]}, "too_few_points"),
    ({"regions": [dict(AREA, points=[[0, 0], [900, 0], [100, 100]])]}, "point_outside_frame"),
    ({"regions": [dict(AREA, points=[[0, 0], [50, 50], [100, 100]])]}, "zero_area"),
    ({"regions": [dict(AREA, capacity=0)]}, "invalid_capacity"),
    ({"regions": [dict(AREA, capacity=-3)]}, "invalid_capacity"),
    ({"regions": [dict(AREA, capacity=None)]}, "invalid_capacity"),
    ({"regions": [dict(AREA, kind="circle")]}, "invalid_region_kind"),
    ({"regions": [AREA, dict(AREA)]}, "duplicate_region"),
    ({"regions": [{"kind": "line", "name": "l", "points": [[5, 5], [5, 5]]}]}, "zero_length_line"),
    ({"regions": [{"kind": "line", "name": "l", "points": [[5, 5], [9, 9], [20, 20]]}]},
     "too_few_points"),
    ({"regions": [dict(AREA, points=[[0, "x"], [100, 0], [100, 100]])]}, "invalid_points"),
    ({"regions": "everything"}, "invalid_regions"),
])
def test_bad_cameras_are_refused_with_a_code(client, login, db, changes, code):
    login("admin")
    r = client.post("/api/crowd/cameras", json=cam(**changes),
                    headers={"X-CSRF-Token": csrf(client)})
    # Unknown sites and zones are the catalog's 404; every other refusal is a 400.
    assert r.status_code == (404 if code in ("unknown_site", "unknown_zone") else 400), r.json
    assert r.json["error"] == code
    assert cameras.list_cameras(db) == []


def test_admin_adds_edits_and_staff_redraws_regions(client, login, db, app):
    login("admin")
    token = csrf(client)
    r = client.post("/api/crowd/cameras", json=cam(source="rtsp://user:secret@10.0.0.5/s"),
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    assert r.json["source"] == "rtsp://***@10.0.0.5/s"          # no password echoed back
    assert client.post("/api/crowd/cameras", json=cam(),
                       headers={"X-CSRF-Token": token}).json["error"] == "camera_exists"
    # Shrinking the frame would leave the old area outside it.
    r = client.put("/api/crowd/cameras/cam-b", json=dict(cam(), width=200, height=200,
                                                         regions=None),
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 400
    body = cam()
    body.pop("regions")
    r = client.put("/api/crowd/cameras/cam-b", json=dict(body, width=200, height=150),
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 400 and r.json["error"] == "point_outside_frame"
    client.post("/logout", data={"csrf_token": token})

    login("staff")
    token = csrf(client)
    assert client.post("/api/crowd/cameras", json=cam(id="cam-c"),
                       headers={"X-CSRF-Token": token}).status_code == 403
    r = client.put("/api/crowd/cameras/cam-b/regions", json={"regions": [AREA]},
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and [x["name"] for x in r.json["regions"]] == ["a"]
    r = client.put("/api/crowd/cameras/cam-b/regions", json={"regions": [dict(AREA, capacity=0)]},
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 400
    assert [x["name"] for x in cameras.get_camera(db, "cam-b").regions] == ["a"]


def test_camera_form_shows_errors_in_both_languages_and_keeps_input(client, login, db):
    login("admin")
    token = csrf(client)
    form = {"csrf_token": token, "id": "cam-f", "name": "Form cam", "site_id": "taishan",
            "zone_id": "", "source": "data/crowd/vtest-clip.mp4", "width": "768",
            "height": "576", "tile_rows": "2", "tile_cols": "2", "tile_overlap": "0.2",
            "inertia": "3", "enabled": "on",
            "regions": '[{"kind": "area", "name": "x", "capacity": 0, '
                       '"points": [[0,0],[10,0],[10,10]]}]'}
    r = client.post("/crowd/cameras/new?lang=en", data=form)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "capacity must be a whole number above 0" in html and "Form cam" in html
    r = client.post("/crowd/cameras/new?lang=zh", data=form)
    assert "承载量须为大于 0 的整数" in r.get_data(as_text=True)
    r = client.post("/crowd/cameras/new", data=dict(form, regions="{not json"))
    assert r.status_code == 400
    r = client.post("/crowd/cameras/new", data=dict(form, regions=form["regions"].replace(
        '"capacity": 0', '"capacity": 4')))
    assert r.status_code == 302
    assert cameras.get_camera(db, "cam-f").areas[0]["capacity"] == 4
    page = client.get("/crowd/cameras/cam-f/edit").get_data(as_text=True)
    assert "cam-f" in page and "&#34;capacity&#34;: 4" in page
    r = client.post("/crowd/cameras/cam-f/delete", data={"csrf_token": token})
    assert r.status_code == 302 and cameras.list_cameras(db) == []


def test_camera_names_are_escaped(client, login, db, clock):
    cameras.save_camera(db, cam(name="<script>alert(1)</script>"), clock=clock, create=True)
    login("staff")
    for path in ("/crowd/cameras", "/crowd"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html


def test_wide_rows_are_kept_and_reach_the_worker(client, login, db, worker_account):
    login("admin")
    r = client.post("/api/crowd/cameras", json=cam(tile_rows=2, tile_cols=3, wide_rows=1),
                    headers={"X-CSRF-Token": csrf(client)})
    assert r.status_code == 201 and r.json["wide_rows"] == 1
    device, token = worker_account
    workers.assign_cameras(db, [r.json["id"]], user_id=device.id, replace=False)
    spec = client.get("/api/crowd/worker/config",
                      headers={"Authorization": f"Bearer {token}"}).json["cameras"][0]
    from crowd.worker import plan_of
    assert plan_of(spec).wide_rows == 1 and plan_of(spec).tiles_per_frame == 4
    # The form shows the field and keeps it.
    html = client.get("/crowd/cameras/cam-b/edit").get_data(as_text=True)
    assert 'name="wide_rows" value="1"' in html
