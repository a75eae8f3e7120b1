"""Products and fares from data/ticketing/products.json (cited sources kept in the file)."""
from __future__ import annotations

import json
from pathlib import Path

from . import codes, repo

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "ticketing" / "products.json"


def _mask(sites) -> int:
    return sum(1 << codes.SITE_ORDER.index(s) for s in sites)


def load_products(db, data: dict | None = None, *, update: bool = False) -> dict:
    """Insert products and fare rules from the data file (update=True overwrites edits).
    Unconfirmed rules and rules without a factor start disabled: they are assumptions."""
    if data is None:
        data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    n_products = n_fares = 0
    for i, p in enumerate(data["products"]):
        row = {"id": p["id"], "sites_mask": _mask(p["covers"]), "covers_json": json.dumps(p["covers"]),
               "name_zh": p["name"]["zh"], "name_en": p["name"]["en"],
               "price_fen": int(round(p["price_cny"] * 100)), "valid_days": p.get("valid_days"),
               "since": p.get("since"), "source": p.get("source") or "",
               "notes_json": json.dumps(p.get("notes") or {}, ensure_ascii=False), "sort": i}
        n_products += repo.upsert_product(db, row, update)
    rules = [("free", r) for r in data.get("free_rules", [])] + \
            [("discount", r) for r in data.get("discounts", [])]
    for i, (kind, r) in enumerate(rules):
        factor = 0.0 if kind == "free" else r.get("factor")
        usable = bool(r.get("confirmed")) and factor is not None
        source = r.get("source") or ""
        row = {"id": r["id"], "kind": kind, "name_zh": r["name"]["zh"], "name_en": r["name"]["en"],
               "rule_json": json.dumps(r.get("rule") or {}), "factor": factor,
               "products_json": json.dumps(r.get("products") or []),
               "confirmed": int(bool(r.get("confirmed"))), "enabled": int(usable),
               "source": source, "sort": i}
        n_fares += repo.upsert_fare(db, row, update)
    return {"products": n_products, "fares": n_fares}
