"""The guide's metrics (core/metrics.py; names in docs/operations.md#metrics): questions
answered and how long each took, counted in the views once the answer is ready. Labels
are bounded: the way it was asked, the kind of answer and the content language come
from the code, never from the question."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

from core.metrics import bounded

MODES = ("text", "voice")
KINDS = ("content", "refusal", "hours", "tickets", "crowd")
LANGS = ("zh", "en")
# Seconds: a typed question takes well under a second, a spoken one several.
BUCKETS = (.05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

QUESTIONS = Counter("scenic_guide_questions", "Questions answered, by how they were asked, "
                    "the kind of answer and its language", ["mode", "kind", "lang"])
ANSWER_SECONDS = Histogram("scenic_guide_answer_seconds", "Time from a question to its answer "
                           "(waiting for and running the model job)", ["mode"], buckets=BUCKETS)


def answered(mode: str, answer, seconds: float) -> None:
    """Count one answered question (``guide.answer.Answer``) and its latency."""
    mode = bounded(mode, MODES)
    QUESTIONS.labels(mode, bounded(answer.kind, KINDS), bounded(answer.lang, LANGS)).inc()
    ANSWER_SECONDS.labels(mode).observe(seconds)
