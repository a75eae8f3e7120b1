"""SQL of the crowd domain (parameterised; callers hold the transactions)."""
from __future__ import annotations

import json

CAMERA_FIELDS = ("id", "name", "site_id", "zone_id", "source", "width", "height", "tile_rows",
                 "tile_cols", "tile_overlap", "full_frame", "inertia", "enabled", "detect_every")


# --- cameras and regions ---------------------------------------------------------

def cameras(db, site_id: str | None = None, enabled_only: bool = False):
    sql, args = "SELECT * FROM crowd_cameras WHERE 1 = 1", []
    if site_id is not None:
        sql += " AND site_id = ?"
        args.append(site_id)
    if enabled_only:
        sql += " AND enabled = 1"
    return db.execute(sql + " ORDER BY site_id, id", args).fetchall()


def camera(db, camera_id: str):
    return db.execute("SELECT * FROM crowd_cameras WHERE id = ?", [camera_id]).fetchone()


def insert_camera(db, values: dict, at: str) -> None:
    cols = ", ".join(CAMERA_FIELDS)
    marks = ", ".join("?" for _ in CAMERA_FIELDS)
    db.execute(f"INSERT INTO crowd_cameras ({cols}, created_at, updated_at) "
               f"VALUES ({marks}, ?, ?)", [values[k] for k in CAMERA_FIELDS] + [at, at])


def touch_camera(db, camera_id: str, at: str) -> None:
    db.execute("UPDATE crowd_cameras SET updated_at = ? WHERE id = ?", [at, camera_id])


def update_camera(db, values: dict, at: str) -> None:
    sets = ", ".join(f"{k} = ?" for k in CAMERA_FIELDS if k != "id")
    db.execute(f"UPDATE crowd_cameras SET {sets}, updated_at = ? WHERE id = ?",
               [values[k] for k in CAMERA_FIELDS if k != "id"] + [at, values["id"]])


def delete_camera(db, camera_id: str) -> None:
    db.execute("DELETE FROM crowd_cameras WHERE id = ?", [camera_id])


def regions(db, camera_id: str):
    return db.execute("SELECT * FROM crowd_regions WHERE camera_id = ? ORDER BY kind, name",
                      [camera_id]).fetchall()


def replace_regions(db, camera_id: str, rows: list[dict]) -> None:
    db.execute("DELETE FROM crowd_regions WHERE camera_id = ?", [camera_id])
    for r in rows:
        db.execute("INSERT INTO crowd_regions (camera_id, kind, name, points_json, capacity) "
                   "VALUES (?, ?, ?, ?, ?)",
                   [camera_id, r["kind"], r["name"], json.dumps(r["points"]), r.get("capacity")])


# --- which cameras a worker device may report for ---------------------------------

def worker_may_report(db, user_id: int, camera_id: str) -> bool:
    return db.execute("SELECT 1 FROM crowd_worker_cameras WHERE user_id = ? AND camera_id = ?",
                      [user_id, camera_id]).fetchone() is not None


def worker_camera_ids(db, user_id: int) -> list[str]:
    return [r[0] for r in db.execute("SELECT camera_id FROM crowd_worker_cameras "
                                     "WHERE user_id = ? ORDER BY camera_id", [user_id])]


def camera_workers(db) -> dict[str, list[int]]:
    """camera id -> worker user ids."""
    out: dict[str, list[int]] = {}
    for r in db.execute("SELECT camera_id, user_id FROM crowd_worker_cameras "
                        "ORDER BY camera_id, user_id"):
        out.setdefault(r[0], []).append(r[1])
    return out


def set_worker_cameras(db, user_id: int, camera_ids: list[str]) -> None:
    db.execute("DELETE FROM crowd_worker_cameras WHERE user_id = ?", [user_id])
    for camera_id in camera_ids:
        db.execute("INSERT INTO crowd_worker_cameras (user_id, camera_id) VALUES (?, ?)",
                   [user_id, camera_id])


# --- observations and history ----------------------------------------------------

def insert_observation(db, *, camera_id, ts, at, status, people, counted, areas, lines,
                       dropped, fps) -> None:
    db.execute("INSERT INTO crowd_observations (camera_id, ts, at, status, people, counted, "
               "areas_json, lines_json, dropped, fps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [camera_id, ts, at, status, people, counted, json.dumps(areas),
                json.dumps(lines), dropped, fps])


def add_rollup(db, *, camera_id, minute, counted, ins, outs) -> None:
    db.execute("INSERT INTO crowd_rollups (camera_id, minute, samples, counted_sum, counted_max, "
               "ins, outs) VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT(camera_id, minute) DO UPDATE "
               "SET samples = samples + 1, counted_sum = counted_sum + excluded.counted_sum, "
               "counted_max = max(counted_max, excluded.counted_max), "
               "ins = ins + excluded.ins, outs = outs + excluded.outs",
               [camera_id, minute, counted, counted, ins, outs])


