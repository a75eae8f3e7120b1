"""The admission rules as pure functions (shared by the server and the offline client),
over ticketing's own GateTicket type: re-entry, multi-day validity, slot tolerance."""
from datetime import datetime, timedelta

from core.clock import DEFAULT_TZ
from admission.rules import Presence, Rules, as_datetime, decide
from ticketing.interface import GateTicket

T0 = datetime(2026, 7, 15, 10, 0, tzinfo=DEFAULT_TZ)
RULES = Rules(early_minutes=30, late_minutes=60)


def ticket(**kw):
    base = dict(id=7, version=1, product_id="taishan-standard", type_name={"zh": "泰山", "en": "Tai"},
                sites=("taishan", "daimiao"), status="valid", holder_masked="张*明",
                document_hash="h", slot_start=T0, slot_end=T0 + timedelta(hours=3),
                valid_from=T0.replace(hour=0), valid_until=T0.replace(hour=23, minute=59)
                + timedelta(days=2), reentry_allowed=False, max_entries_per_site=1)
    base.update(kw)
    return GateTicket(**base)


def run(t, steps, site="taishan"):
    """Apply (direction, at) steps to one presence; returns the reasons (None = allow)."""
    p, out = Presence(), []
    for direction, at in steps:
        reason = decide(t, site, direction, at, p, RULES)
        out.append(reason)
        if reason is None:
            if direction == "entry":
                p = Presence(p.entries + 1, True)
            else:
                p = Presence(p.entries, False)
    return out


def test_single_entry_by_default():
    t = ticket()
    assert run(t, [("entry", T0), ("entry", T0), ("exit", T0), ("entry", T0), ("exit", T0)]) == \
        [None, "already_inside", None, "used_up", "not_inside"]


def test_reentry_where_the_type_allows_it_up_to_its_limit():
    t = ticket(reentry_allowed=True, max_entries_per_site=2)
    later = T0 + timedelta(hours=6)     # re-entry is not bound to the slot window
    assert run(t, [("entry", T0), ("exit", T0), ("entry", later), ("exit", later),
                   ("entry", later)]) == [None, None, None, None, "used_up"]


def test_slot_window_with_tolerance():
    t = ticket()
    assert decide(t, "taishan", "entry", T0 - timedelta(minutes=31), Presence(), RULES) == "too_early"
    assert decide(t, "taishan", "entry", T0 - timedelta(minutes=30), Presence(), RULES) is None
    end = T0 + timedelta(hours=3)
    assert decide(t, "taishan", "entry", end + timedelta(minutes=60), Presence(), RULES) is None
    assert decide(t, "taishan", "entry", end + timedelta(minutes=61), Presence(), RULES) == "too_late"
    assert decide(t, "taishan", "entry", end + timedelta(minutes=61), Presence(),
                  Rules(30, 120)) is None


def test_multi_day_ticket_missed_slot_day_enters_later_but_not_after_validity():
    t = ticket()
    assert decide(t, "taishan", "entry", T0 + timedelta(days=1), Presence(), RULES) is None
    assert decide(t, "taishan", "entry", T0 + timedelta(days=3), Presence(), RULES) == "too_late"
    assert decide(t, "taishan", "entry", T0 - timedelta(days=1), Presence(), RULES) == "too_early"


def test_status_site_and_version():
    assert decide(ticket(status="refunded"), "taishan", "entry", T0, Presence(), RULES) == "refunded"
    assert decide(ticket(status="revoked"), "taishan", "entry", T0, Presence(), RULES) == "revoked"
    assert decide(ticket(status="pending"), "taishan", "entry", T0, Presence(), RULES) == "unknown_ticket"
    assert decide(ticket(), "kongmiao", "entry", T0, Presence(), RULES) == "wrong_site"
    assert decide(ticket(version=2), "taishan", "entry", T0, Presence(), RULES,
                  claim_version=1) == "revoked"
    assert decide(None, "taishan", "entry", T0, Presence(), RULES) == "unknown_ticket"
    # A visitor whose ticket was refunded while inside may still leave.
    assert decide(ticket(status="refunded"), "taishan", "exit", T0, Presence(1, True), RULES) is None


def test_times_in_other_offsets_and_text():
    utc = as_datetime("2026-07-15T02:00:00+00:00", DEFAULT_TZ)
    assert utc == T0 and utc.tzinfo is DEFAULT_TZ
    assert as_datetime("2026-07-15", DEFAULT_TZ) == T0.replace(hour=0)
    assert as_datetime(None, DEFAULT_TZ) is None


def test_every_deny_reason_and_conflict_kind_reads_in_both_languages(app):
    from admission.rules import REASONS
    from core.i18n import label
    with app.test_request_context("/"):
        for key in [f"gates.reason.{r}" for r in REASONS] + \
                ["gates.conflict.double_admission", "gates.conflict.rule_mismatch"]:
            zh, en = label(key, "zh"), label(key, "en")
            assert zh != key and en != key and zh != en, key
