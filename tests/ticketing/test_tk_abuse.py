"""Issue 9's attacks on booking, each run as an attacker would, against the shipped limits
(test client = one address; X-Forwarded-For through the trusted proxy = many)."""
import re

from testkit import pow_for, resident_id
from tk_helpers import holder

from ticketing.quota import availability, set_slot_quota

DAY = "2026-07-16"


def _slot(client, site="kongmiao", day=DAY, index=3):
    slots = client.get(f"/api/ticketing/sites/{site}/availability?date={day}").get_json()["slots"]
    return slots[index]["slot_id"]


def _book(client, slot_id, holders=None, addr=None, product="kongmiao", site="kongmiao",
          day=DAY, **extra):
    headers = {"X-Forwarded-For": addr} if addr else {}
    challenge = client.get("/api/pow/challenge", headers=headers).get_json()
    from testkit import solve_pow
    body = {"site_id": site, "date": day, "slot_id": slot_id, "product_id": product,
            "holders": holders or [holder()], "altcha": solve_pow(challenge), **extra}
    return client.post("/api/ticketing/orders", json=body, headers=headers)


def _senior():
    return holder(document_number=resident_id("19500101"))


def _active_in_slot(db, slot_id):
    return db.execute("SELECT count(*) FROM tk_tickets WHERE slot_id = ? AND status IN"
                      " ('pending', 'valid')", [slot_id]).fetchone()[0]


def _refused(resp, code, status=429):
    body = resp.get_json()
    assert resp.status_code == status and body["error"] == code, body
    return body


def _retry(resp):
    body = resp.get_json()
    assert body["details"]["retry_after_s"] >= 1
    assert resp.headers["Retry-After"] == str(body["details"]["retry_after_s"])
    return body["details"]["retry_after_s"]


# --- 2. fair booking under bots ------------------------------------------------------

def test_one_script_cannot_take_a_slot_free_places(client, db, clock):
    """150 requests with made-up senior IDs (valid check digits) from one address: it gets
    the per-request limit's 10 a minute, and never more than 10 places in the slot."""
    slot_id = _slot(client)
    answers = []
    for i in range(150):
        if i and i % 10 == 0:
            clock.advance(seconds=61)   # wait out the per-minute limit, as a patient bot would
        answers.append(_book(client, slot_id, [_senior(), _senior(), _senior()]))
    got = [a for a in answers if a.status_code == 201]
    assert sum(len(a.get_json()["tickets"]) for a in got) <= 10
    assert _active_in_slot(db, slot_id) <= 10
    codes = {a.get_json()["error"] for a in answers if a.status_code != 201}
    assert codes <= {"rate_limited", "too_many_in_slot", "too_many_free_tickets"}
    assert "too_many_in_slot" in codes
    burst = [a for a in answers[10:20] if a.status_code == 429]
    assert burst and _retry(burst[-1]) > 0


