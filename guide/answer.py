"""Composing answers: live questions from the system's data, the rest from retrieved
passages quoted in the asker's language, and a refusal below the relevance threshold.
Nothing here invents a fact: every sentence is either quoted content or live data."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import live

SITE_NAMES = {
    "taishan": ("泰山", "mount tai", "taishan", "tai shan"),
    "daimiao": ("岱庙", "dai temple", "daimiao"),
    "kongmiao": ("孔庙", "temple of confucius", "confucius temple", "kongmiao"),
    "kongfu": ("孔府", "kong family mansion", "confucius mansion", "mansion of confucius",
               "kongfu"),
    "konglin": ("孔林", "cemetery of confucius", "confucius cemetery", "kong family cemetery",
                "konglin"),
}
INTENTS = {
    # Checked in this order; patterns are deliberately specific ("多少" alone is a fact
    # question about steps or heights, not about crowds).
    "tickets": (r"余票|剩.{0,3}票|票.{0,4}(还有|剩|卖完|售罄|有没有)|还有票|能.{0,2}买.{0,2}票|"
                r"几点.{0,4}票|时段.{0,4}票|票.{0,4}时段",
                r"tickets? (left|available|remaining)|any tickets|sold out|"
                r"(buy|book|get) (a )?tickets?.*(today|now)|ticket slots?|slots? (left|available)"),
    "crowd": (r"人多|人.{0,2}多不多|拥挤|挤不挤|排队|客流|人流|人少|不挤|人满",
              r"crowd|busy|queue|how many people|packed|less crowded|quiet(er)? now"),
    "hours": (r"开放时间|几点.{0,3}(开|关|闭)|开门|关门|闭园|营业时间|开放到|开到几点|今天开|"
              r"最晚.{0,3}(入|进)|入园时间|几点.{0,2}进",
              r"opening hours|open(ing)? times?|what time .*(open|close)|"
              r"when (does|do|will|is|are) [\w' ]{0,30}\b(open|close)s?\b(?! the)|"
              r"closing time|open today|open now|last entry|is it open|still open"),
}
# Questions the guide's content never covers; each gets a refusal that says where to ask.
OUT_OF_SCOPE = {
    "price": (r"多少钱|票价|价格|价钱|收费|费用|优惠|免票|半价",
              r"how much (is|are|does|do|for)|price|cost|\bfees?\b|discount|free entry"),
    "weather": (r"天气|下雨|下雪|气温|温度|刮风|预报",
                r"weather|\brain|\bsnow|forecast|temperature"),
    "services": (r"酒店|宾馆|住宿预订|饭馆|饭店|餐厅|好吃|美食|药店|药房|医院|厕所|卫生间|停车|"
                 r"充电|无线网|wifi|密码|银行|取款|汇率|比赛|租|寄存",
                 r"hotel|restaurant|food|\beat\b|pharmacy|hospital|toilet|restroom|parking|"
                 r"wi-?fi|password|charging|\batm\b|exchange rate|football|\bmatch\b|\brent\b|"
                 r"\bhire\b|left[- ]luggage"),
}
# "Is there a ... ?": a question about whether something exists or can be had here. When
# the thing asked about is a word the guide's content never uses (a ski resort, a zoo),
# the honest answer is "the guide does not know", not the nearest point.
EXISTENCE = (r"有没有|有.{1,8}[吗么嘛]|有.{0,6}(什么|哪些|几个)|^.{0,8}(能不能|可不可以)|"
             r"可以.{1,10}[吗么]|能.{1,10}[吗么]",
             r"\b(is|are) there\b|^\s*(can|could|may) (i|we|you)\b|\bdo (you|they) have\b|"
             r"\bdoes (it|the \w+) have\b")
SCOPE_REFUSALS = {
    "price": {"zh": "票价和优惠政策以购票页面和景区公告为准，导览不提供价格信息。请查看购票页面，或到游客服务中心咨询。",
              "en": "Prices and concessions are set by the booking page and the scenic area's "
                    "notices; the guide does not quote prices. Please check the booking page "
                    "or ask at the visitor centre."},
    "weather": {"zh": "导览没有天气预报。请查看气象部门的预报，或到游客服务中心咨询。",
                "en": "The guide has no weather forecast. Please check the official forecast "
                      "or ask at the visitor centre."},
    "services": {"zh": "这个问题不在导览资料范围内。住宿、餐饮、医疗和其他服务请到游客服务中心咨询。",
                 "en": "That is outside the guide's material. For lodging, food, medical help "
                       "and other services, please ask at the visitor centre."},
    "unknown_thing": {"zh": "导览资料里没有关于“{names}”的内容，我不能随意回答。请到游客服务中心咨询。",
                      "en": "The guide's material says nothing about \u201c{names}\u201d, and I "
                            "won't guess. Please ask at the visitor centre."},
    "elsewhere": {"zh": "导览只介绍泰山、岱庙和曲阜三孔，不了解您提到的“{names}”。请到游客服务中心咨询。",
                  "en": "The guide covers Mount Tai, the Dai Temple and the Three Confucian Sites "
                        "only, and knows nothing about \u201c{names}\u201d. Please ask at the "
                        "visitor centre."},
}
FACT_BONUS = 0.03
# What kind of answer a question asks for, and what a passage that gives it contains:
# "how high" wants a height, "when" a date or dynasty. Within the chosen POI, a passage of
# the right kind wins over one that merely shares words with the question.
ANSWER_TYPES = [
    (re.compile(r"how (high|tall)|height|altitude|elevation|多高|海拔|高度|多少米", re.I),
     re.compile(r"\d[\d,.]*\s*(m\b|metres|meters|米)")),
    (re.compile(r"how (many|much|long|wide|big)|多少|(?<!哪)几[个座块级层年]|多长|多宽|多大", re.I),
     re.compile(r"\d")),
    (re.compile(r"\bwhen\b|what year|which (dynasty|reign|century)|什么时候|哪[一]?年|何时|哪个朝代|始建于?",
                re.I),
     re.compile(r"\d{3,4}|dynasty|reign|century|[朝代]|年间|\d+年")),
]
ANSWER_TYPE_BONUS = 0.25
REFUSAL = {
    "zh": "抱歉，这个问题我在导览资料里找不到可靠的答案，不能随意回答。请到游客服务中心或拨打景区服务电话咨询工作人员。",
    "en": "Sorry, I can't find a reliable answer to that in the guide's material, and I "
          "won't guess. Please ask the staff at the visitor centre.",
}


@dataclass
class Answer:
    text: str
    lang: str
    kind: str                                   # "content", "refusal", "hours", "tickets", "crowd"
    sources: list = field(default_factory=list)  # [{"poi": id, "title": name}]
    score: float = 0.0
    citations: list = field(default_factory=list)  # sources of the quoted passages


def _first_match(patterns: dict, question: str) -> str | None:
    """The first key whose Chinese or English pattern the question matches."""
    q = question.lower()
    return next((key for key, (zh, en) in patterns.items()
                 if re.search(zh, q) or re.search(en, q)), None)


def detect_intent(question: str) -> str | None:
    return _first_match(INTENTS, question)


def out_of_scope(question: str) -> str | None:
    return _first_match(OUT_OF_SCOPE, question)


def asks_existence(question: str) -> bool:
    q = question.lower()
    return bool(re.search(EXISTENCE[0], q) or re.search(EXISTENCE[1], q))


def scope_refusal(kind: str, lang: str, names=()) -> Answer:
    text = SCOPE_REFUSALS[kind][lang]
    if names:
        text = text.format(names=("、" if lang == "zh" else ", ").join(names))
    return Answer(text, lang, "refusal", [], 0.0)


def mentioned_site(question: str) -> str | None:
    sites = mentioned_sites(question)
    return sites[0] if sites else None


def mentioned_sites(question: str) -> list[str]:
    """Every site the question names, in the order of SITE_NAMES."""
    q = question.lower()
    return [site_id for site_id, names in SITE_NAMES.items() if any(n in q for n in names)]


def _sentence_end(text: str, lang: str) -> str:
    text = text.strip().rstrip(";；,，:：、")
    if not text:
        return text
    if lang == "zh":
        return text if text[-1] in "。！？" else text + "。"
    return text if text[-1] in ".!?" else text + "."


def asked_types(question: str) -> list:
    """The kinds of answer the question asks for (a height, a number, a date)."""
    return [gives for asks, gives in ANSWER_TYPES if asks.search(question)]


def holds_answer_type(question: str, texts) -> bool:
    """Whether some text holds every kind of answer the question asks for: "how high is
    the Middle Gate" needs a height somewhere in that point, or the guide does not know."""
    texts = list(texts)
    return all(any(gives.search(t) for t in texts) for gives in asked_types(question))


