"""Real-name verification: the adapter point for checking a holder against the national
citizen identity database.

What the system checks itself is the document's form (``admission.identity``: for a
resident ID the GB 11643-1999 region, birth date and check digit), which proves a number is
well made, not that it exists or belongs to the named person. Checking name and number
against the Ministry of Public Security's citizen identity service (via NCIIC, 全国公民身份
证号码查询服务中心, or a licensed reseller) needs a contract, credentials and a network
path this project does not have: that is out of scope, and this module is where it plugs
in. An adapter implements ``IdentityVerifier``; ``prepare_holders`` asks it about every
holder before anything is written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.errors import DomainError, ValidationError
from core.text import _l

STATUSES = ("verified", "unverified", "mismatch", "unavailable")


@dataclass(frozen=True)
class Verification:
    """One holder's answer: ``verified`` (the service confirmed name and number),
    ``unverified`` (no service asked: the form was checked only), ``mismatch`` (the service
    says no), ``unavailable`` (the service could not answer). ``reference``: the service's
    transaction id, for the audit."""
    status: str
    reference: str = ""


class IdentityVerifier(Protocol):
    name: str

    def verify(self, *, name: str, document_type: str, number: str) -> Verification:
        """Ask the service about one holder. Must not raise for a 'no': return mismatch.
        Called before any write, once per holder; it should time out within seconds."""
        ...


class FormatOnly:
    """The default: no national check, every well-formed document is ``unverified``."""
    name = "format-only"

    def verify(self, *, name: str, document_type: str, number: str) -> Verification:
        return Verification("unverified")


FORMAT_ONLY = FormatOnly()


def verify_holder(verifier: IdentityVerifier, index: int, holder: dict) -> Verification:
    """A holder's verification, or the refusal the booking shows (naming the holder)."""
    result = verifier.verify(name=holder["name"], document_type=holder["doc_type"],
                             number=holder["number"])
    if result.status == "mismatch":
        raise ValidationError("identity_mismatch", _l("The name and document number do not match "
                                                      "the national identity records."),
                              details={"holder": index})
    if result.status == "unavailable":
        raise DomainError("identity_service_unavailable", _l("Real-name verification is not "
                                                             "available right now; please try "
                                                             "again shortly."), 503,
                          details={"holder": index})
    if result.status not in STATUSES:
        raise ValueError(f"{verifier.name}: unknown verification status {result.status!r}")
    return result
