"""Real-name holders of an order: names, documents (checked by admission.identity), ages
and the fare and price each gets, all decided before anything is written."""
from __future__ import annotations

from datetime import date

from admission.errors import AdmissionError
from admission.identity import DOCUMENT_TYPES, age_on, validate_document, validate_resident_id
from core import pii
from core.errors import DomainError, ValidationError
from core.text import _l

from .identity import FORMAT_ONLY, IdentityVerifier, verify_holder
from .products import Product, choose_fare, price_for
from .quota import parse_day

MAX_HOLDERS = 5
__all__ = ["DOCUMENT_TYPES", "MAX_HOLDERS", "prepare_holders"]


def _clean_name(name) -> str:
    name = " ".join(str(name or "").split())
    # Apostrophes, hyphens and the middle dot occur in real names (O'Brien, 买买提·艾力);
    # pages escape everything anyway, so only markup brackets and control characters go.
    if not 1 <= len(name) <= 40 or any(not c.isprintable() or c in "<>" for c in name):
        raise ValidationError("bad_holder_name", _l("Give the holder's name as on the document "
                                                    "(1-40 characters)."))
    return name


def _birth_date(doc_type: str, number: str, given, today: date) -> date | None:
    if doc_type == "resident_id":
        return validate_resident_id(number, today).birth_date
    if not given:
        return None
    born = parse_day(given)
    if born > today or born.year < 1900:
        raise ValidationError("bad_birth_date", _l("The birth date is not a real past date."))
    return born


def _holder(product: Product, h: dict, day: date, today: date) -> dict:
    name = _clean_name(h.get("name"))
    doc_type = str(h.get("document_type") or "resident_id")
    try:
        number = validate_document(doc_type, h.get("document_number"), today)
        born = _birth_date(doc_type, number, h.get("birth_date"), today)
    except AdmissionError as exc:
        # Callers catch DomainError (the booking page shows the form again): relay it as one.
        raise ValidationError(exc.code, exc.message, exc.status, details=exc.details) from None
    # Age in whole years (周岁) on the visit day, from the document's birth date.
    fare_id, proof = choose_fare(product, h.get("fare"), age_on(born, day) if born else None,
                                 day)
    return {"name": name, "doc_type": doc_type, "number": number,
            "doc_hash": pii.keyed_hash(number), "name_enc": pii.encrypt(name),
            "number_enc": pii.encrypt(number), "fare_id": fare_id, "proof": proof,
            "price_fen": price_for(product, fare_id, day)}


def prepare_holders(product: Product, holders, day: date, today: date,
                    verifier: IdentityVerifier = FORMAT_ONLY) -> list[dict]:
    """Validate holders before any write: documents, ages, fares and prices (server-side),
    then real-name verification by ``verifier`` (ticketing/identity.py; the default checks
    the form only). An error names the holder it is about in ``details["holder"]``."""
    if not isinstance(holders, list) or not 1 <= len(holders) <= MAX_HOLDERS:
        raise ValidationError("bad_holders", _l("Add 1 to %(max_holders)s holders.",
                                                max_holders=MAX_HOLDERS))
    out, seen = [], set()
    for i, h in enumerate(holders):
        if not isinstance(h, dict):
            raise ValidationError("bad_holders", _l("Each holder is an object."))
        try:
            holder = _holder(product, h, day, today)
        except DomainError as exc:
            exc.details = {**exc.details, "holder": i}
            raise
        if holder["doc_hash"] in seen:
            raise ValidationError("duplicate_holder", _l("The same document appears twice in "
                                                         "this order."), details={"holder": i})
        seen.add(holder["doc_hash"])
        out.append(holder)
    for i, holder in enumerate(out):
        holder["verification"] = verify_holder(verifier, i, holder)
    return out
