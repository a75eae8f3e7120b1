"""Languages through gettext catalogues (Flask-Babel).

English is the source language: a message's msgid is its English text, so English needs no
catalogue. Every other language is one catalogue, ``translations/<lang>/LC_MESSAGES/messages.po``,
and the languages offered are English plus the catalogues present: adding Korean is adding
``translations/ko/LC_MESSAGES/messages.po``, no code (docs/DEVELOPING.md, "Translations").

The language of a request comes from ``?lang=`` (remembered in a cookie), then the cookie, then
Accept-Language, then ``DEFAULT_LANG``. Outside a request (CLI, logs) texts are English.

The ``.po`` files are compiled in memory when the app starts, so there is no generated ``.mo``
that could be missing or older than its ``.po``; a catalogue that does not parse, or whose
placeholders do not fit its msgids, stops start-up with a message naming the file.

Content data in two languages (site and POI names from data files) stays data: ``pick``.
Labels looked up by a key built at run time (statuses, roles, reasons) are lazy strings in
``<domain>/messages.py`` as ``LABELS = {key: lazy_gettext("English")}``: ``label(key)``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.support import NullTranslations, Translations
from flask import current_app, g, has_request_context, request
from flask_babel import (Babel, Domain, force_locale, format_currency, format_date,
                         format_decimal, get_locale, gettext, refresh)

SOURCE_LANG = "en"
COOKIE = "lang"
DOMAIN = "messages"
BUILTIN_DIR = Path(__file__).resolve().parents[1] / "translations"
# Languages the bilingual content data (site, zone and POI texts) is written in.
CONTENT_LANGS = ("zh", "en")
# The BCP 47 tag pages declare; the catalogue's own name for every other language.
HTML_LANG = {"zh": "zh-CN"}


class UnsupportedLanguage(Exception):
    def __init__(self, lang):
        super().__init__(lang)
        self.lang = lang


class CatalogueError(RuntimeError):
    """A catalogue that cannot be used: raised at start-up, naming the file."""


def catalogue_dir(setting: str | None) -> Path:
    return Path(setting) if setting else BUILTIN_DIR


def available_languages(directory: Path) -> tuple[str, ...]:
    """English, then every language with a catalogue in ``directory``, sorted."""
    found = []
    if directory.is_dir():
        for entry in sorted(directory.iterdir()):
            if (entry / "LC_MESSAGES" / f"{DOMAIN}.po").is_file() and entry.name != SOURCE_LANG:
                try:
                    Locale.parse(entry.name)
                except (ValueError, UnknownLocaleError):
                    raise CatalogueError(f"{entry}: '{entry.name}' is not a language code "
                                         "Babel knows (zh, ko, ja, pt_BR...)") from None
                found.append(entry.name)
    return (SOURCE_LANG, *found)


# (path, mtime, size) -> Translations; the same catalogue is compiled once per process.
_compiled: dict[tuple, Translations] = {}


def compile_catalogue(path: Path) -> Translations:
    """Read one .po file and compile it in memory, as ``pybabel compile`` would (fuzzy and
    empty entries are left out, so they fall back to English)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _compiled:
        lang = path.parent.parent.name
        try:
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang, domain=DOMAIN, abort_invalid=True)
        except (PoFileError, UnicodeDecodeError, ValueError) as exc:
            raise CatalogueError(f"{path}: not a readable .po file: {exc}") from None
        problems = [f"{msg.id!r}: {'; '.join(map(str, errors))}"
                    for msg, errors in catalog.check() if errors]
        if problems:
            raise CatalogueError(f"{path}: placeholders that do not fit their msgid "
                                 f"(fix them in the catalogue): {' | '.join(problems[:5])}")
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        buf.seek(0)
        _compiled[key] = Translations(fp=buf, domain=DOMAIN)
    return _compiled[key]


class CatalogueDomain(Domain):
    """Flask-Babel's domain, reading the catalogues compiled at start instead of .mo files."""

    def __init__(self, catalogues: dict[str, Translations]):
        super().__init__(domain=DOMAIN)
        self.catalogues = catalogues

    def get_translations(self):
        locale = get_locale()
        if locale is None:
            return NullTranslations()
        return self.catalogues.get(str(locale)) or NullTranslations()


class _Babel(Babel):
    def __init__(self, domain: CatalogueDomain):
        self._catalogue_domain = domain
        super().__init__()

    @property
    def domain_instance(self):
        return self._catalogue_domain


@dataclass
class I18n:
    """What the app knows about languages; ``app.extensions["scenic.i18n"]``."""
    directory: Path
    languages: tuple[str, ...]
    default: str
    labels: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)   # code -> the language's name in itself


