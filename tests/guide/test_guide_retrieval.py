"""Retrieval quality on the labelled questions (data/guide/eval/*.json) through the real
answer path: BM25 + jieba + pinyin fused with the multilingual sentence encoder."""
import pytest

from guide import evaluate, retrieval

pytestmark = pytest.mark.model


def test_labelled_set_is_big_and_mixed():
    qs = evaluate.load_questions()
    assert len(qs) >= 40
    assert {q["lang"] for q in qs} == {"zh", "en"}
    kinds = {q["kind"] for q in qs}
    assert {"cross-lingual", "near-miss"} <= kinds
    assert all((q["kind"] == "near-miss") == (q["expected"] == []) for q in qs)


def test_fused_retrieval_meets_the_targets_on_the_tuning_split(gdb, clock):
    result = evaluate.evaluate(gdb, clock)
    tune = result["splits"]["tune"]
    # What tuning reached on this split (top-1 88.6 %, top-3 98.1 %, refused 88.5 %,
    # wrongly refused 1.9 %), less a question or two: a regression guard. The held-out
    # half is reported by bench/guide_bench.py, never tuned on, so not asserted here.
    assert tune["top1"] >= 0.86, tune["top1"]
    assert tune["top3"] >= 0.95, tune["top3"]
    assert tune["refused"] >= 0.84, tune["refused"]
    assert tune["wrongly_refused"] <= 0.03
    assert tune["per_kind"]["cross-lingual"]["rate"] >= 0.9
    # Refusals never cite a point; content answers always do.
    for row in result["rows"]:
        if row["kind"] in ("refusal", "content"):
            assert (row["kind"] == "refusal") == (row["cited"] == []), row


def test_chinese_segmentation_and_pinyin_tokens():
    toks = retrieval.tokenize("玉皇顶海拔多高？")
    assert "玉皇顶" in toks or "玉皇" in toks
    assert "py_huai" not in retrieval.tokenize("卧龙槐", pinyin=True)
    assert "py_wolonghuai" in retrieval.tokenize("卧龙槐", pinyin=True)
    assert "py_wolong" in retrieval.query_pinyin("the Wolong Huai")
    assert "py_wolonghuai" in retrieval.query_pinyin("the Wolong Huai")
