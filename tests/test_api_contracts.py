"""The whole JSON API against its own OpenAPI document (core/openapi.py), over real HTTP.

Schemathesis reads GET /api/openapi.json from the app under waitress and, for every
operation, sends the document's examples, boundary values of every field (the coverage
phase) and generated requests, valid and invalid, each with the credentials its
``security`` asks for: a staff or admin session with its CSRF token, a gate's or a
worker's bearer token, a visitor's order secret (with that order's number), or none. Every answer must be no 5xx, have a documented status and
content type, and fit its documented schema (error codes included). The app's own
contract checks (tests/conftest.py) watch the same answers from the inside.

Bounded: a fixed seed, a few generated examples per operation; the run takes about a
minute on the 2-core CI machine.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from core.auth import create_device
from crowd import cameras, workers
from gates import services as gates
from guide import services as guide
from testkit import PASSWORD, csrf_of_page, resident_id
from ticketing import orders, products, quota

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES_PER_OPERATION = 12
CONFIG = schemathesis.Config.from_dict({
    "seed": 20260715,
    "generation": {"mode": "all", "deterministic": True},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
})

CAMERA = {"id": "cam-contract", "name": "Contract camera", "site_id": "kongmiao",
          "zone_id": None, "source": "data/crowd/vtest-clip.mp4", "width": 768, "height": 576,
          "regions": [{"kind": "area", "name": "path", "capacity": 40,
                       "points": [[0, 0], [700, 0], [700, 500], [0, 500]]},
                      {"kind": "line", "name": "mid", "points": [[0, 300], [760, 300]]}]}


class Identities:
    """Who calls: sessions for staff and admin (with their CSRF tokens) and device tokens."""

    def __init__(self, app, base: str, make_user, db, clock):
        self.base = base
        self.sessions = {role: self._login(make_user(role)) for role in ("staff", "admin")}
        _gate, self.gate_token = gates.create_gate(db, site_id="kongmiao", name="Contract gate",
                                                   direction="both", clock=clock)
        worker, self.worker_token = create_device(db, username="contract-worker",
                                                  role="worker", clock=clock)
        workers.assign_cameras(db, [CAMERA["id"]], user_id=worker.id)  # tokens are bound
        self.order_number, self.order_secret = self._order(app, db, clock)
        self.anonymous = requests.Session()

    @staticmethod
    def _order(app, db, clock) -> tuple[str, str]:
        """A held order whose number and secret the visitor's operations are called with."""
        day = clock.now().date() + timedelta(days=1)
        with app.app_context():
            slot = next(s for s in quota.availability(db, "kongmiao", day, clock) if s.left)
            order = orders.create_order(db, site_id="kongmiao", day=day, slot_id=slot.slot_id,
                                        product_id=products.list_products(db, "kongmiao")[-1].id,
                                        clock=clock, holders=[{"name": "张三",
                                                               "document_number": resident_id()}])
            return order.number, orders.order_secret(db, order.number)

    def _login(self, user) -> tuple[requests.Session, str]:
        s = requests.Session()
        token = csrf_of_page(s.get(f"{self.base}/login").text)
        r = s.post(f"{self.base}/login", data={"username": user.username, "password": PASSWORD,
                                               "csrf_token": token}, allow_redirects=False)
        assert r.status_code == 302, r.text
        return s, csrf_of_page(s.get(f"{self.base}/console").text)

    def call(self, case):
        """(session, headers) for the operation's security requirement."""
        needs = {name for req in case.operation.definition.raw.get("security", [])
                 for name in req}
        if "gateToken" in needs or "workerToken" in needs:
            token = self.gate_token if "gateToken" in needs else self.worker_token
            return self.anonymous, {"Authorization": f"Bearer {token}"}
        if "orderSecret" in needs:  # the visitor's own order, by its number and secret
            case.path_parameters = {**(case.path_parameters or {}), "number": self.order_number}
            return self.anonymous, {"X-Order-Secret": self.order_secret}
        if "staffSession" in needs:
            roles = case.operation.definition.raw.get("x-roles", [])
            session, csrf = self.sessions["admin" if "admin" in roles else "staff"]
            return session, ({"X-CSRF-Token": csrf} if "csrfToken" in needs else {})
        return self.anonymous, {}


@pytest.fixture
def identities(app, live_server, make_user, db, clock):
    guide.load_content(db, clock=clock)
    guide.search_index(db, app.config["GUIDE_THREADS"])  # the encoder loads once, before
    cameras.save_camera(db, dict(CAMERA), clock=clock, create=True)
    return Identities(app, live_server, make_user, db, clock)


def _operation_tests(schema, test_func):
    """(label, test) for every operation, each test running Schemathesis' phases
    (examples, coverage, fuzzing) as its pytest plug-in would."""
    # Not schemathesis.pytest.from_fixture: its plug-in renames pytest's nodes through an
    # attribute pytest 9.2 no longer has; the tests it builds are the same.
    from schemathesis.pytest.lazy import get_all_tests
    hypothesis_settings = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
                                   derandomize=True, suppress_health_check=list(HealthCheck))
    for result in get_all_tests(schema=schema, test_func=test_func,
                                settings=hypothesis_settings, given_kwargs={}):
        operation, test = result.ok()  # a malformed document raises here
        yield operation.label, test


@pytest.mark.contracts
@pytest.mark.model  # a valid question reaches the guide's sentence encoder
@pytest.mark.timeout(900)  # about a minute alone; room for a CI machine under load
def test_every_answer_keeps_the_documented_contract(identities, live_server):
    schema = schemathesis.openapi.from_url(f"{live_server}/api/openapi.json", config=CONFIG)

    def call(case):
        session, headers = identities.call(case)
        case.call_and_validate(base_url=live_server, session=session, headers=headers,
                               checks=CHECKS, timeout=60)

    failures, labels = [], []
    for label, test in _operation_tests(schema, call):
        labels.append(label)
        try:
            test()
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all
            failures.append(f"{label}: {exc}")          # failures are reported
    assert len(labels) >= 45, labels  # every operation of the document was run
    assert not failures, "\n\n".join(failures)
