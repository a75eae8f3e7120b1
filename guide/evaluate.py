"""Question-answering quality on the labelled set data/guide/qa_eval.json: top-1 and
top-3 accuracy on answerable questions and the refusal rate on unanswerable ones.
Used by bench/guide_bench.py and by the tests."""
from __future__ import annotations

import json
from pathlib import Path

from . import services

EVAL_FILE = Path(__file__).resolve().parent.parent / "data" / "guide" / "qa_eval.json"


def load_questions(path: Path = EVAL_FILE) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["questions"]


def evaluate(db, clock, questions: list[dict] | None = None, *, mode: str = "fused",
             threshold: float | None = None) -> dict:
    """Run every labelled question through the real answer path."""
    questions = questions if questions is not None else load_questions()
    index = services.search_index(db)
    rows = []
    for q in questions:
        ans = services.ask(db, site_id=q["site"], question=q["question"], lang=q["lang"],
                           clock=clock, mode=mode, threshold=threshold)
        hits = index.search(q["question"], sites=services.area_sites(db, q["site"]), mode=mode, k=3)
        cited = [s["poi"] for s in ans.sources]
        expected = q["expected"]
        rows.append({"id": q["id"], "lang": q["lang"], "expected": expected,
                     "cross_lingual": bool(q.get("cross_lingual")), "kind": ans.kind,
                     "cited": cited, "top3": [h.poi_id for h in hits],
                     "score": round(ans.score, 3),
                     "top1_ok": bool(expected) and ans.kind == "content" and bool(cited)
                     and cited[0] in expected,
                     "top3_ok": bool(expected) and any(h.poi_id in expected for h in hits),
                     "refused": ans.kind == "refusal"})
    answerable = [r for r in rows if r["expected"]]
    unanswerable = [r for r in rows if not r["expected"]]
    cross = [r for r in answerable if r["cross_lingual"]]

    def rate(items, key):
        return sum(r[key] for r in items) / len(items) if items else 0.0
    return {"mode": mode, "questions": len(rows), "answerable": len(answerable),
            "unanswerable": len(unanswerable), "top1": rate(answerable, "top1_ok"),
            "top3": rate(answerable, "top3_ok"), "refused": rate(unanswerable, "refused"),
            "wrongly_refused": rate(answerable, "refused"),
            "cross_lingual_top1": rate(cross, "top1_ok"), "rows": rows}
