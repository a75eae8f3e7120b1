"""Texts looked up by a key made at run time (statuses, roles, reasons...):
``core.i18n.label(key)``. The English text is the gettext msgid; translations
are in translations/<lang>/LC_MESSAGES/messages.po."""

from core.text import _l, _lp

LABELS = {
    "capacity.source.override": _l("override"),
    "capacity.source.published": _l("published"),
    "capacity.source.computed": _l("computed"),
    "capacity.source.derived": _l("derived from the daily figure"),
    "capacity.source.scaled": _l("scaled to the site's figure"),
    "capacity.method.area": _l("area"),
    "capacity.method.route": _l("route"),
    "console.hours": _l("Opening hours and closures"),
    "hours.kind.closed": _lp("hours.kind.closed", "Closed"),
    "hours.kind.hours": _l("Changed hours"),
}
