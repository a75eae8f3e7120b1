"""Content: the data files load into the guide's tables, are checked first, and staff
edits survive a reload."""
import json

import pytest

from core.errors import ValidationError
from guide import content, services
from guide_helpers import poi_form as _form


def test_data_files_load_with_enough_points_per_area(gdb):
    pois = services.list_pois(gdb)
    by_site = {}
    for p in pois:
        by_site.setdefault(p.site_id, []).append(p)
    assert len(by_site["taishan"]) + len(by_site["daimiao"]) >= 15
    assert len(by_site["kongmiao"]) + len(by_site["kongfu"]) + len(by_site["konglin"]) >= 15
    names = {p.name["zh"] for p in pois}
    for must in ("南天门", "十八盘", "玉皇顶", "棂星门", "奎文阁", "杏坛", "大成殿", "孔子墓"):
        assert any(must in n for n in names), must
    for p in pois:
        assert p.long["zh"] and p.long["en"] and p.facts and p.questions and p.sources
        assert 34 < p.lat < 37.5 and 115 < p.lon < 119


def test_every_point_has_a_zone_of_its_own_site(gdb):
    from catalog import services as catalog
    for p in services.list_pois(gdb):
        assert p.zone_id, p.id
        assert catalog.get_zone(gdb, p.zone_id).site_id == p.site_id


def test_tours_are_ordered_with_walking_times(gdb):
    tours = services.list_tours(gdb, "taishan")
    red = next(t for t in tours if t.id == "taishan-red-gate")
    ids = [s.poi.id for s in red.stops]
    assert ids.index("taishan-hongmen") < ids.index("taishan-nantianmen") < \
        ids.index("taishan-yuhuangding")
    assert red.total_walk_min > 60
    assert all(s.walk_min >= 0 for s in red.stops)


def test_bad_files_are_rejected_before_anything_is_written(gdb, clock):
    pois, tours, zones = content.read_files()
    before = gdb.execute("SELECT count(*) FROM guide_tours").fetchone()[0]
    broken = json.loads(json.dumps(pois))
    broken["pois"][0]["lat"] = 48.0           # Mongolia, not Shandong
    with pytest.raises(ValidationError) as exc:
        services.load_content(gdb, clock=clock, docs=(broken, tours, zones))
    assert exc.value.code == "bad_coordinates"
    broken = json.loads(json.dumps(pois))
    broken["pois"][1]["sources"] = ["S999"]
    with pytest.raises(ValidationError, match="unknown sources"):
        services.load_content(gdb, clock=clock, docs=(broken, tours, zones))
    broken = json.loads(json.dumps(pois))
    broken["pois"][1]["number"] = broken["pois"][0]["number"]
    broken["pois"][1]["site"] = broken["pois"][0]["site"]
    with pytest.raises(ValidationError, match="signpost number"):
        services.load_content(gdb, clock=clock, docs=(broken, tours, zones))
    broken = json.loads(json.dumps(pois))
    broken["pois"][2]["id"] = "../../etc/passwd"
    with pytest.raises(ValidationError, match="ids are unique"):
        services.load_content(gdb, clock=clock, docs=(broken, tours, zones))
    assert gdb.execute("SELECT count(*) FROM guide_tours").fetchone()[0] == before


def test_reload_keeps_staff_edits_unless_forced(gdb, clock, make_user):
    user = make_user("staff")
    poi = services.get_poi(gdb, "taishan-nantianmen")
    form = _form(poi, short_zh="工作人员修改过的简介。")
    services.update_poi(gdb, poi.id, form, user=user, clock=clock)
    result = services.load_content(gdb, clock=clock)
    assert result["kept"] == 1
    assert services.get_poi(gdb, poi.id).short["zh"] == "工作人员修改过的简介。"
    services.load_content(gdb, clock=clock, force=True)
    assert services.get_poi(gdb, poi.id).short["zh"] == poi.short["zh"]


def test_cli_load_reports_counts(guide_app):
    result = guide_app.test_cli_runner().invoke(args=["guide", "load"])
    assert result.exit_code == 0, result.output
    assert "pois 42" in result.output or "pois " in result.output
    assert "kept 0" in result.output
