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


def test_lang_switch_refuses_offsite_redirect(client):
    resp = client.get("/lang/en?next=https://evil.example/")
    assert resp.headers["Location"] == "/"


def test_every_message_has_both_languages(app):
    catalog = app.extensions["scenic.messages"]
    missing = [k for k, v in catalog.items() if not v.get("zh") or not v.get("en")]
    assert missing == []
