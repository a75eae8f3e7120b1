"""Guide content: points of interest (POIs), tours and their sources.

The data files in data/guide/ are the cited origin; ``load_content`` copies them into the
guide's tables, where staff may edit the text. A reload keeps staff edits unless forced.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from core.db import immediate
from core.errors import NotFound, ValidationError
from core.text import _l

from . import repo

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "guide"
LANGS = ("zh", "en")
SITE_IDS = ("taishan", "daimiao", "kongmiao", "kongfu", "konglin")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")   # ids end up in URLs and file names
LIMITS = {"name": 120, "short": 1500, "long": 12000, "fact": 600, "question": 300,
          "facts": 40, "questions": 20}


@dataclass(frozen=True)
class Poi:
    id: str
    site_id: str
    number: int
    name: dict
    lat: float
    lon: float
    short: dict
    long: dict
    facts: tuple
    questions: tuple
    sources: tuple
    zone_id: str | None
    edited: bool = False
    updated_at: str = ""
    updated_by: str = ""


@dataclass(frozen=True)
class TourStop:
    poi: Poi
    walk_min: int


@dataclass(frozen=True)
class Tour:
    id: str
    site_id: str
    sites: tuple
    name: dict
    description: dict
    stops: tuple

    @property
    def total_walk_min(self) -> int:
        return sum(s.walk_min for s in self.stops)


def poi_from_row(row) -> Poi:
    return Poi(id=row["id"], site_id=row["site_id"], number=row["number"],
               name={"zh": row["name_zh"], "en": row["name_en"]}, lat=row["lat"],
               lon=row["lon"], short={"zh": row["short_zh"], "en": row["short_en"]},
               long={"zh": row["long_zh"], "en": row["long_en"]},
               facts=tuple(json.loads(row["facts_json"])),
               questions=tuple(json.loads(row["questions_json"])),
               sources=tuple(json.loads(row["sources_json"])), zone_id=row["zone_id"],
               edited=bool(row["edited"]), updated_at=row["updated_at"],
               updated_by=row["updated_by"])


def _bilingual(value, where: str, field: str, limit: int) -> dict:
    if not isinstance(value, dict):
        raise ValidationError("bad_content", _l("%(where)s: %(field)s must have zh and en texts.",
                                                where=where, field=field))
    out = {}
    for lang in LANGS:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("bad_content", _l("%(where)s: %(field)s.%(lang)s is empty.",
                                                    where=where, field=field, lang=lang))
        if len(text) > limit:
            raise ValidationError("bad_content", _l("%(where)s: %(field)s.%(lang)s is longer "
                                                    "than %(limit)s characters.", where=where,
                                                    field=field, lang=lang, limit=limit))
        out[lang] = text.strip()
    return out


def check_coordinates(lat, lon, where: str) -> tuple[float, float]:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        lat = lon = math.nan
    # Both scenic areas lie in Shandong; a point elsewhere is a typo.
    if not (34.0 <= lat <= 37.5 and 115.0 <= lon <= 119.0):
        raise ValidationError("bad_coordinates", _l("%(where)s: coordinates must lie in Shandong "
                                                    "(lat 34-37.5, lon 115-119).", where=where))
    return lat, lon


def _checked_item(item: dict, kind: str, seen: set) -> str:
    """The item's label for messages, once its id is new and well-formed and its site known."""
    where = f"{kind} {item.get('id')!r}"
    if not isinstance(item.get("id"), str) or not ID_RE.match(item["id"]) or item["id"] in seen:
        raise ValidationError("bad_content", f"{where}: ids are unique lower-case letters, "
                              "digits and '-'.")
    seen.add(item["id"])
    if item.get("site") not in SITE_IDS:
        raise ValidationError("bad_content", f"{where}: unknown site {item.get('site')!r}.")
    return where


