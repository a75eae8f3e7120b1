"""Products and fares: what is sold at which price, loaded from data/ticketing/products.json
(cited sources kept in the file), edited by admins, and the fare a holder gets.

A fare rule says who qualifies as a list of alternatives, each with explicit boundaries
(``{"age": {"gt": 6, "le": 18}}``, ``{"height_m": {"le": 1.4}}``, ``{"document":
"student_id"}``) exactly as the policy words them, and what they pay: free, a published
figure per product (``prices``: ¥57 for the Mount Tai ticket), or a factor with a rounding
rule for products without a published figure. Ages are decided on the server from the
holder's document on the visit day; heights and certificates are checked by the gate
officer (``proof_required``)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from admission.sites import site_mask
from core.db import immediate
from core.errors import NotFound, ValidationError
from core.text import _l

from . import repo

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "ticketing" / "products.json"
FULL_FARE = {"zh": "全价票", "en": "Full price"}
ROUNDINGS = ("fen", "floor_yuan", "round_yuan")
BOUNDS = {"gt": lambda v, b: v > b, "ge": lambda v, b: v >= b,
          "lt": lambda v, b: v < b, "le": lambda v, b: v <= b}


@dataclass(frozen=True)
class Fare:
    id: str
    kind: str                   # "free" or "discount"
    name: dict
    rule: tuple                 # alternatives (any one qualifies), see the module docstring
    factor: float | None
    products: tuple
    confirmed: bool
    enabled: bool
    source: str
    prices_fen: dict = field(default_factory=dict)   # product id -> published figure (fen)
    rounding: str = "fen"
    retired: bool = False
    notes: dict = field(default_factory=dict)        # wording, boundaries, note

    @property
    def proof_possible(self) -> bool:
        """Whether someone may qualify by something the gate officer checks."""
        return any("age" not in alt for alt in self.rule)

    def offered_for(self, product_id: str) -> bool:
        return (product_id in self.products and not self.retired and
                (self.kind == "free" or self.factor is not None or product_id in self.prices_fen))


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
    periods: tuple = ()         # seasonal or dated prices: {"start", "end", "price_fen", ...}

    @property
    def home_site(self) -> str:
        return self.sites[0]

    @property
    def sites_mask(self) -> int:
        return site_mask(self.sites)


def _covers(period: dict, day: date) -> bool:
    """"MM-DD" bounds recur every year (and may wrap past New Year); "YYYY-MM-DD" are dated."""
    start, end = period["start"], period["end"]
    if len(start) == 5:
        md = day.strftime("%m-%d")
        return start <= md <= end if start <= end else (md >= start or md <= end)
    return start <= day.isoformat() <= end


_FARE_CACHE: dict = {}  # parsed fares by their raw row; bounded below


def _fare(row) -> Fare:
    key = tuple(row)
    hit = _FARE_CACHE.get(key)
    if hit is None:
        if len(_FARE_CACHE) > 256:
            _FARE_CACHE.clear()
        rule = json.loads(row["rule_json"])
        hit = _FARE_CACHE[key] = Fare(
            row["id"], row["kind"], {"zh": row["name_zh"], "en": row["name_en"]},
            tuple(rule) if isinstance(rule, list) else (), row["factor"],
            tuple(json.loads(row["products_json"])), bool(row["confirmed"]),
            bool(row["enabled"]) and not row["retired"], row["source"],
            json.loads(row["prices_json"]), row["rounding"], bool(row["retired"]),
            json.loads(row["notes_json"]))
    return hit


def _product(row, fares=()) -> Product:
    return Product(row["id"], tuple(json.loads(row["covers_json"])),
                   {"zh": row["name_zh"], "en": row["name_en"]}, row["price_fen"],
                   row["valid_days"], row["since"], row["source"], json.loads(row["notes_json"]),
                   bool(row["active"]), tuple(f for f in fares if f.offered_for(row["id"])),
                   tuple(json.loads(row["periods_json"])))


def list_fares(db, include_retired: bool = False) -> list[Fare]:
    return [f for f in (_fare(r) for r in repo.fares(db)) if include_retired or not f.retired]


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
    """Admin edit of a product's price (fen) and whether it is on sale. Tickets already
    sold keep the price they were sold at (it is stored on each ticket)."""
    if isinstance(price_fen, bool) or not isinstance(price_fen, int) or not 0 <= price_fen <= 100_000:
        raise ValidationError("bad_price",
                              _l("A price is a whole number of fen from 0 to 100000."))
    with immediate(db):
        if repo.product(db, product_id) is None:
            raise _unknown_product()
        repo.update_product(db, product_id, price_fen, active)
    return _product(repo.product(db, product_id), list_fares(db))


def set_fare_enabled(db, fare_id: str, enabled: bool) -> None:
    """Admin switch for a fare rule (a rule without a price cannot be enabled; a retired
    one is not offered again)."""
    with immediate(db):
        row = repo.fare(db, fare_id)
        if row is None or row["retired"]:
            raise NotFound("unknown_fare", _l("There is no such fare."))
        fare = _fare(row)
        if enabled and not any(fare.offered_for(p) for p in fare.products):
            raise ValidationError("fare_has_no_price", _l("This rule has no known price."))
        repo.set_fare_enabled(db, fare_id, enabled)


def product_names(db) -> dict:
    return {r["id"]: {"zh": r["name_zh"], "en": r["name_en"]} for r in repo.products(db, False)}


def fare_names(db) -> dict:
    """Names of every fare, retired ones too (tickets sold under them keep them)."""
    return {r["id"]: {"zh": r["name_zh"], "en": r["name_en"]} for r in repo.fares(db)}


# --- a holder's fare and price ---------------------------------------------------------

def _fare_not_applicable() -> ValidationError:
    return ValidationError("unknown_fare", _l("That fare does not apply to this ticket."))


def round_price(fen: float, rounding: str) -> int:
    """A reduced price in fen under a fare's rounding rule."""
    if rounding == "floor_yuan":
        return math.floor(fen / 100 + 1e-9) * 100
    if rounding == "round_yuan":
        return math.floor(fen / 100 + 0.5) * 100
    return math.floor(fen + 0.5)


