"""Guide content: points of interest (POIs), tours and their sources.

Every ``data/guide/*.json`` is one scenic area's file (layout in CONTENT-SCHEMA.md):
its sources, its points (kinds intro / place / practical / scene, aliases, narration
paragraphs and facts each with their own sources, a catalog zone, scene parts) and its
tours. ``load_content`` checks every file first and then copies them into the guide's
tables in one transaction, where staff may edit the texts. A reload keeps staff edits
unless forced.
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
# Source ids say their scenic area (CONTENT-SCHEMA.md); which sites lie in which area is
# the catalog's to say.
SOURCE_PREFIXES = {"mount-tai": "MT-", "sankong": "SK-"}
KINDS = ("intro", "place", "practical", "scene")
SOURCE_KINDS = ("unesco", "official", "chronicle", "paper", "encyclopedia", "news", "other")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")   # ids end up in URLs and file names
SOURCE_ID_RE = re.compile(r"^[A-Z]{2}-[A-Za-z0-9-]{1,60}$")
LIMITS = {"name": 120, "short": 1500, "paragraph": 4000, "long": 12000, "fact": 600,
          "question": 300, "facts": 40, "questions": 20, "paragraphs": 30, "aliases": 20,
          "alias": 80, "parts": 20, "part": 4000}


@dataclass(frozen=True)
class Poi:
    id: str
    site_id: str
    number: int
    name: dict
    lat: float
    lon: float
    short: dict
    paragraphs: tuple          # ({"zh", "en", "sources"}, ...) in narration order
    facts: tuple               # ({"zh", "en", "sources"}, ...)
    questions: tuple           # ({"zh", "en"}, ...)
    zone_id: str | None
    kind: str = "place"
    aliases: dict | None = None     # {"zh": [...], "en": [...]}
    scene: dict | None = None       # {"parts": [{"title", "text", "sources"}]}
    edited: bool = False
    updated_at: str = ""
    updated_by: str = ""

    @property
    def long(self) -> dict:
        """The whole narration per language, paragraphs separated by blank lines."""
        return {lang: "\n\n".join(p[lang] for p in self.paragraphs) for lang in LANGS}

    @property
    def sources(self) -> tuple:
        """Every source the point cites, in order of first citation."""
        cited = [s for block in (*self.paragraphs, *self.facts, *self.parts)
                 for s in block.get("sources", ())]
        return tuple(dict.fromkeys(cited))

    @property
    def parts(self) -> tuple:
        return tuple((self.scene or {}).get("parts") or ())


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
    sources: tuple = ()

    @property
    def total_walk_min(self) -> int:
        return sum(s.walk_min for s in self.stops)


def poi_from_row(row) -> Poi:
    keys = row.keys()
    paragraphs = tuple(json.loads(row["paragraphs_json"])) if "paragraphs_json" in keys else ()
    old_sources = json.loads(row["sources_json"]) if "sources_json" in keys else []
    if not paragraphs:
        # A row from before migration 2 keeps its long texts as one paragraph.
        paragraphs = ({"zh": row["long_zh"], "en": row["long_en"], "sources": old_sources},)
    facts = tuple({"sources": old_sources, **f} for f in json.loads(row["facts_json"]))
    scene = json.loads(row["scene_json"]) if "scene_json" in keys and row["scene_json"] else None
    aliases = json.loads(row["aliases_json"]) if "aliases_json" in keys else {}
    return Poi(id=row["id"], site_id=row["site_id"], number=row["number"],
               name={"zh": row["name_zh"], "en": row["name_en"]}, lat=row["lat"],
               lon=row["lon"], short={"zh": row["short_zh"], "en": row["short_en"]},
               paragraphs=paragraphs, facts=facts,
               questions=tuple(json.loads(row["questions_json"])), zone_id=row["zone_id"],
               kind=row["kind"] if "kind" in keys else "place",
               aliases={"zh": list(aliases.get("zh", [])), "en": list(aliases.get("en", []))},
               scene=scene, edited=bool(row["edited"]), updated_at=row["updated_at"],
               updated_by=row["updated_by"])


# --- checking the files ----------------------------------------------------------

def _bad(where: str, en: str, code: str = "bad_content"):
    # The content files are checked for the people who write them: English messages.
    return ValidationError(code, f"{where}: {en}")


def _bilingual(value, where: str, field: str, limit: int) -> dict:
    if not isinstance(value, dict):
        raise _bad(where, f"{field} must have zh and en texts.")
    out = {}
    for lang in LANGS:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise _bad(where, f"{field}.{lang} is empty.")
        if len(text) > limit:
            raise _bad(where, f"{field}.{lang} is longer than {limit} characters.")
        out[lang] = text.strip()
    return out


def check_cited(cited, known: set, where: str, *, required: bool = True) -> list[str]:
    """Source ids of a paragraph, fact or part: a list of known ids (one at least)."""
    if not isinstance(cited, list) or not all(isinstance(c, str) for c in cited):
        raise _bad(where, "sources must be a list of source ids.")
    missing = [c for c in cited if c not in known]
    if missing:
        raise _bad(where, f"unknown sources {missing}.")
    if required and not cited:
        raise _bad(where, "cite at least one source.")
    return list(dict.fromkeys(cited))


def cited_blocks(items, where: str, field: str, limit: int, known: set,
                 max_items: int) -> list[dict]:
    """Paragraphs or facts: bilingual texts, each with the sources it rests on."""
    if not isinstance(items, list) or len(items) > max_items:
        raise _bad(where, f"{field} must be a list of at most {max_items}.")
    out = []
    for i, item in enumerate(items):
        spot = f"{where} {field}[{i}]"
        text = _bilingual(item, spot, field, limit)
        out.append({**text, "sources": check_cited(item.get("sources"), known, spot)})
    return out


def check_coordinates(lat, lon, where: str) -> tuple[float, float]:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        lat = lon = math.nan
    # Both scenic areas lie in Shandong; a point elsewhere is a typo.
    if not (34.0 <= lat <= 37.5 and 115.0 <= lon <= 119.0):
        raise _bad(where, "coordinates must lie in Shandong (lat 34-37.5, lon 115-119).", code="bad_coordinates")
    return lat, lon


def _aliases(value, where: str) -> dict:
    value = value or {}
    out = {}
    for lang in LANGS:
        items = value.get(lang) or []
        if not isinstance(items, list) or len(items) > LIMITS["aliases"] or not all(
                isinstance(a, str) and 0 < len(a.strip()) <= LIMITS["alias"] for a in items):
            raise _bad(where, f"aliases.{lang} must be a list of short names.")
        out[lang] = [a.strip() for a in items]
    return out


def _scene(value, kind: str, where: str, known: set):
    if kind != "scene":
        if value:
            raise _bad(where, "only points of kind 'scene' have a scene.")
        return None
    parts = (value or {}).get("parts") if isinstance(value, dict) else None
    if not isinstance(parts, list) or not parts or len(parts) > LIMITS["parts"]:
        raise _bad(where, "a scene needs its parts, in order.")
    out = []
    for i, part in enumerate(parts):
        spot = f"{where} scene part {i + 1}"
        out.append({"title": _bilingual(part.get("title"), spot, "title", LIMITS["name"]),
                    "text": _bilingual(part.get("text"), spot, "text", LIMITS["part"]),
                    "sources": check_cited(part.get("sources"), known, spot)})
    return {"parts": out}


def _check_sources(docs: list[dict]) -> list[dict]:
    sources, seen = [], set()
    for doc in docs:
        prefix = SOURCE_PREFIXES[doc["area"]]
        for s in doc.get("sources") or []:
            sid = s.get("id") if isinstance(s, dict) else None
            where = f"source {sid!r}"
            if not isinstance(sid, str) or not SOURCE_ID_RE.match(sid) or \
                    not sid.startswith(prefix) or sid in seen:
                raise _bad(where, f"source ids are unique and start with {prefix}.")
            seen.add(sid)
            if not s.get("title") or not isinstance(s.get("url"), str) or \
                    not s["url"].startswith(("https://", "http://")):
                raise _bad(where, "every source needs a title and an http(s) url.")
            if s.get("kind") not in SOURCE_KINDS:
                raise _bad(where, f"kind must be one of {', '.join(SOURCE_KINDS)}.")
            copy_of = s.get("copy_of")
            # The original's title and publisher, as one text or as {"title", "publisher"}.
            if copy_of is not None and not ((isinstance(copy_of, str) and copy_of.strip()) or
                                            (isinstance(copy_of, dict) and copy_of.get("title"))):
                raise _bad(where, "copy_of names the original's title and publisher, or is null.")
            sources.append({"id": sid, "area": doc["area"], "title": s["title"],
                            "publisher": s.get("publisher") or "", "url": s["url"],
                            "kind": s["kind"], "accessed": s.get("accessed") or "",
                            "copy_of_json": json.dumps(copy_of, ensure_ascii=False)
                            if copy_of else None, "supports": s.get("supports") or ""})
    return sources


def _poi_row(p: dict, area: str, known: set, known_zones: dict | None,
             site_areas: dict) -> dict:
    where = f"poi {p.get('id')!r}"
    if site_areas.get(p.get("site")) != area:
        raise _bad(where, f"site {p.get('site')!r} is not in the area {area}.")
    kind = p.get("kind", "place")
    if kind not in KINDS:
        raise _bad(where, f"kind must be one of {', '.join(KINDS)}.")
    number = p.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0 or \
            (number == 0) != (kind == "intro"):
        raise _bad(where, "signpost number: 0 for the site's intro, 1, 2, 3 ... otherwise.")
    lat, lon = check_coordinates(p.get("lat"), p.get("lon"), where)
    name = _bilingual(p.get("name"), where, "name", LIMITS["name"])
    short = _bilingual(p.get("short"), where, "short", LIMITS["short"])
    paragraphs = cited_blocks(p.get("paragraphs"), where, "paragraph", LIMITS["paragraph"],
                              known, LIMITS["paragraphs"])
    if not paragraphs:
        raise _bad(where, "a point needs at least one narration paragraph.")
    facts = cited_blocks(p.get("facts") or [], where, "fact", LIMITS["fact"], known,
                         LIMITS["facts"])
    questions = [_bilingual(q, where, "question", LIMITS["question"])
                 for q in (p.get("questions") or [])[:LIMITS["questions"]]]
    zone_id = p.get("zone")
    if zone_id is not None and known_zones is not None and known_zones.get(zone_id) != p["site"]:
        raise _bad(where, f"zone {zone_id!r} is not a zone of {p['site']}.")
    scene = _scene(p.get("scene"), kind, where, known)
    return {"id": p["id"], "site_id": p["site"], "number": number, "kind": kind,
            "name_zh": name["zh"], "name_en": name["en"], "lat": lat, "lon": lon,
            "short_zh": short["zh"], "short_en": short["en"],
            "long_zh": "\n\n".join(x["zh"] for x in paragraphs),
            "long_en": "\n\n".join(x["en"] for x in paragraphs),
            "paragraphs_json": json.dumps(paragraphs, ensure_ascii=False),
            "facts_json": json.dumps(facts, ensure_ascii=False),
            "questions_json": json.dumps(questions, ensure_ascii=False),
            "aliases_json": json.dumps(_aliases(p.get("aliases"), where), ensure_ascii=False),
            "scene_json": json.dumps(scene, ensure_ascii=False) if scene else None,
            "sources_json": json.dumps(sorted({s for b in (*paragraphs, *facts) for s in
                                               b["sources"]})),
            "zone_id": zone_id}


def _tour_row(t: dict, area: str, poi_ids: set, known: set, site_areas: dict) -> dict:
    where = f"tour {t.get('id')!r}"
    if site_areas.get(t.get("site")) != area:
        raise _bad(where, f"site {t.get('site')!r} is not in the area {area}.")
    stops = []
    for s in t.get("stops") or []:
        if s.get("poi") not in poi_ids:
            raise _bad(where, f"unknown stop {s.get('poi')!r}.")
        walk = s.get("walk_min", 0)
        if not isinstance(walk, int) or walk < 0:
            raise _bad(where, "walk_min must be 0 or more.")
        stops.append({"poi": s["poi"], "walk_min": walk})
    if not stops:
        raise _bad(where, "a tour needs stops.")
    name = _bilingual(t.get("name"), where, "name", LIMITS["name"])
    desc = _bilingual(t.get("description"), where, "description", LIMITS["short"])
    sites = t.get("sites") or [t["site"]]
    if not set(sites) <= set(site_areas):
        raise _bad(where, "unknown site in sites.")
    return {"id": t["id"], "site_id": t["site"], "sites_json": json.dumps(sites),
            "name_zh": name["zh"], "name_en": name["en"], "description_zh": desc["zh"],
            "description_en": desc["en"], "stops": stops,
            "sources_json": json.dumps(check_cited(t.get("sources") or [], known, where,
                                                   required=False))}


def _unique(items, key, what: str, where=lambda item: "") -> None:
    seen = {}
    for item in items:
        k = key(item)
        if k in seen:
            raise _bad(where(item) or what, f"{what} {k!r} is used twice.")
        seen[k] = item


def validate(docs: list[dict], site_areas: dict[str, str],
             known_zones: dict[str, str] | None = None
             ) -> tuple[list[dict], list[dict], list[dict]]:
    """Check every area file before anything is written; ``site_areas`` maps each
    catalog site to its scenic area. Returns (poi rows, tours, sources) to store."""
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("area") not in SOURCE_PREFIXES:
            raise _bad("area file", f"'area' must be one of {', '.join(SOURCE_PREFIXES)}.")
    _unique(docs, lambda d: d["area"], "area")
    sources = _check_sources(docs)
    rows, tours = [], []
    for doc in docs:
        known = {s["id"] for s in sources}
        for p in doc.get("pois") or []:
            if not isinstance(p, dict) or not isinstance(p.get("id"), str) or \
                    not ID_RE.match(p["id"]):
                raise _bad(f"poi {p.get('id') if isinstance(p, dict) else p!r}",
                           "ids are lower-case letters, digits and '-'.")
            rows.append(_poi_row(p, doc["area"], known, known_zones, site_areas))
    _unique(rows, lambda r: r["id"], "poi id")
    _unique(rows, lambda r: (r["site_id"], r["number"]), "signpost number",
            lambda r: f"poi {r['id']!r}")
    # One English name per place: two places may not share one (CONTENT-SCHEMA.md).
    _unique(rows, lambda r: r["name_en"].lower(), "English name", lambda r: f"poi {r['id']!r}")
    poi_ids = {r["id"] for r in rows}
    for doc in docs:
        known = {s["id"] for s in sources}
        for t in doc.get("tours") or []:
            if not isinstance(t.get("id"), str) or not ID_RE.match(t["id"]):
                raise _bad(f"tour {t.get('id')!r}", "ids are lower-case letters, digits and '-'.")
            tours.append(_tour_row(t, doc["area"], poi_ids, known, site_areas))
    _unique(tours, lambda t: t["id"], "tour id")
    return rows, tours, sources


def read_files(data_dir: Path = DATA_DIR) -> list[dict]:
    """Every area file in ``data_dir`` (``*.json``), in name order."""
    return [json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(data_dir.glob("*.json"))]


def load_content(db, *, clock, data_dir: Path = DATA_DIR, force: bool = False,
                 docs: list | None = None) -> dict:
    """Copy points, tours and sources from the area files into the guide's tables.
    Staff-edited points keep their texts unless ``force``."""
    from catalog import interface as catalog
    docs = read_files(data_dir) if docs is None else docs
    known_zones = {z.id: z.site_id for z in catalog.list_zones(db)}
    site_areas = {s.id: s.area_id for s in catalog.list_sites(db)}
    rows, tours, sources = validate(docs, site_areas, known_zones)
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
    return {"areas": len(docs), "pois": len(rows), "tours": len(tours),
            "sources": len(sources), **counts}


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
                stops=stops, sources=tuple(json.loads(row["sources_json"] or "[]")))


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


def citations(source_ids, known: dict[str, dict]) -> list[dict]:
    """The sources behind a quoted passage, as shown to a visitor."""
    out = []
    for sid in dict.fromkeys(source_ids):
        s = known.get(sid)
        if s is not None:
            out.append({"id": sid, "title": s["title"], "publisher": s["publisher"],
                        "url": s["url"]})
    return out
