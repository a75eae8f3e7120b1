"""Products and fares: what is sold at which price, loaded from data/ticketing/products.json
(cited sources kept in the file), edited by admins, and the fare a holder gets."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from admission.sites import site_mask
from core.db import immediate
from core.errors import NotFound, ValidationError
from core.text import _l

from . import repo

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "ticketing" / "products.json"
FULL_FARE = {"zh": "全价票", "en": "Full price"}


@dataclass(frozen=True)
class Fare:
    id: str
    kind: str
    name: dict
    rule: dict
    factor: float | None
    products: tuple
    confirmed: bool
    enabled: bool
    source: str


@dataclass(frozen=True)
class Product:
    id: str
    sites: tuple
    name: dict
    price_fen: int
    valid_days: int | None
    since: str | None
    source: str
    notes: dict
    active: bool
    fares: tuple = ()

    @property
    def home_site(self) -> str:
        return self.sites[0]

    @property
    def sites_mask(self) -> int:
        return site_mask(self.sites)


_FARE_CACHE: dict = {}  # parsed fares by their raw row; bounded below


def _fare(row) -> Fare:
    key = tuple(row)
    hit = _FARE_CACHE.get(key)
    if hit is None:
        if len(_FARE_CACHE) > 256:
            _FARE_CACHE.clear()
        hit = _FARE_CACHE[key] = Fare(
            row["id"], row["kind"], {"zh": row["name_zh"], "en": row["name_en"]},
            json.loads(row["rule_json"]), row["factor"], tuple(json.loads(row["products_json"])),
            bool(row["confirmed"]), bool(row["enabled"]), row["source"])
    return hit


def _product(row, fares=()) -> Product:
    return Product(row["id"], tuple(json.loads(row["covers_json"])),
                   {"zh": row["name_zh"], "en": row["name_en"]}, row["price_fen"],
                   row["valid_days"], row["since"], row["source"], json.loads(row["notes_json"]),
                   bool(row["active"]), tuple(f for f in fares if row["id"] in f.products))


def list_fares(db) -> list[Fare]:
    return [_fare(r) for r in repo.fares(db)]


def list_products(db, site_id: str | None = None, active_only: bool = True) -> list[Product]:
    """Products (with their fares) booked at a site (the first site a product covers)."""
    fares = list_fares(db)
    out = [_product(r, fares) for r in repo.products(db, active_only)]
    return [p for p in out if site_id is None or p.home_site == site_id]


def _unknown_product() -> NotFound:
    return NotFound("unknown_product", _l("There is no such ticket type."))


def get_product(db, product_id: str) -> Product:
    row = repo.product(db, product_id) if isinstance(product_id, str) else None
    if row is None or not row["active"]:
        raise _unknown_product()
    return _product(row, list_fares(db))


def update_product(db, product_id: str, *, price_fen: int, active: bool) -> Product:
    """Admin edit of a product's price (fen) and whether it is on sale."""
    if isinstance(price_fen, bool) or not isinstance(price_fen, int) or not 0 <= price_fen <= 100_000:
        raise ValidationError("bad_price",
                              _l("A price is a whole number of fen from 0 to 100000."))
    with immediate(db):
        if repo.product(db, product_id) is None:
            raise _unknown_product()
        repo.update_product(db, product_id, price_fen, active)
    return _product(repo.product(db, product_id), list_fares(db))


def set_fare_enabled(db, fare_id: str, enabled: bool) -> None:
    """Admin switch for a fare rule (unconfirmed or factor-less rules cannot be enabled)."""
    with immediate(db):
        row = repo.fare(db, fare_id)
        if row is None:
            raise NotFound("unknown_fare", _l("There is no such fare."))
        if enabled and row["factor"] is None:
            raise ValidationError("fare_has_no_price", _l("This rule has no known price factor."))
        repo.set_fare_enabled(db, fare_id, enabled)


def product_names(db) -> dict:
    return {r["id"]: {"zh": r["name_zh"], "en": r["name_en"]} for r in repo.products(db, False)}


