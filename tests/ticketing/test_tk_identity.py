"""The real-name verification adapter point (ticketing/identity.py): the default checks a
document's form only; an adapter for the national identity service is asked about every
holder, after every form is valid and before anything is written."""
from __future__ import annotations

from datetime import date

import pytest

from core.errors import DomainError
from testkit import resident_id
from ticketing.holders import prepare_holders
from ticketing.identity import Verification
from ticketing.products import get_product

DAY = date(2026, 7, 16)
TODAY = date(2026, 7, 15)


class ServiceDouble:
    """Stands where a national identity service adapter would (a true edge)."""
    name = "double"

    def __init__(self, answers):
        self.answers = list(answers)
        self.asked = []

    def verify(self, *, name, document_type, number):
        self.asked.append((name, document_type, number))
        return Verification(self.answers.pop(0), reference=f"tx-{len(self.asked)}")


def holders(n):
    return [{"name": f"张{i}", "document_number": resident_id()} for i in range(n)]


def test_the_default_checks_the_form_only(app, db):
    with app.app_context():
        out = prepare_holders(get_product(db, "kongmiao"), holders(2), DAY, TODAY)
    assert [h["verification"].status for h in out] == ["unverified", "unverified"]


def test_a_mismatch_names_the_holder_and_a_malformed_order_asks_nothing(app, db):
    product = get_product(db, "kongmiao")
    service = ServiceDouble(["verified", "mismatch"])
    with app.app_context(), pytest.raises(DomainError) as caught:
        prepare_holders(product, holders(2), DAY, TODAY, verifier=service)
    assert caught.value.code == "identity_mismatch" and caught.value.details == {"holder": 1}
    assert [a[1] for a in service.asked] == ["resident_id", "resident_id"]
    bad = holders(2) + [{"name": "王五", "document_number": "370102199003070000"}]
    service = ServiceDouble(["verified"] * 3)
    with app.app_context(), pytest.raises(DomainError) as caught:
        prepare_holders(product, bad, DAY, TODAY, verifier=service)
    assert caught.value.code == "id_check_digit" and service.asked == []


def test_an_unavailable_service_is_a_503_not_an_admission(app, db):
    service = ServiceDouble(["unavailable"])
    with app.app_context(), pytest.raises(DomainError) as caught:
        prepare_holders(get_product(db, "kongmiao"), holders(1), DAY, TODAY, verifier=service)
    assert caught.value.code == "identity_service_unavailable" and caught.value.status == 503
