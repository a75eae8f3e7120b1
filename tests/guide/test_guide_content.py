"""Content: the data files load into the guide's tables, are checked first, and staff
edits survive a reload."""
import json
import re

import pytest

from core.errors import ValidationError
from guide import content, services
from guide_helpers import load_with_scene
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
    known = set(content.sources(gdb))
    for p in pois:
        assert p.kind in content.KINDS and (p.number == 0) == (p.kind == "intro")
        assert p.paragraphs and p.sources and p.long["zh"] and p.long["en"]
        for block in (*p.paragraphs, *p.facts, *p.parts):
            assert block["sources"] and set(block["sources"]) <= known, p.id
        assert 34 < p.lat < 37.5 and 115 < p.lon < 119
        assert set(p.aliases) == {"zh", "en"}
    # Source ids say their area (MT- Mount Tai and Dai Temple, SK- the Three Confucian Sites).
    for s in content.sources(gdb).values():
        assert s["id"].startswith({"mount-tai": "MT-", "sankong": "SK-"}[s["area"]])


def test_every_zone_belongs_to_the_points_own_site(gdb):
    from catalog import services as catalog
    zoned = [p for p in services.list_pois(gdb) if p.zone_id]
    assert len(zoned) >= 30
    for p in zoned:
        assert catalog.get_zone(gdb, p.zone_id).site_id == p.site_id


def test_tours_are_ordered_with_walking_times(gdb):
    tours = services.list_tours(gdb, "taishan")
    red = next(t for t in tours if t.id == "taishan-red-gate")
    ids = [s.poi.id for s in red.stops]
    assert ids.index("taishan-hongmen") < ids.index("taishan-nantianmen") < \
        ids.index("taishan-yuhuangding")
    assert red.total_walk_min > 60
    assert all(s.walk_min >= 0 for s in red.stops)
    assert {t.id for t in services.list_tours(gdb, "konglin")} >= {"sankong-one-day"}


def _broken(docs, change):
    docs = json.loads(json.dumps(docs))
    change(docs)
    return docs


@pytest.mark.parametrize("change,message", [
    (lambda d: d[0]["pois"][0].update(lat=48.0), "coordinates"),
    (lambda d: d[0]["pois"][1]["paragraphs"][0].update(sources=["MT-NOPE"]), "unknown sources"),
    (lambda d: d[0]["pois"][1]["paragraphs"][0].update(sources=[]), "at least one source"),
    (lambda d: d[0]["pois"][1]["facts"][0].pop("sources"), "sources must be a list"),
    (lambda d: d[0]["pois"][1].update(paragraphs=[]), "at least one narration"),
    (lambda d: d[0]["pois"][1].update(number=d[0]["pois"][0]["number"],
                                      site=d[0]["pois"][0]["site"]), "signpost number"),
    (lambda d: d[0]["pois"][1].update(number=0), "0 for the site's intro"),
    (lambda d: d[0]["pois"][1].update(kind="intro"), "0 for the site's intro"),
    (lambda d: d[0]["pois"][1].update(kind="museum"), "kind must be one of"),
    (lambda d: d[0]["pois"][2].update(id="../../etc/passwd"), "ids are lower-case"),
    (lambda d: d[0]["pois"][2].update(site="kongmiao"), "not in the area"),
    (lambda d: d[0]["pois"][2].update(zone="dachengdian"), "is not a zone of"),
    (lambda d: d[0]["pois"][3]["name"].update(en=d[0]["pois"][4]["name"]["en"].upper()),
     "English name"),
    (lambda d: d[0]["pois"][3].update(scene={"parts": []}), "only points of kind 'scene'"),
    (lambda d: d[0]["pois"][3].update(kind="scene"), "a scene needs its parts"),
    (lambda d: d[0]["sources"][0].update(id="SK-S1"), "start with MT-"),
    (lambda d: d[0]["sources"][1].update(kind="blog"), "kind must be one of"),
    (lambda d: d[0]["sources"][1].update(url="ftp://x"), "http(s) url"),
    (lambda d: d[1]["sources"].append(dict(d[1]["sources"][0])), "unique"),
    (lambda d: d[1]["tours"][0]["stops"].append({"poi": "nowhere"}), "unknown stop"),
    (lambda d: d[1].update(area="mars"), "'area' must be one of"),
])
def test_bad_files_are_rejected_before_anything_is_written(gdb, clock, change, message):
    docs = content.read_files()
    assert [d["area"] for d in docs] == ["mount-tai", "sankong"]
    before = gdb.execute("SELECT count(*), group_concat(name_en) FROM guide_pois").fetchone()
    with pytest.raises(ValidationError, match=re.escape(message)):
        services.load_content(gdb, clock=clock, docs=_broken(docs, change))
    after = gdb.execute("SELECT count(*), group_concat(name_en) FROM guide_pois").fetchone()
    assert tuple(after) == tuple(before)


def test_a_scene_point_loads_with_its_parts_in_order(gdb, clock):
    load_with_scene(gdb, clock)
    poi = services.get_poi(gdb, "kongmiao-test-scene")
    assert poi.kind == "scene" and [p["title"]["en"] for p in poi.parts] == \
        ["Welcoming the spirit", "The first offering", "Sending off the spirit"]
    assert services.narration_kinds(poi) == ("short", "long", "part1", "part2", "part3")
    assert "The first offering" in services.narration_text(poi, "en", "part2")


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
    assert "areas 2" in result.output and "pois " in result.output
    assert "kept 0" in result.output
