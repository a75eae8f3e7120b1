"""Fares as each policy words them (boundaries, published figures, rounding, seasonal
prices) and the catalog's hours in slots, the calendar, bookings and refunds."""
from datetime import date, timedelta

import pytest
import sqlite_utils

from catalog import schedule
from core.db import connect, migration_sets, migrate
from core.errors import DomainError
from tk_helpers import holder
from ticketing import orders, products, quota


def _code(book, **kw):
    with pytest.raises(DomainError) as info:
        book(**kw)
    return info.value.code


def born_years_before(day: date, years: int, days: int = 0) -> str:
    """A birth date (YYYYMMDD) that makes someone exactly ``years`` old on ``day``,
    ``days`` before the next birthday when days > 0."""
    b = day.replace(year=day.year - years) + timedelta(days=days)
    return b.strftime("%Y%m%d")


def fares_of(order):
    return [(t.fare_id, t.price_fen, t.proof_required) for t in order.tickets]


def test_mount_tai_boundaries_are_inclusive_as_worded(db, clock, book, today):
    five = holder(born=born_years_before(today, 6, days=1))     # turns 6 tomorrow
    six = holder(born=born_years_before(today, 6))              # 6 today: free, 6 (含)
    seven = holder(born=born_years_before(today, 7))            # 7 today: reduced, 6 (不含)
    eighteen = holder(born=born_years_before(today, 19, days=1))   # 18 until tomorrow: 18 (含)
    nineteen = holder(born=born_years_before(today, 19))        # 19 today: full price
    sixty = holder(born=born_years_before(today, 60))           # 60 today: free, 60 (含)
    order = book(site="taishan", product="taishan-standard",
                 holders=[five, six, seven, eighteen, nineteen])
    assert fares_of(order) == [("taishan_child", 0, False), ("taishan_child", 0, False),
                               ("taishan_minor_student", 5700, False),
                               ("taishan_minor_student", 5700, False), ("full", 11500, False)]
    assert fares_of(book(site="taishan", product="taishan-standard", holders=[sixty])) == \
        [("senior_60", 0, False)]


def test_published_figures_and_derived_prices(db, clock, book, today):
    adult = dict(fare="taishan_minor_student")    # an adult student: the student card is proof
    order = book(site="taishan", product="taishan-standard", holders=[holder(**adult)])
    assert fares_of(order) == [("taishan_minor_student", 5700, True)]     # published ¥57
    order = book(site="daimiao", product="daimiao-single", holders=[holder(**adult)])
    assert fares_of(order) == [("taishan_minor_student", 1000, True)]     # ¥20 / 2, floor
    order = book(site="taishan", product="taishan-standard",
                 holders=[holder(fare="taishan_reduced")])
    assert fares_of(order) == [("taishan_reduced", 10000, True)]          # published ¥100
    for product, fen in [("sankong-combined", 7000), ("kongmiao", 4000), ("kongfu", 3000),
                         ("konglin", 500)]:
        site = products.get_product(db, product).home_site
        o = book(site=site, product=product, holders=[holder(fare="student_half")])
        assert fares_of(o) == [("student_half", fen, True)]
    # 三孔: 1.4 m (含) children are free on proof of height, at any age.
    o = book(holders=[holder(fare="sankong_child_height")])
    assert fares_of(o) == [("sankong_child_height", 0, True)]
    # An age rule the holder's document contradicts is refused; one needing an unknown age
    # asks for the birth date.
    assert _code(book, holders=[holder(fare="senior_60")]) == "not_eligible"
    passport = {"name": "John Smith", "document_type": "passport", "document_number": "E7654321",
                "fare": "senior_60"}
    assert _code(book, holders=[passport]) == "birth_date_required"


def test_the_products_api_lists_fares_with_their_figures_and_rules(client):
    body = client.get("/api/ticketing/products?site=taishan").get_json()
    fares = {f["id"]: f for f in body["products"][0]["fares"]}
    assert fares["taishan_minor_student"]["price_fen"] == 5700
    assert fares["taishan_minor_student"]["eligibility"] == [{"age": {"gt": 6, "le": 18}},
                                                              {"document": "student_id"}]
    assert fares["taishan_child"]["eligibility"][0] == {"age": {"le": 6}}
    assert fares["taishan_child"]["proof_possible"] is True
    assert "sankong_minor" not in fares and "child_under_6" not in fares


def test_rounding_rules():
    assert products.round_price(5750, "floor_yuan") == 5700
    assert products.round_price(5750, "round_yuan") == 5800
    assert products.round_price(5750.5, "fen") == 5751


