"""Contracts of the guide's JSON API (guide/views.py): questions by text and voice, the
points of a site, the point nearest a position, and a site's offline pack.

The question's own rules (not empty, not too long, a known site, a language) are the
services', which spoken questions pass through too; the models here type each field."""
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from core.contracts import Body, Refuse, Reply, number
from core.errors import ValidationError
from core.text import _l

from .content import KINDS

Localized = dict[str, str]  # {"zh": ..., "en": ...}

_site_required = Refuse(lambda path: ValidationError(
    "site_required", _l("Say which site you are at ('site').")))
_bad_lang = Refuse(lambda path: ValidationError(
    "unsupported_language", _l("Language must be 'zh' or 'en'.")))
_bad_position = Refuse(lambda path: ValidationError(
    "bad_position", _l("Send lat, lon and accuracy as numbers.")))

def _blank_is_none(value):
    return None if value == "" else value


Lang = Annotated[Literal["zh", "en"] | None, BeforeValidator(_blank_is_none),
                 Field(description="Default: from the question's script"), _bad_lang]


class AskIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"site": "kongmiao", "question": "大成殿是什么时候建的？", "lang": "zh"},
        {"site": "taishan", "question": "When does the cable car open?", "lang": "en"}]})
    site: Annotated[str, Field(max_length=64), _site_required]
    question: Annotated[str, Field(description="Up to 200 characters once trimmed"),
                        Refuse(lambda path: ValidationError(
                            "question_empty", _l("Please type a question.")))]
    lang: Lang = None


class VoiceUpload(Body):
    """A spoken question: a short recording (WAV, WebM/Opus, Ogg, MP3, M4A) and the site."""
    audio: bytes = Field(json_schema_extra={"format": "binary"})
    site: str
    lang: Literal["zh", "en"] | None = None


class NearQuery(Body):
    site: Annotated[str | None, Field(max_length=64), _site_required] = None
    lat: number(-90, 90, _bad_position.error)
    lon: number(-180, 180, _bad_position.error)
    accuracy: number(0, None, _bad_position.error, description="Metres; a position worse "
                     "than GUIDE_NEAR_ACCURACY_M is refused")

# --- answers -----------------------------------------------------------------------------

class Source(Reply):
    poi: str
    title: str
    url: str


class Citation(Reply):
    """A published source behind a quoted passage (guide/content.py citations)."""
    id: str
    title: str
    publisher: str
    url: str


class AnswerOut(Reply):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "answer": "大成殿是孔庙的正殿……", "lang": "zh", "kind": "content",
        "sources": [{"poi": "kongmiao-dachengdian", "title": "大成殿",
                     "url": "/guide/kongmiao/poi/kongmiao-dachengdian?lang=zh"}],
        "citations": [{"id": "SK-WHC-704", "title": "Temple and Cemetery of Confucius and "
                       "the Kong Family Mansion in Qufu (property description)",
                       "publisher": "UNESCO World Heritage Centre",
                       "url": "http://whc.unesco.org/pg_friendly_print.cfm?id_site=704&cid=31"}],
        "audio_url": "/guide/answers/3f2a….wav"}]})
    answer: str
    sources: list[Source]
    citations: list[Citation] = Field(description="The published sources of the quoted "
                                      "passages (empty for live answers and refusals)")
    audio_url: str
    lang: Literal["zh", "en"]
    kind: Literal["content", "refusal", "hours", "tickets", "crowd"]
    transcript: str | None = Field(None, description="What was heard (spoken questions)")


class Passage(Reply):
    """A paragraph or fact in both languages, with the sources it rests on."""
    zh: str
    en: str
    sources: list[str]


class ScenePart(Reply):
    title: Localized
    text: Localized
    sources: list[str]


class Scene(Reply):
    parts: list[ScenePart]


class PoiOut(Reply):
    id: str
    site: str
    number: int
    kind: Literal[KINDS]
    name: Localized
    aliases: dict[str, list[str]] | None = Field(description="Other names people use, per "
                                                 "language")
    lat: float
    lon: float
    short: Localized
    paragraphs: list[Passage] = Field(description="The narration, in order")
    long: Localized = Field(description="The paragraphs joined, per language")
    facts: list[Passage]
    questions: list[Localized]
    scene: Scene | None = Field(description="A scene's parts, in order (kind scene only)")
    sources: list[str] = Field(description="Every source the point cites (ids)")
    zone_id: str | None
    edited: bool
    updated_at: str
    updated_by: str
    level: str = Field(description="The crowd level of the point's zone")
    url: str


class PoisOut(Reply):
    site: str
    pois: list[PoiOut]


class NearOut(Reply):
    poi: str
    distance_m: int


class OfflineManifestOut(Reply):
    site: str
    lang: Literal["zh", "en"]
    cache: str
    version: Any = Field(description="Changes whenever the guide's content does")
    urls: list[str]