def validate(pois_doc: dict, tours_doc: dict, zones: dict[str, str] | None = None,
             known_zones: dict[str, str] | None = None) -> tuple[list[dict], list[dict], list]:
    """Check the data files before anything is written; returns rows to store."""
    sources = pois_doc.get("sources") or []
    source_ids = {s.get("id") for s in sources}
    for s in sources:
        if not s.get("id") or not s.get("title"):
            raise ValidationError("bad_content", "Every source needs an id and a title.")
    rows, seen, numbers = [], set(), set()
    for p in pois_doc.get("pois") or []:
        where = _checked_item(p, "poi", seen)
        number = p.get("number")
        if not isinstance(number, int) or number < 1 or (p["site"], number) in numbers:
            raise ValidationError("bad_content", f"{where}: signpost number must be a unique "
                                  "positive whole number per site.")
        numbers.add((p["site"], number))
        lat, lon = check_coordinates(p.get("lat"), p.get("lon"), where)
        name = _bilingual(p.get("name"), where, "name", LIMITS["name"])
        short = _bilingual(p.get("short"), where, "short", LIMITS["short"])
        long = _bilingual(p.get("long"), where, "long", LIMITS["long"])
        facts = [_bilingual(f, where, "fact", LIMITS["fact"]) for f in p.get("facts") or []]
        questions = [_bilingual(q, where, "question", LIMITS["question"])
                     for q in p.get("questions") or []]
        cited = list(p.get("sources") or [])
        missing = [c for c in cited if c not in source_ids]
        if missing:
            raise ValidationError("bad_content", f"{where}: unknown sources {missing}.")
        zone_id = (zones or {}).get(p["id"])
        if zone_id is not None and known_zones is not None and \
                known_zones.get(zone_id) != p["site"]:
            raise ValidationError("bad_content", f"{where}: zone {zone_id!r} is not a zone of "
                                  f"{p['site']}.")
        rows.append({"id": p["id"], "site_id": p["site"], "number": number,
                     "name_zh": name["zh"], "name_en": name["en"], "lat": lat, "lon": lon,
                     "short_zh": short["zh"], "short_en": short["en"], "long_zh": long["zh"],
                     "long_en": long["en"], "facts_json": json.dumps(facts, ensure_ascii=False),
                     "questions_json": json.dumps(questions, ensure_ascii=False),
                     "sources_json": json.dumps(cited), "zone_id": zone_id})
    tours = []
    tour_ids = set()
    for i, t in enumerate(tours_doc.get("tours") or []):
        where = _checked_item(t, "tour", tour_ids)
        stops = []
        for s in t.get("stops") or []:
            if s.get("poi") not in seen:
                raise ValidationError("bad_content", f"{where}: unknown stop {s.get('poi')!r}.")
            walk = s.get("walk_min", 0)
            if not isinstance(walk, int) or walk < 0:
                raise ValidationError("bad_content", f"{where}: walk_min must be 0 or more.")
            stops.append({"poi": s["poi"], "walk_min": walk})
        if not stops:
            raise ValidationError("bad_content", f"{where}: a tour needs stops.")
        name = _bilingual(t.get("name"), where, "name", LIMITS["name"])
        desc = _bilingual(t.get("description"), where, "description", LIMITS["short"])
        sites = t.get("sites") or [t["site"]]
        tours.append({"id": t["id"], "site_id": t["site"], "sites_json": json.dumps(sites),
                      "name_zh": name["zh"], "name_en": name["en"],
                      "description_zh": desc["zh"], "description_en": desc["en"],
                      "stops": stops})
    return rows, tours, sources


def read_files(data_dir: Path = DATA_DIR) -> tuple[dict, dict, dict]:
    def load(name, default):
        path = data_dir / name
        if not path.exists():
            return default
        return json.loads(path.read_text(encoding="utf-8"))
    zones = load("poi_zones.json", {"zones": {}}).get("zones", {})
    return load("pois.json", {"pois": []}), load("tours.json", {"tours": []}), zones


def load_content(db, *, clock, data_dir: Path = DATA_DIR, force: bool = False,
                 docs: tuple | None = None) -> dict:
    """Copy POIs, tours and sources from the data files into the guide's tables.
    Staff-edited POIs keep their text unless ``force``."""
    from catalog import interface as catalog
    pois_doc, tours_doc, zones = docs or read_files(data_dir)
    known_zones = {z.id: z.site_id for z in catalog.list_zones(db)}
    rows, tours, sources = validate(pois_doc, tours_doc, zones, known_zones)
    now = clock.now().isoformat(timespec="seconds")
    counts = {"inserted": 0, "updated": 0, "kept": 0}
    with immediate(db):
        for src in sources:
            repo.upsert_source(db, src)
        for row in rows:
            row = dict(row, edited=0, updated_at=now, updated_by="data file")
            counts[repo.upsert_poi(db, row, keep_edits=not force)] += 1
        repo.delete_tours(db)
        for i, tour in enumerate(tours):
            repo.insert_tour(db, tour, i)
    return {"pois": len(rows), "tours": len(tours), "sources": len(sources), **counts}


def list_pois(db, site_id: str | None = None) -> list[Poi]:
    return [poi_from_row(r) for r in repo.pois(db, site_id)]


def get_poi(db, poi_id: str) -> Poi:
    row = repo.poi_row(db, poi_id) if isinstance(poi_id, str) else None
    if row is None:
        raise NotFound("unknown_poi", _l("There is no point '%(poi_id)s'.", poi_id=poi_id))
    return poi_from_row(row)


def poi_by_number(db, site_id: str, number: int) -> Poi:
    row = repo.poi_by_number(db, site_id, number)
    if row is None:
        raise NotFound("unknown_number", _l("No point has signpost number %(number)s here.",
                                            number=number))
    return poi_from_row(row)


def _tour(db, row, pois: dict[str, Poi]) -> Tour:
    stops = tuple(TourStop(pois[s["poi_id"]], s["walk_min"])
                  for s in repo.tour_stops(db, row["id"]) if s["poi_id"] in pois)
    return Tour(id=row["id"], site_id=row["site_id"], sites=tuple(json.loads(row["sites_json"])),
                name={"zh": row["name_zh"], "en": row["name_en"]},
                description={"zh": row["description_zh"], "en": row["description_en"]},
                stops=stops)


def list_tours(db, site_id: str | None = None) -> list[Tour]:
    pois = {p.id: p for p in list_pois(db)}
    tours = [_tour(db, r, pois) for r in repo.tours(db)]
    if site_id is None:
        return tours
    return [t for t in tours if t.site_id == site_id or site_id in t.sites]


def get_tour(db, tour_id: str) -> Tour:
    row = repo.tour_row(db, tour_id) if isinstance(tour_id, str) else None
    if row is None:
        raise NotFound("unknown_tour", _l("There is no tour '%(tour_id)s'.", tour_id=tour_id))
    return _tour(db, row, {p.id: p for p in list_pois(db)})


def sources(db) -> dict[str, dict]:
    return {r["id"]: dict(r) for r in repo.sources(db)}
