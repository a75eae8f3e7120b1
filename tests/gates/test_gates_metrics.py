"""The gates' metrics move when a scan is answered or an offline upload recorded, with
bounded labels; people inside is read from the database at the scrape."""
from __future__ import annotations

from gates_helpers import scan
from test_gates_offline import offline_item, upload
from testkit import metric, scrape


def _delta(after, before, name, **labels):
    return metric(after, name, **labels) - metric(before, name, **labels)


def test_scans_allowed_and_denied_are_counted_by_result_and_reason(client, make_gate, sell):
    _, token = make_gate()
    (_t, code, _doc), = sell()
    before = scrape(client)
    assert scan(client, token, code).get_json()["result"] == "allow"
    assert scan(client, token, code).get_json()["reason"] == "already_inside"
    assert scan(client, token, "not-a-code").get_json()["result"] == "deny"
    after = scrape(client)
    scans = "scenic_gate_scans_total"
    common = dict(site="kongmiao", source="online", direction="entry")
    assert _delta(after, before, scans, **common, result="allow", reason="") == 1
    assert _delta(after, before, scans, **common, result="deny", reason="already_inside") == 1
    denied = {dict(k[1])["reason"]: v - before.get(k, 0) for k, v in after.items()
              if k[0] == scans and v != before.get(k, 0)
              and dict(k[1]) | {"reason": ""} == {**common, "result": "deny", "reason": ""}}
    assert sum(denied.values()) == 2 and set(denied) <= {"already_inside", "invalid_code",
                                                          "bad_signature"}
    assert metric(after, "scenic_gate_people_inside", site="kongmiao") == 1
    assert metric(after, "scenic_gate_people_inside", site="taishan") == 0
    assert _delta(after, before, "scenic_http_requests_total", route="/api/gate/scan",
                  method="POST", status="200") == 3


def test_offline_uploads_count_syncs_conflicts_and_bound_the_gates_reasons(client, make_gate,
                                                                        sell):
    _, online = make_gate()
    _, offline = make_gate()
    (_t, code, _doc), = sell()
    (_t2, code2, _doc2), = sell()
    assert scan(client, online, code).get_json()["result"] == "allow"
    before = scrape(client)
    items = [offline_item(code, at="2026-07-15T09:59:00+08:00"),   # already inside: conflict
             offline_item(code2, result="deny", reason="made-up reason " * 2),
             offline_item(code2, at="garbage")]
    statuses = [r["status"] for r in upload(client, offline, items).get_json()["results"]]
    assert statuses == ["conflict", "recorded", "invalid"]
    after = scrape(client)
    assert _delta(after, before, "scenic_gate_offline_syncs_total", site="kongmiao") == 1
    for status, n in (("conflict", 1), ("recorded", 1), ("invalid", 1)):
        assert _delta(after, before, "scenic_gate_offline_scans_total", site="kongmiao",
                      status=status) == n
    assert _delta(after, before, "scenic_gate_offline_conflicts_total", site="kongmiao",
                  kind="double_admission") == 1
    common = dict(site="kongmiao", source="offline", direction="entry")
    assert _delta(after, before, "scenic_gate_scans_total", **common, result="allow",
                  reason="") == 1
    # A gate's own reason text never becomes a label value.
    assert _delta(after, before, "scenic_gate_scans_total", **common, result="deny",
                  reason="other") == 1