def base_price(product: Product, day: date | None) -> tuple[int, dict | None]:
    """The full price on a day: a seasonal or dated period's price where one covers the
    day, else the product's price. Returns (fen, the period or None)."""
    period = next((p for p in product.periods if day is not None and _covers(p, day)), None)
    return (period["price_fen"], period) if period else (product.price_fen, None)


def price_for(product: Product, fare_id: str, day: date | None = None) -> int:
    """What a fare costs on a day: free; a published figure (a period's own, else the
    fare's for this product); else the fare's factor of the day's full price, rounded by
    the fare's rule."""
    full, period = base_price(product, day)
    if fare_id == "full":
        return full
    fare = next((f for f in product.fares if f.id == fare_id and f.enabled), None)
    if fare is None:
        raise _fare_not_applicable()
    if fare.kind == "free":
        return 0
    fixed = (period or {}).get("fares_fen", {}).get(fare.id) if period else \
        fare.prices_fen.get(product.id)
    if fixed is not None:
        return fixed
    if fare.factor is None:
        raise _fare_not_applicable()
    return round_price(full * fare.factor, fare.rounding)


def _by_age(alt: dict, age: int | None) -> bool | None:
    """True/False when the alternative is an age test and the age is known, else None."""
    if "age" not in alt or age is None:
        return None
    return all(BOUNDS[op](age, bound) for op, bound in alt["age"].items())


def eligibility(fare: Fare, age: int | None) -> str:
    """"yes" (the document's age qualifies), "proof" (a height or certificate the gate
    officer checks), "no", or "birth_date" (only an age qualifies and none is known)."""
    if any(_by_age(alt, age) for alt in fare.rule):
        return "yes"
    if fare.proof_possible:
        return "proof"
    return "birth_date" if age is None else "no"


def choose_fare(product: Product, requested: str | None, age: int | None,
                day: date | None = None) -> tuple[str, bool]:
    """Decide a holder's fare server-side: (fare_id, proof_required). "auto" takes the
    cheapest fare the document's age qualifies for; a named fare is checked against it."""
    usable = [f for f in product.fares if f.enabled]
    if requested in (None, "", "auto"):
        best = [f for f in usable if eligibility(f, age) == "yes"]
        if not best:
            return "full", False
        return min(best, key=lambda f: (price_for(product, f.id, day), f.id)).id, False
    if requested == "full":
        return "full", False
    fare = next((f for f in usable if f.id == requested), None)
    if fare is None:
        raise _fare_not_applicable()
    verdict = eligibility(fare, age)
    if verdict == "birth_date":
        raise ValidationError("birth_date_required", _l("Give the holder's birth date for this "
                                                        "fare."))
    if verdict == "no":
        raise ValidationError("not_eligible", _l("The holder's age does not qualify for this "
                                                 "fare."))
    return fare.id, verdict == "proof"


# --- loading the data file ---------------------------------------------------------------

