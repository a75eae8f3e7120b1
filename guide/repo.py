"""All SQL of the guide domain (parameterised)."""
from __future__ import annotations

POI_COLUMNS = ("id", "site_id", "number", "kind", "name_zh", "name_en", "lat", "lon",
               "short_zh", "short_en", "long_zh", "long_en", "paragraphs_json", "facts_json",
               "questions_json", "aliases_json", "scene_json", "sources_json", "zone_id",
               "edited", "updated_at", "updated_by")
# Staff may edit texts (paragraphs and facts with their sources), places and zones; the
# long texts and the point's source list follow from the paragraphs.
EDITABLE = ("name_zh", "name_en", "short_zh", "short_en", "long_zh", "long_en",
            "paragraphs_json", "facts_json", "questions_json", "sources_json", "lat", "lon",
            "zone_id")
# Kept from the data file on a reload even for points staff edited.
STRUCTURAL = ("site_id", "number", "kind", "aliases_json", "scene_json")
SOURCE_COLUMNS = ("id", "area", "title", "publisher", "url", "kind", "accessed",
                  "copy_of_json", "supports")


def upsert_source(db, src: dict) -> None:
    cols = ", ".join(SOURCE_COLUMNS)
    marks = ", ".join("?" for _ in SOURCE_COLUMNS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in SOURCE_COLUMNS if c != "id")
    db.execute(f"INSERT INTO guide_sources ({cols}) VALUES ({marks}) "
               f"ON CONFLICT(id) DO UPDATE SET {sets}", [src.get(c) for c in SOURCE_COLUMNS])


def sources(db) -> list:
    return db.execute("SELECT * FROM guide_sources ORDER BY id").fetchall()


def poi_row(db, poi_id: str):
    return db.execute("SELECT * FROM guide_pois WHERE id = ?", [poi_id]).fetchone()


def poi_by_number(db, site_id: str, number: int):
    return db.execute("SELECT * FROM guide_pois WHERE site_id = ? AND number = ?",
                      [site_id, number]).fetchone()


def pois(db, site_id: str | None = None) -> list:
    if site_id is None:
        return db.execute("SELECT * FROM guide_pois ORDER BY site_id, number").fetchall()
    return db.execute("SELECT * FROM guide_pois WHERE site_id = ? ORDER BY number",
                      [site_id]).fetchall()


def upsert_poi(db, values: dict, *, keep_edits: bool) -> str:
    """Insert or update a POI from the data file. Rows staff have edited keep their text
    when ``keep_edits`` is set; returns 'inserted', 'updated' or 'kept'."""
    existing = poi_row(db, values["id"])
    if existing is None:
        cols = ", ".join(POI_COLUMNS)
        marks = ", ".join("?" for _ in POI_COLUMNS)
        db.execute(f"INSERT INTO guide_pois ({cols}) VALUES ({marks})",
                   [values[c] for c in POI_COLUMNS])
        return "inserted"
    if keep_edits and existing["edited"]:
        sets = ", ".join(f"{c} = ?" for c in STRUCTURAL)
        db.execute(f"UPDATE guide_pois SET {sets} WHERE id = ?",
                   [values[c] for c in STRUCTURAL] + [values["id"]])
        return "kept"
    sets = ", ".join(f"{c} = ?" for c in POI_COLUMNS if c != "id")
    db.execute(f"UPDATE guide_pois SET {sets} WHERE id = ?",
               [values[c] for c in POI_COLUMNS if c != "id"] + [values["id"]])
    return "updated"


def update_poi_fields(db, poi_id: str, fields: dict, *, at: str, username: str) -> None:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    sets = ", ".join(f"{c} = ?" for c in fields)
    db.execute(f"UPDATE guide_pois SET {sets}, edited = 1, updated_at = ?, updated_by = ? "
               "WHERE id = ?", list(fields.values()) + [at, username, poi_id])


