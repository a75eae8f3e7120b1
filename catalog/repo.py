"""SQL for the catalog domain."""
from __future__ import annotations

import json


def upsert_area(db, area: dict, position: int) -> None:
    db.execute("INSERT INTO areas (id, name_zh, name_en, position) VALUES (?, ?, ?, ?) "
               "ON CONFLICT(id) DO UPDATE SET name_zh = excluded.name_zh, "
               "name_en = excluded.name_en, position = excluded.position",
               [area["id"], area["name"]["zh"], area["name"]["en"], position])


def upsert_site(db, site: dict, position: int) -> None:
    pub = site.get("published_capacity") or {}
    db.execute(
        "INSERT INTO sites (id, area_id, name_zh, name_en, summary_zh, summary_en, lat, lon, "
        "hours_json, visit_hours, visit_hours_source, published_daily, published_instant, "
        "published_as_of, published_source, position, places_json, exceptions_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET area_id = excluded.area_id, name_zh = excluded.name_zh, "
        "name_en = excluded.name_en, summary_zh = excluded.summary_zh, "
        "summary_en = excluded.summary_en, lat = excluded.lat, lon = excluded.lon, "
        "hours_json = excluded.hours_json, visit_hours = excluded.visit_hours, "
        "visit_hours_source = excluded.visit_hours_source, "
        "published_daily = excluded.published_daily, "
        "published_instant = excluded.published_instant, "
        "published_as_of = excluded.published_as_of, "
        "published_source = excluded.published_source, position = excluded.position, "
        "places_json = excluded.places_json, exceptions_json = excluded.exceptions_json",
        [site["id"], site["area"], site["name"]["zh"], site["name"]["en"],
         (site.get("summary") or {}).get("zh", ""), (site.get("summary") or {}).get("en", ""),
         site.get("lat"), site.get("lon"), json.dumps(site["hours"], ensure_ascii=False),
         site["visit_hours"], str(site.get("visit_hours_source", "")),
         pub.get("daily"), pub.get("instant"), pub.get("as_of"), pub.get("source"), position,
         json.dumps(site.get("places") or [], ensure_ascii=False),
         json.dumps(site.get("exceptions") or [], ensure_ascii=False)])


def upsert_zone(db, site_id: str, zone: dict, published_instant, position: int,
                params: dict) -> None:
    db.execute(
        "INSERT INTO zones (id, site_id, name_zh, name_en, area_m2, per_visitor_m2, source, "
        "published_instant, position, method, params_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET site_id = excluded.site_id, name_zh = excluded.name_zh, "
        "name_en = excluded.name_en, area_m2 = excluded.area_m2, "
        "per_visitor_m2 = excluded.per_visitor_m2, source = excluded.source, "
        "published_instant = excluded.published_instant, position = excluded.position, "
        "method = excluded.method, params_json = excluded.params_json",
        [zone["id"], site_id, zone["name"]["zh"], zone["name"]["en"], zone["area_m2"],
         zone["per_visitor_m2"], str(zone.get("source", "")), published_instant, position,
         zone.get("method", "area"), json.dumps(params)])


def areas(db) -> list:
    return db.execute("SELECT * FROM areas ORDER BY position, id").fetchall()


def sites(db) -> list:
    return db.execute("SELECT * FROM sites ORDER BY position, id").fetchall()


def site(db, site_id: str):
    return db.execute("SELECT * FROM sites WHERE id = ?", [site_id]).fetchone()


def zones(db, site_id: str | None = None) -> list:
    if site_id is None:
        return db.execute("SELECT * FROM zones ORDER BY site_id, position, id").fetchall()
    return db.execute("SELECT * FROM zones WHERE site_id = ? ORDER BY position, id",
                      [site_id]).fetchall()


def zone(db, zone_id: str):
    return db.execute("SELECT * FROM zones WHERE id = ?", [zone_id]).fetchone()


def set_override(db, kind: str, target_id: str, field: str, value) -> None:
    table = "sites" if kind == "site" else "zones"
    column = f"override_{field}"
    db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", [value, target_id])


def log_change(db, **row) -> None:
    db.execute(
        "INSERT INTO capacity_changes (target_kind, target_id, field, old_value, new_value, "
        "reason, user_id, username, at) VALUES (:target_kind, :target_id, :field, :old_value, "
        ":new_value, :reason, :user_id, :username, :at)", row)


def changes(db, limit: int = 100) -> list:
    return db.execute("SELECT * FROM capacity_changes ORDER BY id DESC LIMIT ?",
                      [limit]).fetchall()


# --- exceptions to the opening hours entered by staff ----------------------------------

def insert_exception(db, **row) -> int:
    cur = db.execute(
        "INSERT INTO hours_exceptions (site_id, place_id, start_day, end_day, kind, open, "
        "close, last_entry, reason, created_by, created_user_id, created_at) VALUES "
        "(:site_id, :place_id, :start_day, :end_day, :kind, :open, :close, :last_entry, "
        ":reason, :created_by, :created_user_id, :created_at)", row)
    return cur.lastrowid


def exception(db, exception_id: int):
    return db.execute("SELECT * FROM hours_exceptions WHERE id = ?", [exception_id]).fetchone()


def exceptions_between(db, site_id: str | None, first: str, last: str,
                       include_lifted: bool = False) -> list:
    """Exceptions that touch the days first..last (ISO dates), oldest first."""
    sql = "SELECT * FROM hours_exceptions WHERE start_day <= ? AND end_day >= ?"
    args = [last, first]
    if site_id is not None:
        sql += " AND site_id = ?"
        args.append(site_id)
    if not include_lifted:
        sql += " AND lifted_at IS NULL"
    return db.execute(sql + " ORDER BY id", args).fetchall()


def lift_exception(db, exception_id: int, username: str, reason: str, at: str) -> None:
    db.execute("UPDATE hours_exceptions SET lifted_at = ?, lifted_by = ?, lift_reason = ? "
               "WHERE id = ?", [at, username, reason, exception_id])


def log_hours(db, **row) -> None:
    db.execute("INSERT INTO hours_log (exception_id, action, site_id, detail, reason, user_id, "
               "username, at) VALUES (:exception_id, :action, :site_id, :detail, :reason, "
               ":user_id, :username, :at)", row)


def hours_log(db, limit: int = 100) -> list:
    return db.execute("SELECT * FROM hours_log ORDER BY id DESC LIMIT ?", [limit]).fetchall()
