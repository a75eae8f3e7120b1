"""Texts looked up by a key made at run time (statuses, roles, reasons...):
``core.i18n.label(key)``. The English text is the gettext msgid; translations
are in translations/<lang>/LC_MESSAGES/messages.po."""

from core.text import _l

LABELS = {
    "capacity.source.override": _l("override"),
    "capacity.source.published": _l("published"),
    "capacity.source.computed": _l("computed"),
}