def test_seasonal_and_dated_prices_apply_on_their_days(db):
    product = products.get_product(db, "taishan-standard")
    assert products.base_price(product, date(2026, 12, 15)) == (11500, None)
    seasonal = {"start": "12-01", "end": "01-31", "price_fen": 11000, "fares_fen": {}}
    dated = {"start": "2026-08-01", "end": "2026-08-31", "price_fen": 5700,
             "fares_fen": {"taishan_minor_student": 2800}}
    p = products.Product(**{**product.__dict__, "periods": (seasonal, dated)})
    assert products.price_for(p, "full", date(2026, 12, 15)) == 11000     # wraps New Year
    assert products.price_for(p, "full", date(2027, 1, 31)) == 11000
    assert products.price_for(p, "full", date(2026, 11, 30)) == 11500
    assert products.price_for(p, "taishan_minor_student", date(2026, 8, 2)) == 2800
    assert products.price_for(p, "taishan_minor_student", date(2026, 12, 2)) == 5500  # ½, floor
    assert products.price_for(p, "taishan_minor_student", date(2026, 7, 2)) == 5700


def test_unconfirmed_and_priceless_rules_stay_off(db, ctx):
    fares = {f.id: f for f in products.list_fares(db)}
    assert not fares["sankong_minor"].enabled and not fares["analects_recitation"].enabled
    assert fares["taishan_reduced"].enabled
    with pytest.raises(DomainError) as info:
        products.set_fare_enabled(db, "child_under_6", True)     # retired: not offered again
    assert info.value.code == "unknown_fare"
    products.set_fare_enabled(db, "sankong_minor", True)
    assert products.get_product(db, "kongmiao").fares


def test_existing_tickets_keep_their_price_and_fare_through_the_migration(tmp_path, app):
    """A database made before this change (old fare rules, a ticket sold under one) is
    migrated: the old rules are retired, the ticket keeps its price and its fare's name."""
    db = connect(str(tmp_path / "old.db"))
    late = {"fares_as_published", "places_exceptions_and_zone_methods", "gate_places"}
    for mset in migration_sets():
        mset.apply(db, stop_before=late)
    old_rule = '{"max_age_exclusive": 6, "max_height_m_exclusive": 1.4, "combine": "any"}'
    db.execute("INSERT INTO tk_fares (id, kind, name_zh, name_en, rule_json, factor, "
               "products_json, confirmed, enabled, source) VALUES ('child_under_6', 'free', "
               "'6周岁以下儿童', 'Children under 6', ?, 0, '[\"taishan-standard\"]', 1, 1, 'S10')",
               [old_rule])
    db.execute("UPDATE tk_fares SET rule_json = '{\"min_age\": 60}' WHERE id = 'senior_60'")
    db.execute("INSERT INTO tk_slots (id, site_id, day, seq, start_at, end_at, quota) VALUES "
               "(1, 'taishan', '2026-07-15', 0, '2026-07-15T00:00:00+08:00', "
               "'2026-07-15T03:00:00+08:00', 10)")
    db.execute("INSERT INTO tk_orders (id, number, site_id, slot_id, day, channel, status, "
               "total_fen, created_at) VALUES (1, 'TOLD', 'taishan', 1, '2026-07-15', 'window', "
               "'paid', 0, '2026-07-14T10:00:00+08:00')")
    db.execute("INSERT INTO tk_tickets (order_id, product_id, fare_id, price_fen, site_id, "
               "sites_mask, slot_id, day, channel, holder_name_enc, holder_name_masked, "
               "document_type, document_hash, document_enc, document_masked, status, "
               "valid_from, valid_until, created_at) VALUES (1, 'taishan-standard', "
               "'child_under_6', 0, 'taishan', 3, 1, '2026-07-15', 'window', 'x', '张*', "
               "'resident_id', 'h', 'x', '3701**********1234', 'valid', "
               "'2026-07-15T00:00:00+08:00', '2026-07-17T23:59:00+08:00', "
               "'2026-07-14T10:00:00+08:00')")
    migrate(db)
    assert sqlite_utils.Database(db.conn)["tk_fares"].get("child_under_6")["retired"] == 1
    fares = {f.id: f for f in products.list_fares(db, include_retired=True)}
    assert fares["child_under_6"].retired and not fares["child_under_6"].enabled
    assert fares["senior_60"].rule == ({"age": {"ge": 60}},)       # terms refreshed
    assert fares["taishan_minor_student"].prices_fen == {"taishan-standard": 5700}
    row = db.execute("SELECT price_fen, fare_id FROM tk_tickets").fetchone()
    assert tuple(row) == (0, "child_under_6")
    assert products.fare_names(db)["child_under_6"]["en"] == "Children under 6"
    assert "child_under_6" not in [f.id for f in products.get_product(db, "taishan-standard").fares]
    db.conn.close()