def add_crossings_only(db, *, camera_id, minute, ins, outs) -> None:
    """Crossings reported while the people count is unknown still count as flow."""
    db.execute("INSERT INTO crowd_rollups (camera_id, minute, samples, counted_sum, counted_max, "
               "ins, outs) VALUES (?, ?, 0, 0, 0, ?, ?) ON CONFLICT(camera_id, minute) DO UPDATE "
               "SET ins = ins + excluded.ins, outs = outs + excluded.outs",
               [camera_id, minute, ins, outs])


def prune_history(db, *, camera_id: str, raw_before: float, rollup_before: int,
                  max_raw_per_camera: int) -> None:
    db.execute("DELETE FROM crowd_observations WHERE camera_id = ? AND ts < ?",
               [camera_id, raw_before])
    db.execute("DELETE FROM crowd_rollups WHERE camera_id = ? AND minute < ?",
               [camera_id, rollup_before])
    # A hard cap too, so a worker posting too often cannot grow the table without bound.
    db.execute("DELETE FROM crowd_observations WHERE camera_id = ? AND id <= (SELECT id FROM "
               "crowd_observations WHERE camera_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
               [camera_id, camera_id, max_raw_per_camera])


def raw_count(db, camera_id: str) -> int:
    return db.execute("SELECT count(*) FROM crowd_observations WHERE camera_id = ?",
                      [camera_id]).fetchone()[0]


def recent_observations(db, camera_ids: list[str], since: float):
    if not camera_ids:
        return []
    marks = ", ".join("?" for _ in camera_ids)
    return db.execute(f"SELECT camera_id, ts, status, counted FROM crowd_observations "
                      f"WHERE camera_id IN ({marks}) AND ts >= ? ORDER BY ts",
                      [*camera_ids, since]).fetchall()


def rollups(db, camera_ids: list[str], since_minute: int):
    if not camera_ids:
        return []
    marks = ", ".join("?" for _ in camera_ids)
    return db.execute(f"SELECT * FROM crowd_rollups WHERE camera_id IN ({marks}) "
                      f"AND minute >= ? ORDER BY minute", [*camera_ids, since_minute]).fetchall()


# --- live camera state ------------------------------------------------------------

def camera_state(db, camera_id: str):
    return db.execute("SELECT * FROM crowd_camera_state WHERE camera_id = ?",
                      [camera_id]).fetchone()


def camera_states(db):
    return {r["camera_id"]: r for r in db.execute("SELECT * FROM crowd_camera_state")}


def upsert_camera_state(db, *, camera_id, status, ts, at, people, counted, areas, error,
                        dropped, fps, ins, outs) -> None:
    db.execute(
        "INSERT INTO crowd_camera_state (camera_id, status, last_ts, last_at, people, counted, "
        "areas_json, error, dropped_total, fps, ins_total, outs_total) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(camera_id) DO UPDATE SET "
        "status = excluded.status, last_ts = excluded.last_ts, last_at = excluded.last_at, "
        "people = excluded.people, counted = excluded.counted, areas_json = excluded.areas_json, "
        "error = excluded.error, dropped_total = dropped_total + excluded.dropped_total, "
        "fps = excluded.fps, ins_total = ins_total + excluded.ins_total, "
        "outs_total = outs_total + excluded.outs_total",
        [camera_id, status, ts, at, people, counted, json.dumps(areas), error, dropped, fps,
         ins, outs])


# --- heatmap ------------------------------------------------------------------------

def heat(db, camera_id: str):
    return db.execute("SELECT * FROM crowd_heat WHERE camera_id = ?", [camera_id]).fetchone()


def save_heat(db, camera_id: str, cols: int, rows: int, cells: list[int], at: str) -> None:
    db.execute("INSERT INTO crowd_heat (camera_id, cols, rows, cells_json, updated_at) "
               "VALUES (?, ?, ?, ?, ?) ON CONFLICT(camera_id) DO UPDATE SET cols = excluded.cols, "
               "rows = excluded.rows, cells_json = excluded.cells_json, "
               "updated_at = excluded.updated_at",
               [camera_id, cols, rows, json.dumps(cells), at])


# --- levels and alerts ----------------------------------------------------------------

def level_states(db):
    return {(r["scope"], r["target_id"]): r for r in db.execute("SELECT * FROM crowd_levels")}


def save_level(db, *, scope, target_id, level, pending, pending_since, sales_paused, at) -> None:
    db.execute("INSERT INTO crowd_levels (scope, target_id, level, pending, pending_since, "
               "sales_paused, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT(scope, target_id) DO UPDATE SET level = excluded.level, "
               "pending = excluded.pending, pending_since = excluded.pending_since, "
               "sales_paused = excluded.sales_paused, updated_at = excluded.updated_at",
               [scope, target_id, level, pending, pending_since, int(sales_paused), at])


def active_alert(db, kind: str, scope: str, target_id: str):
    return db.execute("SELECT * FROM crowd_alerts WHERE kind = ? AND scope = ? AND target_id = ? "
                      "AND state != 'resolved' ORDER BY id DESC LIMIT 1",
                      [kind, scope, target_id]).fetchone()


