"""Translatable texts for code that also runs outside the web app.

``_l("There is no site '%(site_id)s'.", site_id=site_id)`` marks a message for the gettext
catalogues (its msgid is the English text) and renders it when it is shown, in the language of
the request that shows it, through Flask-Babel. It is Flask-Babel's ``lazy_gettext``, minus the
import of Flask: the admission core, which the turnstile runs on its own, must not pull
in the server (house rule 14). Outside an app, and on the turnstile, a text is English.
``_lp(context, msgid)`` is the same with a gettext context, for a short English word that
needs two translations ("Valid" as a status and as a period).
"""
from __future__ import annotations

import sys


class LazyText:
    __slots__ = ("context", "msgid", "variables")

    def __init__(self, context: str | None, msgid: str, variables: dict):
        self.context, self.msgid, self.variables = context, msgid, variables

    def __str__(self) -> str:
        babel = sys.modules.get("flask_babel")  # never imported on a gate client
        if babel is None:
            return self.msgid % self.variables if self.variables else self.msgid
        if self.context is None:
            return babel.gettext(self.msgid, **self.variables)
        return babel.pgettext(self.context, self.msgid, **self.variables)

    def __reduce__(self):
        # Picklable (errors cross to and from model worker processes); without this, pickle
        # would find __setstate__ through __getattr__ on an empty object and recurse.
        return LazyText, (self.context, self.msgid, self.variables)

    def __repr__(self) -> str:
        return f"_l({self.msgid!r})"

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __len__(self) -> int:
        return len(str(self))

    def __contains__(self, item) -> bool:
        return item in str(self)

    def __add__(self, other) -> str:
        return str(self) + str(other)

    def __radd__(self, other) -> str:
        return str(other) + str(self)

    def __getattr__(self, name):
        return getattr(str(self), name)


def _l(msgid: str, **variables) -> LazyText:
    return LazyText(None, msgid, variables)


def _lp(context: str, msgid: str, **variables) -> LazyText:
    return LazyText(context, msgid, variables)