def log_edit(db, *, poi_id: str, action: str, fields: str, username: str, at: str) -> None:
    db.execute("INSERT INTO guide_edits (poi_id, action, fields, username, at) "
               "VALUES (?, ?, ?, ?, ?)", [poi_id, action, fields, username, at])


def edits(db, limit: int = 50) -> list:
    return db.execute("SELECT * FROM guide_edits ORDER BY id DESC LIMIT ?", [limit]).fetchall()


def delete_tours(db, site_ids: list[str] | None = None) -> None:
    db.execute("DELETE FROM guide_tour_stops")
    db.execute("DELETE FROM guide_tours")


def insert_tour(db, tour: dict, position: int) -> None:
    db.execute(
        "INSERT INTO guide_tours (id, site_id, sites_json, name_zh, name_en, description_zh, "
        "description_en, sources_json, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [tour["id"], tour["site_id"], tour["sites_json"], tour["name_zh"], tour["name_en"],
         tour["description_zh"], tour["description_en"], tour.get("sources_json", "[]"),
         position])
    for i, stop in enumerate(tour["stops"]):
        db.execute("INSERT INTO guide_tour_stops (tour_id, position, poi_id, walk_min) "
                   "VALUES (?, ?, ?, ?)", [tour["id"], i, stop["poi"], stop["walk_min"]])


def tours(db) -> list:
    return db.execute("SELECT * FROM guide_tours ORDER BY position").fetchall()


def tour_row(db, tour_id: str):
    return db.execute("SELECT * FROM guide_tours WHERE id = ?", [tour_id]).fetchone()


def tour_stops(db, tour_id: str) -> list:
    return db.execute("SELECT * FROM guide_tour_stops WHERE tour_id = ? ORDER BY position",
                      [tour_id]).fetchall()


def recording(db, poi_id: str, lang: str):
    return db.execute("SELECT * FROM guide_recordings WHERE poi_id = ? AND lang = ?",
                      [poi_id, lang]).fetchone()


def recordings(db) -> list:
    return db.execute("SELECT * FROM guide_recordings ORDER BY poi_id, lang").fetchall()


def put_recording(db, values: dict) -> None:
    db.execute(
        "INSERT INTO guide_recordings (poi_id, lang, filename, mime, bytes, duration_s, sha256, "
        "uploaded_at, uploaded_by) VALUES (:poi_id, :lang, :filename, :mime, :bytes, "
        ":duration_s, :sha256, :uploaded_at, :uploaded_by) ON CONFLICT(poi_id, lang) DO UPDATE "
        "SET filename = excluded.filename, mime = excluded.mime, bytes = excluded.bytes, "
        "duration_s = excluded.duration_s, sha256 = excluded.sha256, "
        "uploaded_at = excluded.uploaded_at, uploaded_by = excluded.uploaded_by", values)


def delete_recording(db, poi_id: str, lang: str) -> None:
    db.execute("DELETE FROM guide_recordings WHERE poi_id = ? AND lang = ?", [poi_id, lang])


def content_version(db) -> str:
    """Changes whenever a POI, tour or recording changes (for caches)."""
    row = db.execute(
        "SELECT (SELECT count(*) || ':' || coalesce(max(updated_at), '') || ':' || "
        "coalesce(sum(length(long_zh) + length(long_en) + length(short_zh) + length(short_en) "
        "+ length(facts_json) + length(questions_json) + length(name_zh) + length(name_en) "
        "+ length(paragraphs_json) + length(aliases_json) + length(coalesce(scene_json, ''))), 0) "
        "FROM guide_pois) || '|' || (SELECT count(*) FROM guide_tour_stops) || '|' || "
        "(SELECT count(*) || ':' || coalesce(max(uploaded_at), '') FROM guide_recordings) "
        "|| '|' || (SELECT coalesce(max(id), 0) FROM guide_edits)").fetchone()
    return row[0]
