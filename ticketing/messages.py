"""Texts looked up by a key made at run time (statuses, roles, reasons...):
``core.i18n.label(key)``. The English text is the gettext msgid; translations
are in translations/<lang>/LC_MESSAGES/messages.po."""

from core.text import _l, _lp

LABELS = {
    "ticketing.doc.resident_id": _l("Chinese resident ID card"),
    "ticketing.doc.passport": _l("Passport"),
    "ticketing.doc.hk_macao_permit": _l("Hong Kong/Macao permit"),
    "ticketing.doc.taiwan_permit": _l("Taiwan permit"),
    "ticketing.status.held": _l("Awaiting payment"),
    "ticketing.status.paid": _l("Paid"),
    "ticketing.status.expired": _l("Expired"),
    "ticketing.status.refunded": _lp("ticketing.status.refunded", "Refunded"),
    "ticketing.tstatus.pending": _l("Awaiting payment"),
    "ticketing.tstatus.valid": _lp("ticketing.tstatus.valid", "Valid"),
    "ticketing.tstatus.refunded": _lp("ticketing.tstatus.refunded", "Refunded"),
    "ticketing.tstatus.expired": _l("Expired"),
    "ticketing.refunded_done": _l("Refunded; the money goes back to where it came from."),
    "ticketing.rebooked_done": _l("Moved; a new QR code replaces the old one."),
    "ticketing.reissued_done": _l("A new QR code replaces the old one."),
}
