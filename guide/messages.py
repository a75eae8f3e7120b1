"""Texts looked up by a key made at run time (statuses, roles, reasons...):
``core.i18n.label(key)``. The English text is the gettext msgid; translations
are in translations/<lang>/LC_MESSAGES/messages.po."""

from core.text import _l, _lp

LABELS = {
    "guide.choose_site": _l("Choose a site"),
    "guide.level.normal": _l("Comfortable"),
    "guide.level.notice": _l("Busy"),
    "guide.level.warning": _l("Crowded"),
    "guide.level.critical": _l("Very crowded"),
    "guide.level.unknown": _lp("guide.level.unknown", "No data"),
    "guide.offline_save": _l("Save this site for offline use (pages and audio)"),
    "guide.offline_saving": _l("Saving %(done)s/%(total)s…"),
    "guide.offline_ready": _l("Offline pack ready: pages and audio work without signal."),
    "guide.offline_failed": _l("The offline pack did not finish; try again with signal."),
    "guide.offline_unsupported": _l("This browser does not support offline packs."),
}
