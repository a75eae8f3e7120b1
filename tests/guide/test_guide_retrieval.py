"""Retrieval quality on the labelled set (data/guide/qa_eval.json) through the real
answer path: BM25 + jieba + pinyin fused with the multilingual sentence encoder."""
import pytest

from guide import evaluate, retrieval

pytestmark = pytest.mark.model


def test_labelled_set_is_big_and_mixed():
    qs = evaluate.load_questions()
    assert len(qs) >= 40
    assert {q["lang"] for q in qs} == {"zh", "en"}
    assert any(q.get("cross_lingual") for q in qs)
    assert any(not q["expected"] for q in qs)


def test_fused_retrieval_meets_the_targets(gdb, clock):
    result = evaluate.evaluate(gdb, clock)
    assert result["top1"] >= 0.90, result["top1"]
    assert result["top3"] >= 0.95, result["top3"]
    assert result["refused"] >= 0.90, result["refused"]
    assert result["wrongly_refused"] <= 0.05
    assert result["cross_lingual_top1"] >= 0.75
    # Refusals never cite a point; content answers always do.
    for row in result["rows"]:
        assert (row["kind"] == "refusal") == (row["cited"] == [])


def test_chinese_segmentation_and_pinyin_tokens():
    toks = retrieval.tokenize("玉皇顶海拔多高？")
    assert "玉皇顶" in toks or "玉皇" in toks
    assert "py_huai" not in retrieval.tokenize("卧龙槐", pinyin=True)
    assert "py_wolonghuai" in retrieval.tokenize("卧龙槐", pinyin=True)
    assert "py_wolong" in retrieval.query_pinyin("the Wolong Huai")
    assert "py_wolonghuai" in retrieval.query_pinyin("the Wolong Huai")
