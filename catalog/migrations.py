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


@migrations()
def places_exceptions_and_zone_methods(db):
    # Per-place hours (entrances, cable cars) and dated exceptions from the data file
    # travel with the site row; zones say which LB/T 034 method gave their figure.
    db.execute("ALTER TABLE sites ADD COLUMN places_json TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE sites ADD COLUMN exceptions_json TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE zones ADD COLUMN method TEXT NOT NULL DEFAULT 'area'")
    db.execute("ALTER TABLE zones ADD COLUMN params_json TEXT NOT NULL DEFAULT '{}'")
    # Closures and changed hours entered by staff (weather, works): who, when and why;
    # lifting one keeps the row.
    db.execute("""
        CREATE TABLE hours_exceptions (
            id INTEGER PRIMARY KEY,
            site_id TEXT NOT NULL REFERENCES sites(id),
            place_id TEXT,
            start_day TEXT NOT NULL,
            end_day TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('closed', 'hours')),
            open TEXT, close TEXT, last_entry TEXT,
            reason TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_user_id INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            lifted_at TEXT, lifted_by TEXT, lift_reason TEXT,
            CHECK (start_day <= end_day)
        )""")
    db.execute("CREATE INDEX hours_exceptions_days ON hours_exceptions(site_id, end_day, start_day)")
    db.execute("""
        CREATE TABLE hours_log (
            id INTEGER PRIMARY KEY,
            exception_id INTEGER NOT NULL REFERENCES hours_exceptions(id),
            action TEXT NOT NULL CHECK (action IN ('add', 'lift')),
            site_id TEXT NOT NULL,
            detail TEXT NOT NULL,
            reason TEXT NOT NULL,
            user_id INTEGER REFERENCES users(id),
            username TEXT NOT NULL,
            at TEXT NOT NULL
        )""")