def init_app(app) -> None:
    directory = catalogue_dir(app.config.get("TRANSLATIONS_DIR"))
    languages = available_languages(directory)
    catalogues = {lang: compile_catalogue(directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po")
                  for lang in languages if lang != SOURCE_LANG}
    state = I18n(directory, languages, app.config["DEFAULT_LANG"], load_labels(),
                 {code: Locale.parse(code).get_display_name(code) for code in languages})
    app.extensions["scenic.i18n"] = state
    babel = _Babel(CatalogueDomain(catalogues))
    babel.init_app(app, default_locale=SOURCE_LANG, locale_selector=_babel_locale,
                   timezone_selector=lambda: current_app.config["TIMEZONE"])
    app.jinja_env.filters.update(money=money, number=number, day=day)
    app.jinja_env.globals.update(label=label, pick=pick, languages=language_choices,
                                 content_lang=content_lang)


def load_labels() -> dict:
    from .domains import domain_modules
    labels = {}
    for mod in domain_modules("messages"):
        for key, text in getattr(mod, "LABELS", {}).items():
            if key in labels:
                raise RuntimeError(f"label {key} defined twice")
            labels[key] = text
    return labels


def _state() -> I18n:
    return current_app.extensions["scenic.i18n"]


def languages() -> tuple[str, ...]:
    """The languages offered: English and every catalogue present."""
    return _state().languages


def _babel_locale() -> str:
    return get_lang() if has_request_context() else SOURCE_LANG


def negotiate(accept_language, languages, default: str) -> str:
    best = accept_language.best_match(languages) if accept_language else None
    return best or default


def select_lang() -> str:
    """The request's language; an unknown ``?lang=`` raises UnsupportedLanguage."""
    state = _state()
    asked = request.args.get("lang")
    if asked is not None:
        if asked not in state.languages:
            raise UnsupportedLanguage(asked)
        return asked
    cookie = request.cookies.get(COOKIE)
    if cookie in state.languages:
        return cookie
    return negotiate(request.accept_languages, state.languages, state.default)


def use_lang(lang: str) -> None:
    """Make ``lang`` the language of the rest of this request."""
    g.lang = lang
    refresh()


def remember(response, lang: str) -> None:
    """Keep the chosen language in a cookie for a year (Secure where the session is)."""
    response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])


def get_lang() -> str:
    lang = getattr(g, "lang", None)
    return lang if lang else current_app.config.get("DEFAULT_LANG", "zh")


def content_lang(lang: str | None = None) -> str:
    """The language to take bilingual content data in: the visitor's, or English for a
    language the content is not written in."""
    lang = lang or get_lang()
    return lang if lang in CONTENT_LANGS else SOURCE_LANG


def html_lang(lang: str | None = None) -> str:
    lang = lang or get_lang()
    return HTML_LANG.get(lang, lang.replace("_", "-"))


def language_choices() -> list[tuple[str, str]]:
    """(code, the language's name in itself) for every language offered."""
    state = _state()
    return [(code, state.names[code]) for code in state.languages]


def label(key: str, lang: str | None = None) -> str:
    """The text of a run-time key (``ticketing.status.paid``); unknown keys show themselves,
    so a gap is visible, not silent."""
    text = _state().labels.get(key)
    if text is None:
        return key
    return in_lang(text, lang) if lang else str(text)


def in_lang(text, lang: str) -> str:
    """A lazy message rendered in ``lang`` whatever the request's language."""
    with force_locale(lang):
        return str(text)


def pick(names: dict, lang: str | None = None) -> str:
    """Choose the text for the current language from content data {"zh": .., "en": ..};
    a language the data lacks falls back to English, then Chinese."""
    if not names:
        return ""
    lang = lang or get_lang()
    return names.get(lang) or names.get(SOURCE_LANG) or names.get("zh") or ""


def unsupported_message(asked: str) -> str:
    """The 400 for an unknown ``?lang=``: in the default language and in English, since we do
    not know which one the visitor reads."""
    state = _state()
    offered = list(dict.fromkeys((state.default, SOURCE_LANG, *state.languages)))
    parts = []
    for lang in dict.fromkeys((state.default, SOURCE_LANG)):
        with force_locale(lang):
            choices = format_list(offered, style="or", locale=lang)
            parts.append(gettext("Unsupported language '%(lang)s': choose %(choices)s.",
                                 lang=asked, choices=choices))
    return " / ".join(parts)


def money(fen: int, currency: str = "CNY") -> str:
    """A price kept in fen, in the visitor's locale (zh ¥115.00, en CN¥115.00)."""
    return format_currency(fen / 100, currency)


def number(value, digits: int | None = None) -> str:
    """A count or measure with the locale's grouping (85,500)."""
    if digits is not None:
        value = round(value, digits)
        return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""))
    return format_decimal(value)


def day(value, format: str = "medium") -> str:
    """A calendar day (a date, a datetime or 'YYYY-MM-DD') in the visitor's locale:
    2026年7月15日, Jul 15, 2026; a datetime is first put in the TIMEZONE setting."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, format)