def test_per_minute_limit_answers_429_with_retry_after(client, clock):
    slot_id = _slot(client)
    answers = [_book(client, slot_id) for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [201] * 10
    body = _refused(answers[10], "rate_limited")
    wait = _retry(answers[10])
    assert 1 <= wait <= 60 and body["message"].endswith(f"请在 {wait} 秒后再试。")
    en = client.post("/api/ticketing/orders?lang=en", json={}).get_json()["message"]
    assert en.startswith("Too many requests from this address. Try again in ")
    clock.advance(seconds=61)
    assert _book(client, _slot(client, index=4)).status_code == 201


def test_free_tickets_per_client_are_capped_across_slots(client, clock):
    made = 0
    for i in range(6):
        clock.advance(seconds=61)
        resp = _book(client, _slot(client, index=2 + i), [_senior(), _senior()])
        if resp.status_code == 201:
            made += 2
        else:
            _refused(resp, "too_many_free_tickets")
    assert made == 10


def test_unpaid_holds_cannot_be_renewed_for_ever(client, clock):
    """A bot that lets 15-minute holds lapse and takes them again: 20 held tickets an hour,
    40 a day, then it waits."""
    held, refusal = [], None
    for i in range(30):
        resp = _book(client, _slot(client, index=2 + i % 8), [holder(), holder(), holder()])
        if resp.status_code != 201:
            refusal = resp
            break
        held.append(clock.now())
        clock.advance(minutes=16)   # the hold lapses; take it again
    assert 3 * len(held) <= 40 and refusal is not None
    _refused(refusal, "too_many_holds")
    assert _retry(refusal) > 3600   # the day's allowance, not a minute's
    burst = [_book(client, _slot(client, index=2 + i), [holder(), holder(), holder()])
             for i in range(2)]
    assert all(b.status_code == 429 for b in burst)


def test_one_document_cannot_be_held_again_and_again(client, app, clock):
    """The same ID number, hold after lapsed hold, from ever new addresses: 5 a day, then a
    generic refusal; the next day it can book again."""
    app.config["TRUSTED_PROXY_HOPS"] = 1
    h = holder()
    outcomes = []
    for i in range(7):
        resp = _book(client, _slot(client), [h], addr=f"10.0.0.{i + 1}")
        outcomes.append(resp.get_json().get("error") or resp.status_code)
        clock.advance(minutes=16)
    assert outcomes == [201] * 5 + ["holder_unavailable"] * 2
    clock.advance(days=1)
    day = clock.now().date().isoformat()
    assert _book(client, _slot(client, day=day), [h], addr="10.0.1.1", day=day).status_code == 201


def _small_slot(app, db, clock, index: int, quota: int):
    """Slot ``index`` of tomorrow at Kongmiao with ``quota`` online places, behind one proxy."""
    app.config["TRUSTED_PROXY_HOPS"] = 1
    slot = availability(db, "kongmiao", clock.now().date().replace(day=16), clock)[index]
    set_slot_quota(db, slot.slot_id, quota=quota, window_quota=slot.window_quota, clock=clock,
                   actor="test")
    return slot


def test_unpaid_holds_take_at_most_half_a_slot(client, app, db, clock, ctx):
    slot = _small_slot(app, db, clock, 5, quota=8)
    answers = [_book(client, slot.slot_id, [holder()], addr=f"10.1.0.{i}") for i in range(1, 7)]
    assert [a.status_code for a in answers] == [201] * 4 + [409] * 2
    _refused(answers[4], "slot_busy", 409)
    # paying visitors still get the other half
    paid = _book(client, slot.slot_id, [holder()], addr="10.1.1.1")
    assert paid.status_code == 409   # unpaid again: refused; free ones are paid at once
    assert _book(client, slot.slot_id, [_senior()], addr="10.1.1.2").status_code == 201


def test_free_tickets_take_at_most_half_a_slot(client, app, db, clock, ctx):
    slot = _small_slot(app, db, clock, 6, quota=10)
    answers = [_book(client, slot.slot_id, [_senior()], addr=f"10.2.0.{i}") for i in range(1, 8)]
    assert [a.status_code for a in answers] == [201] * 5 + [409] * 2
    _refused(answers[5], "free_places_taken", 409)


def test_a_document_holds_free_tickets_on_two_future_days_at_most(client, app, clock):
    app.config["TRUSTED_PROXY_HOPS"] = 1
    h = _senior()
    days = ["2026-07-16", "2026-07-17", "2026-07-18"]
    answers = [_book(client, _slot(client, day=d), [h], addr=f"10.3.0.{i}", day=d)
               for i, d in enumerate(days, 1)]
    assert [a.status_code for a in answers] == [201, 201, 409]
    _refused(answers[2], "holder_unavailable", 409)


def test_the_answer_does_not_confirm_that_an_id_number_has_a_ticket(client, app, clock):
    """Someone else's ID number with a ticket, and a number at its booking limit, get the
    same answer, which names neither reason; probing costs the prober its refusals."""
    app.config["TRUSTED_PROXY_HOPS"] = 1
    victim = _senior()    # a free ticket: paid at once, so it stays while the bot probes
    assert _book(client, _slot(client), [victim], addr="10.4.0.1").status_code == 201
    busy = holder()
    for i in range(5):
        _book(client, _slot(client, index=2 + i), [busy], addr=f"10.4.1.{i}")
        clock.advance(minutes=16)
    clock.advance(seconds=61)
    prober = "10.4.9.9"
    has_ticket = _book(client, _slot(client, index=4), [holder(), victim], addr=prober)
    at_limit = _book(client, _slot(client, index=5), [holder(), busy], addr=prober)
    a, b = has_ticket.get_json(), at_limit.get_json()
    assert has_ticket.status_code == at_limit.status_code == 409
    assert a["error"] == b["error"] == "holder_unavailable"
    assert a["message"] == b["message"] and a["details"] == b["details"] == {"holder": 1}
    assert "already has a ticket" not in a["message"] and "holder_has_ticket" not in str(a)
    for i in range(3):
        _book(client, _slot(client, index=6 + i), [victim], addr=prober)
    _refused(_book(client, _slot(client, index=9), [holder()], addr=prober), "too_many_refusals")


def test_staff_window_still_names_the_reason(client, login, db, clock):
    from testkit import csrf_of
    login("staff")
    h = holder()
    slot_id = _slot(client)
    token = csrf_of(client)
    form = {"csrf_token": token, "site_id": "kongmiao", "date": DAY, "slot_id": slot_id,
            "product_id": "kongmiao", "holder-0-name": h["name"],
            "holder-0-document_type": "resident_id", "holder-0-document_number": h["document_number"]}
    assert client.post("/staff/tickets/window-sale", data=form).status_code == 302
    again = client.post("/staff/tickets/window-sale", data=form)
    assert again.status_code == 409 and "holder_has_ticket" in again.get_data(as_text=True)


# --- the proof of work -----------------------------------------------------------------

def _payload(client):
    return pow_for(client)


def test_proof_of_work_missing_wrong_expired_and_replayed_are_refused(client, clock):
    import base64
    import json
    slot_id = _slot(client)
    body = {"site_id": "kongmiao", "date": DAY, "slot_id": slot_id, "product_id": "kongmiao",
            "holders": [holder()]}
    post = lambda **kw: client.post("/api/ticketing/orders", json={**body, **kw})
    _refused(post(), "pow_missing", 400)
    _refused(post(altcha=""), "pow_missing", 400)
    _refused(post(altcha=12), "pow_missing", 400)
    _refused(post(altcha="bm90IGpzb24="), "pow_invalid", 400)
    good = _payload(client)
    data = json.loads(base64.b64decode(good))
    data["solution"]["derivedKey"] = "00" * 32
    _refused(post(altcha=base64.b64encode(json.dumps(data).encode()).decode()), "pow_invalid", 400)
    forged = json.loads(base64.b64decode(good))
    forged["challenge"]["parameters"]["data"]["exp"] += 10 ** 6   # a longer life: signature breaks
    _refused(post(altcha=base64.b64encode(json.dumps(forged).encode()).decode()), "pow_invalid", 400)
    _refused(post(altcha="x" * 5000), "pow_invalid", 400)
    first = post(altcha=good)
    assert first.status_code == 201
    _refused(post(altcha=good, holders=[holder()]), "pow_replayed", 400)
    late = _payload(client)
    clock.advance(seconds=601)
    _refused(post(altcha=late, holders=[holder()]), "pow_expired", 400)


def test_the_challenge_is_altcha_json_and_not_cached(client):
    resp = client.get("/api/pow/challenge")
    assert resp.headers["Cache-Control"] == "no-store"
    params = resp.get_json()["parameters"]
    assert params["algorithm"] == "SHA-256" and re.fullmatch(r"[0-9a-f]{64}", resp.get_json()["signature"])
    assert params["data"]["exp"] > 0 and params["keySignature"]


def test_a_flood_without_proof_of_work_is_rate_limited_too(client):
    slot_id = _slot(client)
    body = {"site_id": "kongmiao", "date": DAY, "slot_id": slot_id, "product_id": "kongmiao",
            "holders": [holder()], "altcha": "garbage"}
    codes = [client.post("/api/ticketing/orders", json=body).get_json()["error"]
             for _ in range(12)]
    assert codes == ["pow_invalid"] * 10 + ["rate_limited"] * 2
