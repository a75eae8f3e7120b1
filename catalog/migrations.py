"""Tables owned by the catalog domain."""
from sqlite_utils import Migrations

migrations = Migrations("catalog")


@migrations()
def create_catalog(db):
    db.execute("""
        CREATE TABLE areas (
            id TEXT PRIMARY KEY,
            name_zh TEXT NOT NULL,
            name_en TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("""
        CREATE TABLE sites (
            id TEXT PRIMARY KEY,
            area_id TEXT NOT NULL REFERENCES areas(id),
            name_zh TEXT NOT NULL,
            name_en TEXT NOT NULL,
            summary_zh TEXT NOT NULL DEFAULT '',
            summary_en TEXT NOT NULL DEFAULT '',
            lat REAL, lon REAL,
            hours_json TEXT NOT NULL,
            visit_hours REAL NOT NULL CHECK (visit_hours > 0),
            visit_hours_source TEXT NOT NULL DEFAULT '',
            published_daily INTEGER,
            published_instant INTEGER,
            published_as_of TEXT,
            published_source TEXT,
            override_daily INTEGER,
            override_instant INTEGER,
            position INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("""
        CREATE TABLE zones (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL REFERENCES sites(id),
            name_zh TEXT NOT NULL,
            name_en TEXT NOT NULL,
            area_m2 REAL NOT NULL CHECK (area_m2 > 0),
            per_visitor_m2 REAL NOT NULL CHECK (per_visitor_m2 > 0),
            source TEXT NOT NULL DEFAULT '',
            published_instant INTEGER,
            override_instant INTEGER,
            position INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("""
        CREATE TABLE capacity_changes (
            id INTEGER PRIMARY KEY,
            target_kind TEXT NOT NULL CHECK (target_kind IN ('site', 'zone')),
            target_id TEXT NOT NULL,
            field TEXT NOT NULL CHECK (field IN ('daily', 'instant')),
            old_value INTEGER,
            new_value INTEGER,
            reason TEXT NOT NULL,
            user_id INTEGER REFERENCES users(id),
            username TEXT NOT NULL,
            at TEXT NOT NULL
        )""")
