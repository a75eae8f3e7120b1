"""Visitor pages: site, tour and point in both languages, signpost numbers and QR
codes, the offline pack manifest, and clear errors for bad addresses."""
import re




def test_site_page_lists_tours_points_route_and_ask_box(gclient):
    html = gclient.get("/guide/taishan?lang=zh").get_data(as_text=True)
    assert "泰山" in html and "红门" in html and "南天门" in html
    assert html.count('class="glevel') >= 14              # a level badge per point
    assert "<svg" in html and "<polyline" in html           # route drawn inline, no tiles
    assert not re.search(r"<(img|script|link)[^>]+https?://", html)   # nothing off-site
    assert 'data-ask="/api/guide/ask"' in html
    assert 'data-max-accuracy="100"' in html
    en = gclient.get("/guide/taishan?lang=en").get_data(as_text=True)
    assert "South Gate of Heaven" in en and "Ask the guide" in en


def test_tour_page_orders_stops_with_walking_times(gclient):
    html = gclient.get("/guide/taishan/tours/taishan-red-gate?lang=en").get_data(as_text=True)
    html = html[html.index('class="glist gstops"'):]
    assert html.index("Red Gate Palace") < html.index("South Gate of Heaven") < \
        html.index("Jade Emperor Peak")
    assert "min walk" in html


def test_point_page_has_player_transcript_speed_and_neighbours(gclient):
    resp = gclient.get("/guide/taishan/poi/taishan-nantianmen?lang=zh&tour=taishan-red-gate")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<audio" in html and "data-src-long" in html and "data-speed" in html
    assert 'id="transcript-long"' in html and "aria-describedby=\"transcript-long\"" in html
    assert "上一站" in html and "下一站" in html and "十八盘" in html and "天街" in html
    assert "当前客流" in html


def test_signpost_number_and_qr_lead_to_the_point(gclient):
    resp = gclient.get("/guide/taishan/n/9?lang=en")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        "/guide/taishan/poi/taishan-nantianmen?lang=en")
    resp = gclient.get("/guide/taishan/go?number=9&lang=zh")
    assert resp.status_code == 302
    qr = gclient.get("/guide/taishan/poi/taishan-nantianmen/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data


def test_bad_addresses_get_clear_localised_errors(gclient):
    resp = gclient.get("/guide/nowhere?lang=zh")
    assert resp.status_code == 404 and "没有名为" in resp.get_data(as_text=True)
    resp = gclient.get("/guide/nowhere?lang=en")
    assert "There is no site" in resp.get_data(as_text=True)
    for url in ("/guide/taishan/go?number=abc", "/guide/taishan/go?number=", "/guide/taishan/go"):
        resp = gclient.get(url + "&lang=en" if "?" in url else url + "?lang=en")
        assert resp.status_code == 400 and "signpost" in resp.get_data(as_text=True)
    assert gclient.get("/guide/taishan/n/999?lang=en").status_code == 404
    assert gclient.get("/guide/taishan/poi/nope?lang=en").status_code == 404
    assert gclient.get("/guide/taishan/tours/kongfu-walk").status_code == 404
    # a point of another site redirects to its own site's page
    resp = gclient.get("/guide/taishan/poi/kongmiao-xingtan?lang=en")
    assert resp.status_code == 302 and "/guide/kongmiao/poi/kongmiao-xingtan" in resp.headers["Location"]
    assert gclient.get("/guide/audio/taishan-hongmen/fr/long").status_code == 404
    assert gclient.get("/guide/audio/taishan-hongmen/zh/medium").status_code == 404
    assert gclient.get("/guide/answer-audio/../../secrets.json").status_code == 404
    assert gclient.get("/guide/answer-audio/" + "0" * 32 + ".wav").status_code == 404


def test_offline_manifest_covers_every_page_and_audio_of_the_site(gclient, gdb):
    from guide import services
    data = gclient.get("/guide/kongfu/offline.json?lang=en").get_json()
    assert data["cache"] == "guide-kongfu-en"
    urls = data["urls"]
    for poi in services.list_pois(gdb, "kongfu"):
        assert f"/guide/kongfu/poi/{poi.id}?lang=en" in urls
        assert any(u.startswith(f"/guide/audio/{poi.id}/en/long?v=") for u in urls)
        assert any(u.startswith(f"/guide/audio/{poi.id}/en/short?v=") for u in urls)
    assert "/guide/kongfu?lang=en" in urls and "/static/guide/guide.js" in urls
    sw = gclient.get("/guide/sw.js")
    assert sw.status_code == 200 and b"caches" in sw.data
    assert sw.headers["Service-Worker-Allowed"] == "/guide/"


def test_points_api_and_near_me(gclient):
    data = gclient.get("/api/guide/sites/konglin/pois").get_json()
    assert [p["number"] for p in data["pois"]] == sorted(p["number"] for p in data["pois"])
    assert all(p["level"] in ("normal", "notice", "warning", "critical", "unknown")
               for p in data["pois"])
    tomb = next(p for p in data["pois"] if p["id"] == "konglin-kongzimu")
    near = gclient.get(f"/api/guide/near?site=konglin&lat={tomb['lat']}&lon={tomb['lon']}"
                       "&accuracy=15").get_json()
    assert near == {"poi": "konglin-kongzimu", "distance_m": 0}
    rough = gclient.get(f"/api/guide/near?site=konglin&lat={tomb['lat']}&lon={tomb['lon']}"
                        "&accuracy=800")
    assert rough.status_code == 400 and rough.get_json()["error"] == "position_inaccurate"
    bad = gclient.get("/api/guide/near?site=konglin&lat=abc&lon=1&accuracy=5")
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_position"
    assert gclient.get("/api/guide/near?site=mars&lat=1&lon=1&accuracy=5").status_code == 404


def test_staff_edited_html_is_escaped_on_every_page(gclient, gdb, clock, make_user):
    from guide import services
    from guide_helpers import poi_form as _form
    poi = services.get_poi(gdb, "kongmiao-xingtan")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    services.update_poi(gdb, poi.id, _form(poi, name_en="Apricot " + evil,
                                           short_en="Short " + evil, long_en="Long " + evil),
                        user=make_user("staff"), clock=clock)
    for url in ("/guide/kongmiao?lang=en", "/guide/kongmiao/poi/kongmiao-xingtan?lang=en",
                "/guide/kongmiao/tours/kongmiao-walk?lang=en"):
        html = gclient.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url