def open_alert(db, *, kind, scope, target_id, site_id, level, people, capacity, at,
               detail, expected_at=None) -> int:
    cur = db.execute("INSERT INTO crowd_alerts (kind, scope, target_id, site_id, level, state, "
                     "people, capacity, opened_at, updated_at, detail, expected_at) "
                     "VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)",
                     [kind, scope, target_id, site_id, level, people, capacity, at, at, detail,
                      expected_at])
    return cur.lastrowid


def raise_alert(db, alert_id: int, *, level, people, capacity, at, reopen: bool) -> None:
    db.execute("UPDATE crowd_alerts SET level = ?, people = ?, capacity = ?, updated_at = ?"
               + (", state = 'open', acknowledged_at = NULL, acknowledged_by = NULL" if reopen
                  else "") + " WHERE id = ?", [level, people, capacity, at, alert_id])


def resolve_alert(db, alert_id: int, at: str) -> None:
    db.execute("UPDATE crowd_alerts SET state = 'resolved', resolved_at = ?, updated_at = ? "
               "WHERE id = ?", [at, at, alert_id])


def alert(db, alert_id: int):
    return db.execute("SELECT * FROM crowd_alerts WHERE id = ?", [alert_id]).fetchone()


def acknowledge_alert(db, alert_id: int, username: str, at: str) -> int:
    return db.execute("UPDATE crowd_alerts SET state = 'acknowledged', acknowledged_at = ?, "
                      "acknowledged_by = ?, updated_at = ? WHERE id = ? AND state = 'open'",
                      [at, username, at, alert_id]).rowcount


def alerts(db, *, active_only: bool, limit: int):
    sql = "SELECT * FROM crowd_alerts"
    if active_only:
        sql += " WHERE state != 'resolved'"
    return db.execute(sql + " ORDER BY id DESC LIMIT ?", [limit]).fetchall()


def last_change(db) -> tuple:
    """A cheap fingerprint of everything the dashboard shows."""
    a = db.execute("SELECT max(updated_at), count(*) FROM crowd_alerts").fetchone()
    s = db.execute("SELECT max(last_ts), count(*) FROM crowd_camera_state").fetchone()
    lv = db.execute("SELECT max(updated_at) FROM crowd_levels").fetchone()
    return (tuple(a), tuple(s), tuple(lv))


# --- forecasts ---------------------------------------------------------------------------

def forecast_sources(db) -> dict:
    return {r["site_id"]: r for r in db.execute("SELECT * FROM crowd_forecast_sources")}


def set_forecast_source(db, site_id: str, source: str, seed: int, at: str) -> None:
    db.execute("INSERT INTO crowd_forecast_sources (site_id, source, seed, created_at) "
               "VALUES (?, ?, ?, ?) ON CONFLICT(site_id) DO NOTHING",
               [site_id, source, seed, at])


def forecast_model(db, site_id: str):
    return db.execute("SELECT * FROM crowd_forecast_models WHERE site_id = ?",
                      [site_id]).fetchone()


def save_forecast_model(db, site_id: str, learned_on: str, basis: str, model: dict,
                        at: str) -> None:
    db.execute("INSERT INTO crowd_forecast_models (site_id, learned_on, basis, model_json, "
               "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(site_id) DO UPDATE SET "
               "learned_on = excluded.learned_on, basis = excluded.basis, "
               "model_json = excluded.model_json, updated_at = excluded.updated_at",
               [site_id, learned_on, basis, json.dumps(model), at])


def latest_forecast(db, site_id: str):
    return db.execute("SELECT * FROM crowd_forecasts WHERE site_id = ?", [site_id]).fetchone()


def save_forecast(db, site_id: str, ts: float, forecast: dict) -> None:
    db.execute("INSERT INTO crowd_forecasts (site_id, computed_ts, forecast_json) "
               "VALUES (?, ?, ?) ON CONFLICT(site_id) DO UPDATE SET "
               "computed_ts = excluded.computed_ts, forecast_json = excluded.forecast_json",
               [site_id, ts, json.dumps(forecast, ensure_ascii=False)])


def daily_forecast(db, site_id: str, day: str):
    return db.execute("SELECT * FROM crowd_daily_forecasts WHERE site_id = ? AND day = ?",
                      [site_id, day]).fetchone()


def save_daily_forecast(db, site_id: str, day: str, forecast: dict) -> None:
    # One row per site and day; older days are dropped (bounded).
    db.execute("DELETE FROM crowd_daily_forecasts WHERE site_id = ? AND day < ?",
               [site_id, day])
    db.execute("INSERT INTO crowd_daily_forecasts (site_id, day, forecast_json) "
               "VALUES (?, ?, ?) ON CONFLICT(site_id, day) DO UPDATE SET "
               "forecast_json = excluded.forecast_json",
               [site_id, day, json.dumps(forecast, ensure_ascii=False)])


def set_alert_expected(db, alert_id: int, *, expected_at: str, people, at: str) -> None:
    db.execute("UPDATE crowd_alerts SET expected_at = ?, people = ?, updated_at = ? "
               "WHERE id = ?", [expected_at, people, at, alert_id])
