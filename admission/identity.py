"""Real-name documents: GB 11643-1999 resident ID numbers, passports and the
Hong Kong/Macao and Taiwan permits. Each failure is an AdmissionError whose code names the
rule that failed (also in ``details["rule"]``)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from .errors import AdmissionError
from .text import _l

# ISO 7064 MOD 11-2 as used by GB 11643-1999: weight of position i is 2^(17-i) mod 11.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# Province-level codes of GB/T 2260 (first two digits); 83 is used by the residence
# permits for Taiwan residents (830000), 81/82 by those for Hong Kong and Macao residents.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83"})

DOCUMENT_TYPES = ("resident_id", "passport", "hk_macao_permit", "taiwan_permit")
_PATTERNS = {
    "passport": re.compile(r"^[A-Z0-9]{5,20}$"),
    # 港澳居民来往内地通行证: H or M and 8 digits (older cards: 10 digits)
    "hk_macao_permit": re.compile(r"^[HM]\d{8}(\d{2})?$"),
    # 台湾居民来往大陆通行证: 8 digits (older cards: 10 characters)
    "taiwan_permit": re.compile(r"^(\d{8}|\d{10}|[A-Z0-9]{10})$"),
}


@dataclass(frozen=True)
class ResidentId:
    number: str
    region: str
    birth_date: date
    sex: str  # "male" | "female" (odd/even sequence digit)


def check_digit(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def validate_resident_id(number: str, today: date) -> ResidentId:
    """Validate a GB 11643-1999 number; AdmissionError codes: id_length, id_format,
    id_region, id_birth_date, id_check_digit."""
    n = "".join(str(number or "").split()).upper()
    if len(n) != 18:
        raise AdmissionError("id_length", _l("A resident ID number has 18 characters."),
                             details={"rule": "id_length"})
    if not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        raise AdmissionError("id_format", _l("A resident ID number is 17 digits and then a digit "
                                             "or X."), details={"rule": "id_format"})
    if n[:2] not in PROVINCES or n[2:6] == "0000" and n[:2] not in ("71", "81", "82", "83"):
        raise AdmissionError("id_region", _l("The region code (first 6 digits) is not a valid "
                                             "one."), details={"rule": "id_region"})
    try:
        born = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1900 or born > today:
        raise AdmissionError("id_birth_date", _l("The birth date in the ID number (digits 7-14) "
                                                 "is not a real past date."),
                             details={"rule": "id_birth_date"})
    if check_digit(n[:17]) != n[17]:
        raise AdmissionError("id_check_digit", _l("The last character (check digit) does not "
                                                  "match: please check the number for a typo."),
                             details={"rule": "id_check_digit"})
    return ResidentId(n, n[:6], born, "male" if int(n[16]) % 2 else "female")


def validate_document(doc_type: str, number: str, today: date) -> str:
    """The normalised number of a document of the given type, or AdmissionError."""
    if doc_type not in DOCUMENT_TYPES:
        raise AdmissionError("bad_document_type", _l("Choose a resident ID card, a passport or a "
                                                     "Hong Kong/Macao/Taiwan permit."),
                             details={"rule": "bad_document_type"})
    if doc_type == "resident_id":
        return validate_resident_id(number, today).number
    n = "".join(str(number or "").split()).upper()
    if not _PATTERNS[doc_type].match(n):
        raise AdmissionError("bad_document_number", _l("That document number has the wrong "
                                                       "format."),
                             details={"rule": "bad_document_number"})
    return n


def is_resident_id(number: str, today: date) -> bool:
    """Whether a text is a valid resident ID number (the gates' ID-card fallback)."""
    try:
        validate_resident_id(number, today)
    except AdmissionError:
        return False
    return True


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


# --- the offline gate's document digest ------------------------------------------------
# An offline bundle never holds ID numbers, nor hashes made with the server's lookup key.
# Each (site, day) has its own key, derived on the server from a root secret kept for this
# purpose alone; the bundle carries that day's key and, per ticket, scrypt(number, key).
# scrypt (memory-hard) makes every guess of a stolen bundle's owner cost the same as the
# gate's own lookup, and the per-(site, day) key makes any table of guesses useless for
# another day or site. docs/gates.md, "What a stolen bundle reveals", argues the choice.

@dataclass(frozen=True)
class DigestParams:
    """scrypt's cost: n (CPU and memory, a power of two), r (block size), p (lanes)."""
    n: int = 2 ** 10
    r: int = 8
    p: int = 1

    # Bounds a turnstile accepts from a bundle: enough for any sensible tuning, never
    # enough for a bad bundle to make a gate allocate gigabytes or spin for seconds.
    MAX_N = 2 ** 16
    MAX_R = 16
    MAX_P = 4

    def to_json(self) -> dict:
        return {"alg": "scrypt", "n": self.n, "r": self.r, "p": self.p}

    @classmethod
    def from_json(cls, data) -> "DigestParams":
        """Params from a bundle; ValueError for anything but bounded scrypt."""
        if not isinstance(data, dict) or data.get("alg") != "scrypt":
            raise ValueError("document digests: only scrypt is supported")
        n, r, p = data.get("n"), data.get("r"), data.get("p")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p)):
            raise ValueError("document digests: n, r and p must be whole numbers")
        if not (2 <= n <= cls.MAX_N and n & (n - 1) == 0 and 1 <= r <= cls.MAX_R
                and 1 <= p <= cls.MAX_P):
            raise ValueError("document digests: scrypt parameters out of bounds")
        return cls(n, r, p)


def document_digest(number: str, day_key: bytes, params: DigestParams = DigestParams()) -> str:
    """The digest an offline bundle holds for a document number at one site on one day:
    hex scrypt of the normalised number, salted with that (site, day)'s key."""
    normal = "".join(str(number or "").split()).upper()
    return hashlib.scrypt(normal.encode(), salt=day_key, n=params.n, r=params.r, p=params.p,
                          maxmem=256 * params.n * params.r * params.p + (1 << 20),
                          dklen=32).hex()