def _check_rule(f: dict) -> None:
    where = f"fare {f.get('id')}"
    alts = f.get("eligibility")
    if not isinstance(alts, list) or not alts:
        raise ValidationError("bad_products", f"{where}: eligibility is a list of alternatives")
    for alt in alts:
        if not isinstance(alt, dict) or len(alt) != 1:
            raise ValidationError("bad_products", f"{where}: one test per alternative")
        (kind, test), = alt.items()
        if kind in ("age", "height_m"):
            if not test or not set(test) <= set(BOUNDS):
                raise ValidationError("bad_products", f"{where}: bounds are gt/ge/lt/le")
        elif kind != "document" or not isinstance(test, str):
            raise ValidationError("bad_products", f"{where}: unknown test {kind}")
    if f.get("rounding", "fen") not in ROUNDINGS:
        raise ValidationError("bad_products", f"{where}: rounding is one of {ROUNDINGS}")


def _fen(cny) -> int:
    return int(round(cny * 100))


def product_row(p: dict, i: int) -> dict:
    return {"id": p["id"], "sites_mask": site_mask(p["covers"]),
            "covers_json": json.dumps(p["covers"]),
            "name_zh": p["name"]["zh"], "name_en": p["name"]["en"],
            "price_fen": _fen(p["price_cny"]), "valid_days": p.get("valid_days"),
            "since": p.get("since"), "source": p.get("source") or "",
            "notes_json": json.dumps(p.get("notes") or {}, ensure_ascii=False), "sort": i,
            "periods_json": json.dumps([{**q, "price_fen": _fen(q["price_cny"]),
                                         "fares_fen": {k: _fen(v) for k, v in
                                                       (q.get("fares_cny") or {}).items()}}
                                        for q in p.get("price_periods") or []],
                                       ensure_ascii=False)}


def fare_row(f: dict, i: int) -> dict:
    _check_rule(f)
    prices = {pid: _fen(v["price_cny"]) for pid, v in (f.get("prices") or {}).items()}
    factor = 0.0 if f["kind"] == "free" else f.get("factor")
    notes = {k: f[k] for k in ("wording", "boundaries", "note", "also_sources") if k in f}
    usable = f["kind"] == "free" or factor is not None or bool(prices)
    return {"id": f["id"], "kind": f["kind"], "name_zh": f["name"]["zh"],
            "name_en": f["name"]["en"], "rule_json": json.dumps(f["eligibility"]),
            "factor": factor, "products_json": json.dumps(f.get("products") or []),
            "confirmed": int(bool(f.get("confirmed"))),
            "enabled": int(bool(f.get("confirmed")) and usable),
            "source": f.get("source") or "", "sort": i,
            "prices_json": json.dumps(prices), "rounding": f.get("rounding") or "fen",
            "retired": 0, "notes_json": json.dumps(notes, ensure_ascii=False)}


def _read(data: dict | None) -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8")) if data is None else data


def load_products(db, data: dict | None = None, *, update: bool = False) -> dict:
    """Insert products and fare rules from the data file (update=True overwrites admin
    edits). Unconfirmed rules and rules without a price start disabled: they are
    assumptions. Rules no longer in the file are retired, never deleted: tickets sold
    under them keep their names."""
    data = _read(data)
    # The first (shipped) migration calls this before later ones add columns: write only
    # the columns the table has now; ``refresh_rules`` fills the rest when they arrive.
    cols = {t: repo.columns(db, t) for t in ("tk_products", "tk_fares")}
    n_products = n_fares = 0
    for i, p in enumerate(data["products"]):
        row = {k: v for k, v in product_row(p, i).items() if k in cols["tk_products"]}
        n_products += repo.upsert_row(db, "tk_products", row, update)
    for i, f in enumerate(data["fares"]):
        row = {k: v for k, v in fare_row(f, i).items() if k in cols["tk_fares"]}
        n_fares += repo.upsert_row(db, "tk_fares", row, update)
    if "retired" in cols["tk_fares"]:
        repo.retire_fares_except(db, [f["id"] for f in data["fares"]])
    return {"products": n_products, "fares": n_fares}


def refresh_rules(db, data: dict | None = None) -> None:
    """Rewrite every fare rule's terms (who, boundaries, prices, rounding, sources) and
    every product's price periods from the data file, keeping what admins edit (prices,
    on sale, enabled); add new rules and products; retire rules no longer in the file."""
    data = _read(data)
    load_products(db, data, update=False)
    for i, p in enumerate(data["products"]):
        repo.update_product_periods(db, p["id"], product_row(p, i)["periods_json"])
    for i, f in enumerate(data["fares"]):
        row = fare_row(f, i)
        repo.update_fare_terms(db, {k: v for k, v in row.items() if k != "enabled"})
