"""Texts looked up by a key made at run time (statuses, roles, reasons...):
``core.i18n.label(key)``. The English text is the gettext msgid; translations
are in translations/<lang>/LC_MESSAGES/messages.po."""

from core.text import _l, _lp

LABELS = {
    "gates.reason.invalid_code": _l("Not a valid ticket code"),
    "gates.reason.closed":
        _l("This entrance is closed now (outside its hours or closed by staff)"),
    "gates.reason.bad_signature": _l("Signature does not match (forged or altered)"),
    "gates.reason.unknown_ticket": _l("Ticket not found"),
    "gates.reason.revoked": _l("Ticket revoked"),
    "gates.reason.refunded": _l("Ticket refunded"),
    "gates.reason.wrong_site": _l("Ticket is for another site"),
    "gates.reason.too_early": _l("Too early for the booked slot"),
    "gates.reason.too_late": _l("Past the booked slot or validity"),
    "gates.reason.already_inside": _l("Already inside"),
    "gates.reason.not_inside": _l("No entry recorded for this ticket"),
    "gates.reason.used_up": _l("Ticket already used"),
    "gates.allow": _l("Welcome, go ahead"),
    "gates.proof": _l("Check the proof for"),
    "gates.deny": _l("Entry refused"),
    "gates.handheld.heading": _l("Handheld ticket check"),
    "gates.handheld.gate": _lp("gates.handheld.gate", "Gate"),
    "gates.handheld.direction": _l("Direction"),
    "gates.handheld.entry": _l("Entry"),
    "gates.handheld.exit": _l("Exit"),
    "gates.handheld.camera": _l("Scan with the camera"),
    "gates.handheld.stop": _l("Stop the camera"),
    "gates.handheld.manual": _l("Type a ticket code or ID number"),
    "gates.handheld.check": _l("Check"),
    "gates.handheld.photo": _l("Read a ticket photo or screenshot"),
    "gates.handheld.no_gates": _l("No gates registered yet: an administrator must add one first."),
    "gates.handheld.no_camera": _l("The camera is not available: type the code instead."),
    "gates.handheld.inside": _l("People inside"),
    "gates.handheld.network": _l("Network error: try again."),
    "gates.conflict.double_admission": _l("One ticket admitted twice (offline)"),
    "gates.conflict.rule_mismatch": _l("Admitted offline, the server would have refused"),
    "gates.direction.entry": _l("entry"),
    "gates.direction.exit": _l("exit"),
    "gates.direction.both": _l("both"),
}