# --- hours in slots, the calendar, bookings and refunds -----------------------------------

def test_slots_follow_mount_tai_entrances_and_holiday_hours(db, clock, ctx):
    slots = quota.availability(db, "taishan", date(2026, 7, 16), clock)
    assert slots[0].start.strftime("%H:%M") == "05:00" and slots[-1].end.strftime("%H:%M") == "00:00"
    chuxi = date(2027, 2, 5)
    slots = quota.ensure_slots(db, "kongmiao", chuxi, clock.tz)
    assert [r["end_at"][11:16] for r in slots][-1] == "14:00"


def close_day(db, make_user, clock, day, site="kongmiao", **kw):
    return schedule.add_exception(db, site_id=site, place_id=None, start=day, end=None,
                                  kind=kw.pop("kind", "closed"), reason=kw.pop("reason", "Storm"),
                                  user=make_user("staff"), clock=clock, **kw)


def test_a_staff_closure_closes_the_calendar_and_refuses_new_bookings(db, clock, book, today,
                                                                     make_user, client):
    tomorrow = today + timedelta(days=1)
    sold = book(day=tomorrow, channel="window")
    close_day(db, make_user, clock, tomorrow, reason="暴雨 Rainstorm")
    cal = {d["date"]: d for d in quota.calendar(db, "kongmiao", clock)}
    assert cal[tomorrow]["open"] is False and cal[tomorrow]["left"] == 0
    assert cal[tomorrow]["closed_reason"]["en"] == "暴雨 Rainstorm"
    api_days = client.get("/api/ticketing/sites/kongmiao/calendar").get_json()["days"]
    assert api_days[1] == {"date": tomorrow.isoformat(), "open": False, "left": 0,
                           "paused": False, "closed_reason": {"zh": "暴雨 Rainstorm",
                                                              "en": "暴雨 Rainstorm"}}
    assert all(s.closed and s.left == 0 for s in quota.availability(db, "kongmiao", tomorrow, clock))
    slot = sold.tickets[0].slot_id
    with pytest.raises(DomainError) as info:
        orders.create_order(db, site_id="kongmiao", day=tomorrow, slot_id=slot,
                            product_id="kongmiao", clock=clock, holders=[holder()])
    assert info.value.code == "site_closed" and info.value.details["reason"]["en"] == "暴雨 Rainstorm"
    # The ticket already sold stays valid, is shown as closed and is refundable at any time.
    view = orders.get_order(db, sold.number)
    assert view.tickets[0].closed_reason["en"] == "暴雨 Rainstorm"
    clock.set(view.tickets[0].slot_start + timedelta(minutes=30))
    refunded = orders.refund(db, sold.number, clock=clock, provider=None)
    assert refunded.status == "refunded"


def test_closing_early_closes_only_the_later_slots_and_rebooking_moves_out(db, clock, book, today,
                                                                          make_user):
    order = book(slot_index=-1, channel="window")       # 17:00-17:10 today
    close_day(db, make_user, clock, today, kind="hours", close_at="15:00", reason="Fog")
    slots = quota.availability(db, "kongmiao", today, clock)
    assert [s.closed for s in slots if s.start.hour >= 15] == [True] * 3
    assert not any(s.closed for s in slots if s.end.hour <= 15 and s.end.minute == 0)
    assert orders.get_order(db, order.number).tickets[0].closed_reason["en"] == "Fog"
    later = next(s for s in quota.availability(db, "kongmiao", today + timedelta(days=1), clock))
    clock.set(order.tickets[0].slot_start + timedelta(minutes=1))   # after its slot began
    moved = orders.rebook(db, order.number, ticket_id=order.tickets[0].id, slot_id=later.slot_id,
                          clock=clock)
    assert moved.tickets[0].slot_id == later.slot_id and moved.tickets[0].closed_reason is None


def test_without_a_closure_a_started_slot_is_not_refundable(db, clock, book, today):
    order = book(channel="window")
    clock.set(order.tickets[0].slot_start + timedelta(minutes=1))
    with pytest.raises(DomainError) as info:
        orders.refund(db, order.number, clock=clock, provider=None)
    assert info.value.code == "refund_too_late"
