"""Texts looked up by a key made at run time (statuses, roles, reasons...):
``core.i18n.label(key)``. The English text is the gettext msgid; translations
are in translations/<lang>/LC_MESSAGES/messages.po."""

from core.text import _l, _lp

LABELS = {
    "guide.level.normal": _l("Comfortable"),
    "guide.level.notice": _l("Busy"),
    "guide.level.warning": _l("Crowded"),
    "guide.level.critical": _l("Very crowded"),
    "guide.level.unknown": _lp("guide.level.unknown", "No data"),
}
