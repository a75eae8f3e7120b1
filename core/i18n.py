"""Two languages: Simplified Chinese (default) and English.

The language comes from ``?lang=`` (remembered in a cookie), then the cookie,
then Accept-Language. Message catalogs live beside each domain in
``<domain>/messages.py`` as ``MESSAGES = {key: {"zh": ..., "en": ...}}``.
"""
from __future__ import annotations

from flask import current_app, g, request

LANGS = ("zh", "en")
COOKIE = "lang"


class UnsupportedLanguage(Exception):
    def __init__(self, lang):
        super().__init__(lang)
        self.lang = lang


def load_catalog() -> dict:
    from .domains import domain_modules
    catalog = {}
    for mod in domain_modules("messages"):
        for key, value in mod.MESSAGES.items():
            if key in catalog:
                raise RuntimeError(f"message key {key} defined twice")
            catalog[key] = value
    return catalog


def negotiate(accept_language, default: str) -> str:
    best = accept_language.best_match(["zh-CN", "zh", "en", "en-US"]) if accept_language else None
    if best:
        return "zh" if best.lower().startswith("zh") else "en"
    return default


def select_lang() -> str:
    asked = request.args.get("lang")
    if asked is not None:
        if asked not in LANGS:
            raise UnsupportedLanguage(asked)
        return asked
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGS:
        return cookie
    return negotiate(request.accept_languages, current_app.config["DEFAULT_LANG"])


def remember(response, lang: str) -> None:
    """Keep the chosen language in a cookie for a year (Secure where the session is)."""
    response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])


def get_lang() -> str:
    lang = getattr(g, "lang", None)
    return lang if lang in LANGS else current_app.config.get("DEFAULT_LANG", "zh")


def t(key: str, lang: str | None = None, **params) -> str:
    """Translate a key; unknown keys show themselves so a gap is visible, not silent."""
    lang = lang or get_lang()
    entry = current_app.extensions["scenic.messages"].get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("zh") or key
    return text.format(**params) if params else text


def pick(names: dict, lang: str | None = None) -> str:
    """Choose the text for the current language from a {"zh": .., "en": ..} mapping."""
    if not names:
        return ""
    lang = lang or get_lang()
    return names.get(lang) or names.get("zh") or names.get("en") or ""
