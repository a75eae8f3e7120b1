"""Place names found by sound as well as by spelling (pinyin and Metaphone keys), so a
misheard name still finds its point; near-miss questions (a ski resort on Mount Tai,
other mountains, hotels) are refused instead of answered with the nearest point."""
import io

import pytest

from guide import content, retrieval, services
from guide.names import NameMatcher
from guide_helpers import piper_clip


@pytest.fixture
def matcher(gdb):
    pois = content.list_pois(gdb)
    passages = [p for poi in pois for p in retrieval.passages_for(poi)]
    tokens = {t for p in passages for t in retrieval.tokenize(p.text, pinyin=p.lang == "zh")}
    return NameMatcher(pois, {t for t in tokens if t.isascii() and not t.startswith("py_")},
                       "\n".join(p.text for p in passages if p.lang == "zh"),
                       {t[3:] for t in tokens if t.startswith("py_")})


@pytest.mark.parametrize("question,poi,replaced", [
    # What Whisper base wrote for Piper saying "Jade Emperor Peak", "Shibapan", "Nantianmen".
    ("How high is the J-Vempera Peak?", "taishan-yuhuangding",
     "How high is the Jade Emperor Peak?"),
    ("How many steps are on Chibapan?", "taishan-shibapan", None),
    ("Where is Nanjing Men?", "taishan-nantianmen", None),
    ("玉黄鼎海拔多高？", "taishan-yuhuangding", "玉皇顶海拔多高？"),
    ("十八班有多少级台阶", "taishan-shibapan", "十八盘有多少级台阶"),
    ("南天们在哪里", "taishan-nantianmen", "南天门在哪里"),
    ("Tell me about Nan Tian Men", "taishan-nantianmen", None),
    ("What is the Kuiwen Ge?", "kongmiao-kuiwenge", None),
])
def test_misheard_and_pinyin_names_find_their_point(matcher, question, poi, replaced):
    found = matcher.correct(question)
    assert found.poi_ids[:1] == [poi], found
    if replaced:
        assert found.replaced == replaced
    assert question in found.extended          # retrieval keeps the asker's own words


@pytest.mark.parametrize("question", [
    "How high is Mount Hua?", "华山有多高", "Where is Nanjing?",
    "Where is the temple of Confucius?", "鸿门宴是什么", "What can I see at the summit?",
    "Who wrote the words 'Pu Jing Shi' at the sutra valley?",
    "What did He Chuguang and Kong Hongfu make for the temple?",
])
def test_other_places_and_ordinary_words_are_left_alone(matcher, question):
    assert matcher.correct(question).replaced == question


@pytest.mark.model
@pytest.mark.parametrize("question,lang,poi,needle", [
    ("How high is the J-Vempera Peak?", "en", "taishan-yuhuangding", "1,545"),
    ("玉黄鼎海拔多高？", "zh", "taishan-yuhuangding", "1545"),
    ("How many steps are on Chibapan?", "en", "taishan-shibapan", "1,600"),
])
def test_a_misheard_name_gets_its_own_points_answer(gclient, question, lang, poi, needle):
    body = gclient.post("/api/guide/ask", json={"site": "taishan", "question": question,
                                                "lang": lang}).get_json()
    assert body["kind"] == "content" and body["sources"][0]["poi"] == poi, body
    assert needle in body["answer"]
    assert body["citations"] and all(c["url"].startswith("http") for c in body["citations"])


@pytest.mark.model
def test_a_spoken_pinyin_name_is_found_through_whisper(gclient):
    # Piper's English voice says the pinyin; Whisper writes what it hears ("Chibapan").
    clip = piper_clip("How many steps are on Shibapan?")
    body = gclient.post("/api/guide/ask-voice", data={
        "site": "taishan", "lang": "en", "audio": (io.BytesIO(clip), "q.wav")},
        content_type="multipart/form-data").get_json()
    assert body["sources"][0]["poi"] == "taishan-shibapan", body


@pytest.mark.model
@pytest.mark.parametrize("question,site,needle", [
    ("泰山上有滑雪场吗？", "taishan", "滑雪场"),
    ("Is there a ski resort on Mount Tai?", "taishan", "ski"),
    ("泰山上有动物园吗", "taishan", "动物园"),
    ("Is there a cinema in the Kong Mansion?", "kongfu", "cinema"),
    ("how high is mount hua", "taishan", "mount hua"),
    ("How tall is Huangshan?", "taishan", "huangshan"),
    ("黄山有多高？", "taishan", "黄山"),
    ("Which hotel is closest to the South Gate of Heaven?", "taishan", "lodging"),
])
def test_near_miss_questions_are_refused(gclient, question, site, needle):
    body = gclient.post("/api/guide/ask", json={"site": site, "question": question}).get_json()
    assert body["kind"] == "refusal" and body["sources"] == [] and body["citations"] == []
    assert needle in body["answer"]


@pytest.mark.model
@pytest.mark.parametrize("question,site,poi", [
    ("山顶有没有可以看日出的地方？", "taishan", "taishan-riguanfeng"),
    ("Is there a cable car up to the Middle Gate of Heaven?", "taishan",
     "taishan-suodao-zhongtianmen"),
])
def test_is_there_questions_about_what_the_guide_knows_are_answered(gclient, question, site,
                                                                     poi):
    body = gclient.post("/api/guide/ask", json={"site": site, "question": question}).get_json()
    assert body["kind"] == "content" and body["sources"][0]["poi"] == poi, body


def test_normalised_question_keeps_the_askers_words(gdb):
    index = services.search_index(gdb)
    assert services.normalise_question(index, "Where is Nanjing Men?") == \
        "Where is Nanjing Men? (South Gate of Heaven)"
