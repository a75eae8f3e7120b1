"""Texts looked up by a key made at run time (statuses, roles, reasons...):
``core.i18n.label(key)``. The English text is the gettext msgid; translations
are in translations/<lang>/LC_MESSAGES/messages.po."""

from .text import _l, _lp

LABELS = {
    "console.capacity": _l("Capacity settings"),
    "console.tickets": _l("Tickets and slots"),
    "console.gates": _l("Ticket gates"),
    "console.crowd": _l("Crowd control room"),
    "console.guide": _lp("console.guide", "Guide content"),
    "console.accounts": _l("Accounts and devices"),
    "console.api_docs": _l("API documentation (OpenAPI)"),
    "accounts.people": _lp("accounts.people", "People"),
    "accounts.devices": _l("Devices (gates, counting workers)"),
    "role.gate": _l("gate"),
    "role.worker": _l("worker"),
    "role.admin": _l("administrator"),
    "role.staff": _l("staff"),
    "error.not_found": _l("That page does not exist."),
    "error.method_not_allowed": _l("That method is not allowed here."),
    "error.bad_request": _l("The request was malformed."),
    "error.forbidden": _l("You may not open this."),
    "error.unauthorized": _l("Please log in first."),
    "error.unsupported_media_type": _l("Unsupported content type."),
    "home.buy": _lp("home.buy", "Book tickets"),
    "home.guide": _l("Audio guide"),
}
