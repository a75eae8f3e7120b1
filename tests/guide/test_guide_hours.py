"""The guide's live answer about hours reads the catalog's hours service: entrances,
closures entered by staff and holiday rules (no model needed)."""
from datetime import datetime

from catalog import schedule
from core.clock import DEFAULT_TZ
from guide.answer import hours_answer


def test_hours_answer_names_each_entrance_and_a_closure(db, clock, make_user):
    text = hours_answer(db, "taishan", "en", clock).text
    assert "open today from 05:00 to 24:00" in text
    assert "Tianwai Village (by bus) 07:00-21:00" in text and "Tianzhu Peak (on foot) closed" in text
    schedule.add_exception(db, site_id="kongfu", place_id=None, start=clock.now().date(), end=None,
                           kind="closed", reason="防汛 Flood prevention", user=make_user("staff"),
                           clock=clock)
    zh = hours_answer(db, "kongfu", "zh", clock).text
    assert zh == "孔府今天不开放（防汛 Flood prevention）。"


def test_hours_answer_on_chuxi_gives_the_early_closing(db, clock):
    clock.set(datetime(2027, 2, 5, 15, 0, tzinfo=DEFAULT_TZ))
    text = hours_answer(db, "kongmiao", "en", clock).text
    assert "from 08:00 to 14:00" in text and "New Year's Eve" in text
    assert "not open right now" in text