def answer_type_bonus(question: str, text: str) -> float:
    """Credit for a passage that holds the kind of answer the question asks for."""
    return ANSWER_TYPE_BONUS if any(asks.search(question) and gives.search(text)
                                    for asks, gives in ANSWER_TYPES) else 0.0


def from_hits(hits, pois: dict, lang: str, threshold: float, question: str = "",
              known_sources: dict | None = None) -> Answer:
    """Quote the best passages of the best POI, in ``lang``, citing the sources each
    quoted paragraph or fact rests on; refuse below threshold."""
    if not hits or hits[0].score < threshold:
        return Answer(REFUSAL[lang], lang, "refusal", [],
                      hits[0].score if hits else 0.0)
    best = hits[0]
    poi = pois[best.poi_id]
    limit = 90 if lang == "zh" else 230      # an answer is heard, not read: keep it short
    chosen: list[str] = []
    cited: list[str] = []
    seen: set = set()
    # Facts are the crispest answers; they win a near tie with narration.
    ranked = sorted(best.passages, key=lambda sp: -(
        sp[0] + (FACT_BONUS if sp[1].kind == "fact" else 0)
        + answer_type_bonus(question, sp[1].text)))
    for _score, p in ranked:
        # Questions match well but answer nothing; quote facts, intro and narration.
        if p.kind == "question" or (p.kind, p.index) in seen:
            continue
        seen.add((p.kind, p.index))
        text = p.text if p.lang == lang else _parallel(poi, p, lang, limit)
        if text is None:
            continue
        if p.kind == "intro":
            text = poi.short[lang]
        text = _sentence_end(text, lang)
        if chosen and (len(chosen[0]) + len(text) > limit or _overlap(chosen[0], text) > 0.6):
            continue
        chosen.append(text)
        cited.extend(p.sources)
        if len(chosen) == 2 or sum(map(len, chosen)) > limit * 0.7:
            break
    if not chosen:
        chosen.append(_sentence_end(poi.short[lang], lang))
        cited.extend(poi.sources)
    name = poi.name[lang]
    head = f"{name}：" if lang == "zh" else f"{name}: "
    text = head + ("" if lang == "zh" else " ").join(chosen)
    sources = [{"poi": poi.id, "title": name}]
    for other in hits[1:]:
        if other.score >= max(threshold, 0.97 * best.score):
            sources.append({"poi": other.poi_id, "title": pois[other.poi_id].name[lang]})
    from .content import citations
    return Answer(text, lang, "content", sources, best.score,
                  citations(cited, known_sources or {}))


