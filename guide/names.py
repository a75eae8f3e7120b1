"""Place names matched by sound as well as by spelling, so a misheard name still finds its
point: Whisper's "J-Vempera Peak" is the Jade Emperor Peak, "玉黄鼎" is 玉皇顶.

Every point's names and aliases (both languages, and the pinyin of its Chinese names,
which visitors and Whisper write as "Nantianmen" or "Nan Tian Men") get phonetic keys:
- Chinese: toneless pinyin syllables (pypinyin), compared with the confusions speech
  recognisers and southern accents make (zh/z, ch/c, sh/s, n/l, b/p, d/t, g/k, f/h,
  -ng/-n) treated as equal;
- English and pinyin in Latin letters: the Metaphone key of the name's distinctive words
  (jellyfish: a maintained Rust implementation of Metaphone with Jaro-Winkler and
  Levenshtein beside it), compared by edit distance, with a spelling-similarity floor.
A stretch of the question is replaced by the point's own name only when the question's
words there are not words the guide uses anyway (so "the temple" never becomes "Dai
Temple"), and short names must match exactly (so 华山/Huashan never becomes 泰山/Taishan).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_HAN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[A-Za-z]+")
# Words that name a kind of place rather than a place: never enough to match on.
GENERIC = set("""the of a an and or at in on mount mountain mt temple gate gates hall halls peak
palace pavilion pavilions tower archway arch bridge bridges tomb tombs stele steles stone
garden courtyard cemetery mansion house road street square tree trees cliff spring terrace
heaven heavenly great main front rear back north south east west middle first second third
family hall's site sites""".split())
STOP = set("""is are was were be do does did what which who whom whose when where why how there
here this that these those it its i you he she we they me my your our their can could would
should will may might much many about as into than then so if not no yes please tell us any
some more most very also just have has had get go going know high tall long old big from
for to with by into over under near after before between than what's where's who's whats
like look looks see seen there's here's one two much far""".split())
FUZZY_INITIALS = [("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("p", "b"), ("t", "d"),
                  ("k", "g"), ("h", "f")]
FUZZY_FINALS = [("ing", "in"), ("eng", "en"), ("ang", "an")]


def _pinyin(text: str) -> list[str]:
    from pypinyin import lazy_pinyin
    return lazy_pinyin(text, errors="ignore")


def fuzzy_syllable(syl: str) -> str:
    """A toneless syllable with the usual recogniser and accent confusions merged."""
    for a, b in FUZZY_INITIALS:
        if syl.startswith(a):
            syl = b + syl[len(a):]
            break
    for a, b in FUZZY_FINALS:
        if syl.endswith(a):
            syl = syl[:-len(a)] + b
            break
    return syl


def metaphone(letters: str) -> str:
    import jellyfish
    return jellyfish.metaphone(letters)


@dataclass(frozen=True)
class NameForm:
    poi_id: str
    text: str               # as written in the content
    canonical: str          # what a matched stretch of the question becomes
    lang: str               # "zh" (Han characters) or "en" (Latin letters, incl. pinyin)
    key: tuple | str        # pinyin syllables, or the Metaphone key of the letters
    letters: str = ""
    words: int = 1          # distinctive words (English) or characters (Chinese)
    pinyin: bool = False    # a Chinese name spelled in pinyin


def _parts(name: str) -> list[str]:
    """A name and its bracketed or joined parts: 大成门与先师手植桧 -> both halves."""
    out = [name.strip()]
    out += [p.strip() for p in re.split(r"[（）()、/,，]|与|和|\band\b", name) if p.strip()]
    return list(dict.fromkeys(p for p in out if p))


def _distinctive(words: list[str]) -> list[str]:
    return [w for w in words if w not in GENERIC and w not in STOP]


class NameMatcher:
    """Finds points' names in a question by spelling or by sound."""

    def __init__(self, pois, vocabulary: set[str], zh_text: str,
                 pinyin_spans: set[str] = frozenset()):
        self.vocabulary = vocabulary        # English words the guide's content uses
        self.zh_text = zh_text
        self.pinyin_spans = pinyin_spans    # pinyin of the content's 2-3 character spans
        self.zh: list[NameForm] = []
        self.en: list[NameForm] = []
        for poi in pois:
            canonical_en = re.split(r"\s*\(", poi.name["en"])[0].strip()
            canonical_zh = re.split(r"[（(]", poi.name["zh"])[0].strip()
            aliases = poi.aliases or {"zh": [], "en": []}
            for name in [poi.name["zh"], *aliases.get("zh", [])]:
                for part in _parts(name):
                    han = "".join(_HAN.findall(part))
                    if len(han) >= 2:
                        canonical = han if han in poi.name["zh"] else canonical_zh
                        self.zh.append(NameForm(poi.id, han, canonical, "zh",
                                                tuple(_pinyin(han))))
                        self._add_en(poi.id, "".join(_pinyin(han)), canonical_en, pinyin=True)
            for name in [poi.name["en"], *aliases.get("en", [])]:
                for part in _parts(name):
                    self._add_en(poi.id, part, canonical_en)
        self._drop_shared()
        self.zh_fuzzy = {form: [fuzzy_syllable(s) for s in form.key] for form in self.zh}

    def _add_en(self, poi_id: str, text: str, canonical: str, pinyin: bool = False) -> None:
        words = _distinctive([w.lower() for w in _WORD.findall(text)])
        letters = "".join(words)
        if len(letters) >= 4:
            self.en.append(NameForm(poi_id, text, canonical, "en", metaphone(letters), letters,
                                    len(words), pinyin))

    def _drop_shared(self) -> None:
        """A form that other points' names share says nothing about which point is meant:
        a single word used in several names ("Confucius", "Kong"), or the same words as
        another point's form. A name of several words stays whole ("Jade Emperor" even
        if another name has "Jade")."""
        owners: dict[str, set] = {}
        for form in self.en:
            owners.setdefault(form.letters, set()).add(form.poi_id)
            for word in _distinctive([w.lower() for w in _WORD.findall(form.text)]):
                owners.setdefault("word:" + word, set()).add(form.poi_id)
        self.en = [f for f in self.en if len(owners[f.letters]) == 1 and not (
            f.words == 1 and not f.pinyin and len(owners.get("word:" + f.letters, ())) > 1)]

    # --- Chinese -----------------------------------------------------------------

    def _zh_matches(self, question: str):
        found = []
        for run in _HAN.finditer(question):
            text = run.group()
            syllables = _pinyin(text)
            if len(syllables) != len(text):
                continue
            fuzzy = [fuzzy_syllable(s) for s in syllables]
            bounds = _word_bounds(text)
            for form in self.zh:
                n = len(form.key)
                want = self.zh_fuzzy[form]
                for i in range(len(text) - n + 1):
                    window = text[i:i + n]
                    if window == form.text:
                        found.append((0, 1.0, run.start() + i, n, form, True))
                        continue
                    misses = sum(a != b for a, b in zip(fuzzy[i:i + n], want))
                    if misses > 1:
                        continue
                    exact = syllables[i:i + n] == list(form.key)
                    if not ((n >= 3 and misses == 0) or (n >= 4 and misses == 1) or
                            (n == 2 and exact and not _common_word(window)
                             and i in bounds and i + n in bounds)):
                        continue        # (鸿门 inside 鸿门宴 is no mishearing of 红门)
                    if window in self.zh_text:
                        continue        # a phrase the guide itself uses: not a mishearing
                    found.append((misses, 0.9, run.start() + i, n, form, False))
        return found

    # --- English and pinyin ----------------------------------------------------------

    def _en_matches(self, question: str):
        import jellyfish
        words = [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(question)]
        found = []
        for size in range(1, 5):
            for i in range(len(words) - size + 1):
                span = words[i:i + size]
                distinct = _distinctive([w for w, _s, _e in span])
                if not distinct or _distinctive([span[0][0]]) == [] or \
                        _distinctive([span[-1][0]]) == []:
                    continue            # a stretch starts and ends on a distinctive word
                letters = "".join(distinct)
                unknown = any(w not in self.vocabulary for w in distinct)
                # Pinyin the content itself spells (何出光 -> "Chuguang") is that, not a
                # mishearing of some other name.
                known_pinyin = letters in self.pinyin_spans
                capital = question[span[0][1]].isupper()
                key = metaphone(letters)
                for form in self.en:
                    if letters == form.letters:
                        # A single ordinary word ("summit") names a place only when the
                        # asker writes it as a name.
                        if form.words > 1 or form.pinyin or capital:
                            found.append((0, 1.0, span[0][1], span[-1][2] - span[0][1],
                                          form, True))
                        continue
                    if not unknown or known_pinyin or \
                            not 0.6 <= len(letters) / len(form.letters) <= 1.6:
                        continue
                    # An English name is misheard word for word ("J-Vempera" for "Jade
                    # Emperor"); pinyin runs its syllables together or apart at will.
                    if not form.pinyin and len(distinct) != form.words:
                        continue
                    if not form.pinyin and form.words == 1:
                        continue        # one ordinary word ("emperors") only as spelt
                    if key[:1] != form.key[:1]:
                        continue        # a mishearing keeps the name's first sound
                    distance = jellyfish.levenshtein_distance(key, form.key)
                    allowed = 0 if len(form.key) <= 4 else 1 if len(form.key) <= 5 else 2
                    similar = jellyfish.jaro_winkler_similarity(letters, form.letters)
                    if distance <= allowed and similar >= 0.7:
                        start, end = self._widen(words, i, i + size, form.canonical)
                        found.append((distance, similar, start, end - start, form, False))
        return found

    @staticmethod
    def _widen(words, first: int, stop: int, canonical: str) -> tuple[int, int]:
        """Grow a matched stretch over the neighbouring words of the name it matched
        ("J-Vempera Peak": the Peak too), so the replacement does not repeat them."""
        name_words = {w.lower() for w in _WORD.findall(canonical)} - STOP - {"the", "of", "a"}
        while first > 0 and words[first - 1][0] in name_words:
            first -= 1
        while stop < len(words) and words[stop][0] in name_words:
            stop += 1
        return words[first][1], words[stop - 1][2]

    def find(self, question: str) -> list[tuple]:
        """Non-overlapping (start, length, form, exact) matches, best first."""
        found = self._zh_matches(question) + self._en_matches(question)
        # Exact first, then fewest differences, most similar, longest.
        found.sort(key=lambda m: (not m[5], m[0], -m[1], -m[3]))
        taken, out = [], []
        for _d, _s, start, length, form, exact in found:
            if any(start < e and s < start + length for s, e in taken):
                continue
            taken.append((start, start + length))
            out.append((start, length, form, exact))
        return out

    def correct(self, question: str) -> Correction:
        """The question with misheard names replaced by the points' own names (for the
        checks that look for names), the question with those names added to it (for
        retrieval, which keeps the asker's own words), and the ids of the points named."""
        matches = self.find(question)
        replaced, added = question, []
        for start, length, form, exact in sorted(matches, key=lambda m: -m[0]):
            if not exact:
                replaced = replaced[:start] + form.canonical + replaced[start + length:]
            if form.canonical.lower() not in question.lower():
                added.append(form.canonical)
        added = list(dict.fromkeys(reversed(added)))
        if added:
            joined = ("、" if _HAN.search(question) else ", ").join(added)
            extended = f"{question}（{joined}）" if _HAN.search(question) else \
                f"{question} ({joined})"
        else:
            extended = question
        return Correction(replaced, extended,
                          list(dict.fromkeys(m[2].poi_id for m in matches)))


@dataclass(frozen=True)
class Correction:
    replaced: str       # misheard names replaced: for the unknown-name and scope checks
    extended: str       # the question plus the names it means: for retrieval
    poi_ids: list


def _word_bounds(text: str) -> set[int]:
    """Offsets where jieba's words of ``text`` start or end."""
    import jieba
    bounds, at = {0}, 0
    for word in jieba.lcut(text):
        at += len(word)
        bounds.add(at)
    return bounds


def _common_word(word: str) -> bool:
    """A word common enough in general Chinese (jieba's dictionary) to be meant as itself."""
    import jieba
    return jieba.get_FREQ(word, 0) >= 50
