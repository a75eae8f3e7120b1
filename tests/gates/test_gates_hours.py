"""Gates admit only in the catalog's hours: per entrance, after staff closures, online
and offline; fares that need proof are shown to the gate officer."""
from datetime import datetime, timedelta

import pytest

from catalog import schedule
from core.clock import DEFAULT_TZ
from core.errors import DomainError
from gate_client.offline import OfflineValidator
from gates import services as gates
from gates_helpers import scan
from admission.rules import Presence


def test_a_closure_entered_by_staff_denies_entry_but_lets_people_out(client, db, clock,
                                                                    make_gate, sell, make_user):
    _, tok = make_gate()
    (_t, code, _), (_t2, code2, _) = sell(n=2)
    assert scan(client, tok, code).get_json()["result"] == "allow"
    schedule.add_exception(db, site_id="kongmiao", place_id=None, start=clock.now().date(),
                           end=None, kind="hours", close_at="10:00", reason="Thunderstorm",
                           user=make_user("staff"), clock=clock)
    denied = scan(client, tok, code2).get_json()
    assert (denied["result"], denied["reason"]) == ("deny", "closed")
    assert scan(client, tok, code, direction="exit").get_json()["result"] == "allow"


def test_an_entrance_gate_keeps_its_entrance_hours(client, db, clock, make_gate, sell):
    hongmen, tok_h = gates.create_gate(db, site_id="taishan", name="Red Gate 1",
                                       direction="entry", clock=clock, place_id="hongmen")
    _, tok_t = gates.create_gate(db, site_id="taishan", name="Tianwai 1", direction="entry",
                                 clock=clock, place_id="tianwaicun")
    assert hongmen.place_id == "hongmen"
    clock.set(datetime(2026, 7, 15, 21, 30, tzinfo=DEFAULT_TZ))
    (_a, code_a, _), (_b, code_b, _) = sell(site="taishan", n=2)
    assert scan(client, tok_t, code_a).get_json()["reason"] == "closed"     # 天外村 7:00-21:00
    assert scan(client, tok_h, code_b).get_json()["result"] == "allow"      # 红门 5:00-24:00
    with pytest.raises(DomainError) as info:
        gates.create_gate(db, site_id="taishan", name="Cable", direction="entry", clock=clock,
                          place_id="zhongtianmen-cableway")
    assert info.value.code == "unknown_place"


def test_offline_gates_judge_the_bundles_entry_windows(client, db, clock, make_gate, sell,
                                                      make_user):
    _, tok = make_gate()
    (_t, code, _), = sell()
    schedule.add_exception(db, site_id="kongmiao", place_id=None, start=clock.now().date(),
                           end=None, kind="hours", close_at="10:30", reason="Fog",
                           user=make_user("staff"), clock=clock)
    bundle = client.get("/api/gate/bundle", headers={"Authorization": f"Bearer {tok}"}).get_json()
    assert bundle["entry_windows"] == [["2026-07-15T08:00:00+08:00", "2026-07-15T10:30:00+08:00"]]
    assert bundle["hours"]["close"] == "10:30"
    v = OfflineValidator(bundle)
    now = clock.now()
    assert v.validate_code(code, "entry", now, lambda _id: Presence()).result == "allow"
    late = v.validate_code(code, "entry", now + timedelta(minutes=31), lambda _id: Presence())
    assert (late.result, late.reason) == ("deny", "closed")
    # A bundle from an older server has no windows: the turnstile decides as before.
    old = {k: val for k, val in bundle.items() if k != "entry_windows"}
    assert OfflineValidator(old).validate_code(code, "entry", now + timedelta(minutes=31),
                                               lambda _id: Presence()).result == "allow"


def test_an_offline_admission_during_a_closure_is_flagged(client, db, clock, make_gate, sell,
                                                         make_user):
    _, tok = make_gate()
    (_t, code, _), = sell()
    schedule.add_exception(db, site_id="kongmiao", place_id=None, start=clock.now().date(),
                           end=None, kind="closed", reason="Rainstorm", user=make_user("staff"),
                           clock=clock)
    item = {"nonce": "n-closed-1", "code": code, "direction": "entry",
            "scanned_at": clock.now().isoformat(), "result": "allow", "reason": None}
    res = client.post("/api/gate/offline-scans", json={"scans": [item]},
                      headers={"Authorization": f"Bearer {tok}"}).get_json()
    assert res["results"][0] == {"nonce": "n-closed-1", "status": "conflict",
                                 "conflict": "rule_mismatch"}


def test_a_fare_that_needs_proof_is_shown_to_the_gate_officer(client, db, clock, make_gate,
                                                               sell):
    _, tok = make_gate()
    (_t, code, _), = sell(fare="student_half")
    body = scan(client, tok, code).get_json()
    assert body["result"] == "allow"
    assert body["ticket"]["proof"]["zh"].startswith("全日制本科及以下学历学生")
    bundle = client.get("/api/gate/bundle", headers={"Authorization": f"Bearer {tok}"}).get_json()
    assert bundle["tickets"][0]["proof"] == body["ticket"]["proof"]
    (_t, adult, _), = sell()
    assert scan(client, tok, adult).get_json()["ticket"]["proof"] is None
