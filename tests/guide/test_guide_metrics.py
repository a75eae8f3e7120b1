"""The guide's metrics: an answered question is counted by mode, kind and language, with
its latency; a refused one (bad input) is not."""
from __future__ import annotations

from testkit import metric, scrape


def test_a_question_moves_the_counter_and_the_latency_histogram(gclient):
    before = scrape(gclient)
    resp = gclient.post("/api/guide/ask", json={"site": "kongmiao", "question": "孔庙今天几点关门？",
                                                "lang": "zh"})
    assert resp.status_code == 200 and resp.get_json()["kind"] == "hours"
    assert gclient.post("/api/guide/ask", json={"site": "kongmiao"}).status_code == 400
    after = scrape(gclient)
    questions = dict(mode="text", kind="hours", lang="zh")
    assert metric(after, "scenic_guide_questions_total", **questions) - \
        metric(before, "scenic_guide_questions_total", **questions) == 1
    assert sum(v for (name, _), v in after.items() if name == "scenic_guide_questions_total") - \
        sum(v for (name, _), v in before.items() if name == "scenic_guide_questions_total") == 1
    assert metric(after, "scenic_guide_answer_seconds_count", mode="text") - \
        metric(before, "scenic_guide_answer_seconds_count", mode="text") == 1
    assert metric(after, "scenic_guide_answer_seconds_bucket", mode="text", le="+Inf") == \
        metric(after, "scenic_guide_answer_seconds_count", mode="text")
