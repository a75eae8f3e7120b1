"""Question-answering quality on the labelled questions in data/guide/eval/*.json
(layout in CONTENT-SCHEMA.md), per split (``tune``: what the thresholds and rules may
be tuned on; ``heldout``: what they must never see) and per kind of question: top-1 and
top-3 accuracy on answerable questions, the share of unanswerable ones refused, and the
share of answerable ones wrongly refused. Used by bench/guide_bench.py and the tests."""
from __future__ import annotations

import json
from pathlib import Path

from . import services
from .content import DATA_DIR

EVAL_DIR = DATA_DIR / "eval"
QUESTION_KINDS = ("paraphrase", "new-point", "multi-fact", "cross-lingual", "near-miss")
SPLITS = ("tune", "heldout")


def load_questions(eval_dir: Path = EVAL_DIR) -> list[dict]:
    """Every labelled question of every area file, checked against the schema."""
    questions, ids = [], set()
    for path in sorted(eval_dir.glob("*.json")):
        for q in json.loads(path.read_text(encoding="utf-8"))["questions"]:
            where = f"{path.name} {q.get('id')!r}"
            if q.get("id") in ids:
                raise ValueError(f"{where}: duplicate id")
            ids.add(q["id"])
            if q.get("kind") not in QUESTION_KINDS or q.get("split") not in SPLITS:
                raise ValueError(f"{where}: kind must be one of {QUESTION_KINDS} and split "
                                 f"one of {SPLITS}")
            if q.get("lang") not in ("zh", "en") or not isinstance(q.get("expected"), list):
                raise ValueError(f"{where}: lang zh/en and a list 'expected' are required")
            if (q["kind"] == "near-miss") != (not q["expected"]):
                raise ValueError(f"{where}: near-miss questions, and only they, expect []")
            questions.append(q)
    return questions


def _rate(items, key) -> float | None:
    return sum(r[key] for r in items) / len(items) if items else None


def summarise(rows: list[dict]) -> dict:
    """The figures of a list of evaluated rows (one split)."""
    answerable = [r for r in rows if r["expected"]]
    unanswerable = [r for r in rows if not r["expected"]]
    per_kind = {}
    for kind in QUESTION_KINDS:
        of_kind = [r for r in rows if r["qkind"] == kind]
        if of_kind:
            per_kind[kind] = {"n": len(of_kind), "rate": _rate(
                of_kind, "refused" if kind == "near-miss" else "top1_ok")}
    return {"questions": len(rows), "answerable": len(answerable),
            "unanswerable": len(unanswerable), "top1": _rate(answerable, "top1_ok"),
            "top3": _rate(answerable, "top3_ok"), "refused": _rate(unanswerable, "refused"),
            "wrongly_refused": _rate(answerable, "refused"), "per_kind": per_kind}


def evaluate(db, clock, questions: list[dict] | None = None, *, mode: str = "fused",
             threshold: float | None = None) -> dict:
    """Run every labelled question through the real answer path; figures per split."""
    questions = questions if questions is not None else load_questions()
    index = services.search_index(db)
    rows = []
    for q in questions:
        ans = services.ask(db, site_id=q["site"], question=q["question"], lang=q["lang"],
                           clock=clock, mode=mode, threshold=threshold)
        hits = index.search(services.normalise_question(index, q["question"]),
                            sites=services.area_sites(db, q["site"]), mode=mode, k=3)
        cited = [s["poi"] for s in ans.sources]
        expected = q["expected"]
        rows.append({"id": q["id"], "lang": q["lang"], "split": q["split"],
                     "qkind": q["kind"], "question": q["question"], "expected": expected,
                     "kind": ans.kind, "cited": cited, "top3": [h.poi_id for h in hits],
                     "score": round(ans.score, 3),
                     "top1_ok": bool(expected) and ans.kind == "content" and bool(cited)
                     and cited[0] in expected,
                     "top3_ok": bool(expected) and any(h.poi_id in expected for h in hits),
                     "refused": ans.kind == "refusal"})
    return {"mode": mode, "questions": len(rows), "rows": rows,
            "splits": {split: summarise([r for r in rows if r["split"] == split])
                       for split in SPLITS}}