def _overlap(a: str, b: str) -> float:
    """Share of b's words (or characters, for Chinese) already said in a."""
    ta = set(re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", a.lower()))
    tb = set(re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", b.lower()))
    return len(ta & tb) / len(tb) if tb else 1.0


def _parallel(poi, passage, lang: str, limit: int = 10 ** 6) -> str | None:
    """The same passage in the other language, when the content has one: facts, scene
    parts and whole paragraphs are parallel (their sentences are not aligned, so a
    paragraph is quoted whole, and only when it is short enough to say)."""
    if passage.kind == "fact" and passage.index < len(poi.facts):
        return poi.facts[passage.index][lang]
    if passage.kind == "part" and passage.index < len(poi.parts):
        part = poi.parts[passage.index]
        return f"{part['title'][lang]}：{part['text'][lang]}" if lang == "zh" else \
            f"{part['title'][lang]}: {part['text'][lang]}"
    if passage.kind == "long" and passage.index < len(poi.paragraphs):
        text = poi.paragraphs[passage.index][lang]
        return text if len(text) <= limit else None
    if passage.kind == "intro":
        return poi.short[lang]
    return None


def _places_text(site, hours, lang: str) -> str:
    """Each entrance's and cable car's hours today, e.g. Mount Tai's."""
    parts = []
    for p in hours.places:
        name = site.place(p.place_id).name[lang]
        span = ({"zh": "不开放", "en": "closed"}[lang] if p.closed else f"{p.open}-{p.close}")
        why = f"（{p.reason['zh']}）" if lang == "zh" and p.reason else \
            (f" ({p.reason['en']})" if p.reason else "")
        parts.append(f"{name} {span}{why}")
    if not parts:
        return ""
    return ("其中：" + "；".join(parts) + "。") if lang == "zh" else \
        (" By entrance: " + "; ".join(parts) + ".")


def hours_answer(db, site_id: str, lang: str, clock) -> Answer:
    site, hours, open_now = live.hours_today(db, site_id, clock)
    name = site.name[lang]
    why = hours.reason[lang] if hours.reason else ""
    if hours.closed:
        text = {"zh": f"{name}今天不开放" + (f"（{why}）" if why else "") + "。",
                "en": f"{name} is closed today" + (f" ({why})" if why else "") + "."}[lang]
    elif hours.all_day:
        text = {"zh": f"{name}今天全天开放（{hours.name.get('zh', '')}）。",
                "en": f"{name} is open 24 hours today ({hours.name.get('en', '')})."}[lang]
    else:
        last = hours.last_entry
        text = {"zh": f"{name}今天的开放时间是 {hours.open} 至 {hours.close}"
                      + (f"，最晚 {last} 入园" if last else "")
                      + (f"（{why}）" if why else "") + "。"
                      + ("现在正在开放。" if open_now else "现在不在开放时间内。"),
                "en": f"{name} is open today from {hours.open} to {hours.close}"
                      + (f", last entry {last}" if last else "")
                      + (f" ({why})" if why else "") + ". "
                      + ("It is open now." if open_now else "It is not open right now.")}[lang]
    text += _places_text(site, hours, lang)
    return Answer(text, lang, "hours", [], 1.0)


def tickets_answer(db, site_id: str, lang: str, clock) -> Answer:
    from catalog import interface as catalog
    name = catalog.get_site(db, site_id).name[lang]
    slots = live.slots_today(db, site_id, clock)
    now_hm = clock.now().strftime("%H:%M")
    upcoming = [s for s in slots if not s["end"] or s["end"] > now_hm]
    if not upcoming:
        text = {"zh": f"{name}今天没有可预约的时段了。", "en": f"{name} has no more entry slots "
                "today."}[lang]
        return Answer(text, lang, "tickets", [], 1.0)
    parts = []
    for s in upcoming[:6]:
        if s["paused"]:
            parts.append({"zh": f"{s['start']}-{s['end']} 暂停售票",
                          "en": f"{s['start']}-{s['end']} sales paused"}[lang])
        else:
            parts.append({"zh": f"{s['start']}-{s['end']} 余票 {s['left']} 张",
                          "en": f"{s['start']}-{s['end']}: {s['left']} left"}[lang])
    text = {"zh": f"{name}今天的余票：" + "；".join(parts) + "。",
            "en": f"Tickets left today for {name}: " + "; ".join(parts) + "."}[lang]
    return Answer(text, lang, "tickets", [], 1.0)


def crowd_answer(db, site_id: str, lang: str, clock, suggestions, policy=None) -> Answer:
    from catalog import interface as catalog
    name = catalog.get_site(db, site_id).name[lang]
    level, count, capacity = live.site_occupancy(db, site_id, clock, policy)
    if level == "unknown":
        text = {"zh": f"暂时没有{name}的实时客流数据。",
                "en": f"There is no live crowd data for {name} right now."}[lang]
    else:
        word = live.LEVEL_NAMES[level][lang]
        figures = ""
        if count is not None and capacity:
            figures = {"zh": f"（约 {count} 人，承载量 {capacity} 人）",
                       "en": f" (about {count} people; capacity {capacity})"}[lang]
        text = {"zh": f"{name}现在{word}{figures}。", "en": f"{name} is {word} now{figures}."}[lang]
    sources = []
    if suggestions:
        names = [p.name[lang] for p in suggestions[:3]]
        text += {"zh": "现在人较少的地方：" + "、".join(names) + "。",
                 "en": " Less crowded now: " + ", ".join(names) + "."}[lang]
        sources = [{"poi": p.id, "title": p.name[lang]} for p in suggestions[:3]]
    return Answer(text, lang, "crowd", sources, 1.0)