def fare_names(db) -> dict:
    return {r["id"]: {"zh": r["name_zh"], "en": r["name_en"]} for r in repo.fares(db)}


# --- a holder's fare and price ---------------------------------------------------------

def _fare_not_applicable() -> ValidationError:
    return ValidationError("unknown_fare", _l("That fare does not apply to this ticket."))


def price_for(product: Product, fare_id: str) -> int:
    if fare_id == "full":
        return product.price_fen
    fare = next((f for f in product.fares if f.id == fare_id and f.enabled), None)
    if fare is None:
        raise _fare_not_applicable()
    return int(round(product.price_fen * fare.factor))


def _age_test(rule: dict, age: int | None) -> bool | None:
    """True/False if the rule is decided by age, None if age does not decide it."""
    has_age = "min_age" in rule or "max_age_exclusive" in rule
    if not has_age or age is None:
        return None
    return age >= rule.get("min_age", 0) and age < rule.get("max_age_exclusive", 1000)


def choose_fare(product: Product, requested: str | None, age: int | None) -> tuple[str, bool]:
    """Decide a holder's fare server-side: (fare_id, proof_required). Age-based fares are
    checked against the document's birth date; others need proof shown at the gate."""
    usable = [f for f in product.fares if f.enabled and f.factor is not None]
    if requested in (None, "", "auto"):
        best = [f for f in usable if _age_test(f.rule, age)]
        if not best:
            return "full", False
        return min(best, key=lambda f: f.factor).id, False
    if requested == "full":
        return "full", False
    fare = next((f for f in usable if f.id == requested), None)
    if fare is None:
        raise _fare_not_applicable()
    by_age = _age_test(fare.rule, age)
    has_age = "min_age" in fare.rule or "max_age_exclusive" in fare.rule
    if by_age:
        return fare.id, False
    if has_age and age is None:
        raise ValidationError("birth_date_required", _l("Give the holder's birth date for this "
                                                        "fare."))
    others = set(fare.rule) - {"min_age", "max_age_exclusive", "combine"}
    if has_age and (not others or fare.rule.get("combine") != "any"):
        raise ValidationError("not_eligible", _l("The holder's age does not qualify for this "
                                                 "fare."))
    return fare.id, True  # height or a certificate: checked by the gate officer


# --- loading the data file ---------------------------------------------------------------

def load_products(db, data: dict | None = None, *, update: bool = False) -> dict:
    """Insert products and fare rules from the data file (update=True overwrites edits).
    Unconfirmed rules and rules without a factor start disabled: they are assumptions."""
    if data is None:
        data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    n_products = n_fares = 0
    for i, p in enumerate(data["products"]):
        row = {"id": p["id"], "sites_mask": site_mask(p["covers"]),
               "covers_json": json.dumps(p["covers"]),
               "name_zh": p["name"]["zh"], "name_en": p["name"]["en"],
               "price_fen": int(round(p["price_cny"] * 100)), "valid_days": p.get("valid_days"),
               "since": p.get("since"), "source": p.get("source") or "",
               "notes_json": json.dumps(p.get("notes") or {}, ensure_ascii=False), "sort": i}
        n_products += repo.upsert_row(db, "tk_products", row, update)
    rules = [("free", r) for r in data.get("free_rules", [])] + \
            [("discount", r) for r in data.get("discounts", [])]
    for i, (kind, r) in enumerate(rules):
        factor = 0.0 if kind == "free" else r.get("factor")
        usable = bool(r.get("confirmed")) and factor is not None
        row = {"id": r["id"], "kind": kind, "name_zh": r["name"]["zh"], "name_en": r["name"]["en"],
               "rule_json": json.dumps(r.get("rule") or {}), "factor": factor,
               "products_json": json.dumps(r.get("products") or []),
               "confirmed": int(bool(r.get("confirmed"))), "enabled": int(usable),
               "source": r.get("source") or "", "sort": i}
        n_fares += repo.upsert_row(db, "tk_fares", row, update)
    return {"products": n_products, "fares": n_fares}
