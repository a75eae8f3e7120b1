"""Tables owned by the crowd domain. Never edit a shipped migration; add one."""
from sqlite_utils import Migrations

migrations = Migrations("crowd")


@migrations()
def create_crowd(db):
    db.execute("""
        CREATE TABLE crowd_cameras (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            site_id TEXT NOT NULL REFERENCES sites(id),
            zone_id TEXT REFERENCES zones(id),
            source TEXT NOT NULL,
            width INTEGER NOT NULL CHECK (width > 0),
            height INTEGER NOT NULL CHECK (height > 0),
            tile_rows INTEGER NOT NULL DEFAULT 2,
            tile_cols INTEGER NOT NULL DEFAULT 2,
            tile_overlap REAL NOT NULL DEFAULT 0.2,
            full_frame INTEGER NOT NULL DEFAULT 0,
            inertia INTEGER NOT NULL DEFAULT 3,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    # Areas are counting polygons, lines are counting lines, in the camera's pixels.
    db.execute("""
        CREATE TABLE crowd_regions (
            id INTEGER PRIMARY KEY,
            camera_id TEXT NOT NULL REFERENCES crowd_cameras(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('area', 'line')),
            name TEXT NOT NULL,
            points_json TEXT NOT NULL,
            capacity INTEGER CHECK (capacity IS NULL OR capacity > 0),
            UNIQUE (camera_id, name)
        )""")
    db.execute("""
        CREATE TABLE crowd_observations (
            id INTEGER PRIMARY KEY,
            camera_id TEXT NOT NULL REFERENCES crowd_cameras(id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('online', 'offline')),
            people INTEGER,
            counted INTEGER,
            areas_json TEXT NOT NULL DEFAULT '{}',
            lines_json TEXT NOT NULL DEFAULT '{}',
            dropped INTEGER NOT NULL DEFAULT 0,
            fps REAL
        )""")
    db.execute("CREATE INDEX crowd_observations_cam_ts ON crowd_observations (camera_id, ts)")
    db.execute("""
        CREATE TABLE crowd_rollups (
            camera_id TEXT NOT NULL REFERENCES crowd_cameras(id) ON DELETE CASCADE,
            minute INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            counted_sum INTEGER NOT NULL,
            counted_max INTEGER NOT NULL,
            ins INTEGER NOT NULL DEFAULT 0,
            outs INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (camera_id, minute)
        )""")
    db.execute("""
        CREATE TABLE crowd_camera_state (
            camera_id TEXT PRIMARY KEY REFERENCES crowd_cameras(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            last_ts REAL NOT NULL,
            last_at TEXT NOT NULL,
            people INTEGER,
            counted INTEGER,
            areas_json TEXT NOT NULL DEFAULT '{}',
            error TEXT NOT NULL DEFAULT '',
            dropped_total INTEGER NOT NULL DEFAULT 0,
            fps REAL,
            ins_total INTEGER NOT NULL DEFAULT 0,
            outs_total INTEGER NOT NULL DEFAULT 0
        )""")
    # Accumulated bottom-centre positions on a fixed grid: a heatmap without frames.
    db.execute("""
        CREATE TABLE crowd_heat (
            camera_id TEXT PRIMARY KEY REFERENCES crowd_cameras(id) ON DELETE CASCADE,
            cols INTEGER NOT NULL,
            rows INTEGER NOT NULL,
            cells_json TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE crowd_alerts (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('capacity', 'camera_offline')),
            scope TEXT NOT NULL CHECK (scope IN ('site', 'zone', 'area', 'camera')),
            target_id TEXT NOT NULL,
            site_id TEXT NOT NULL,
            level TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
            people INTEGER,
            capacity INTEGER,
            opened_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            acknowledged_at TEXT,
            acknowledged_by TEXT,
            resolved_at TEXT,
            detail TEXT NOT NULL DEFAULT ''
        )""")
    db.execute("CREATE INDEX crowd_alerts_active ON crowd_alerts (state, kind, scope, target_id)")
    # Debounce/hysteresis state of each monitored target between evaluations.
    db.execute("""
        CREATE TABLE crowd_levels (
            scope TEXT NOT NULL,
            target_id TEXT NOT NULL,
            level TEXT NOT NULL,
            pending TEXT,
            pending_since REAL,
            sales_paused INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (scope, target_id)
        )""")


@migrations()
def add_detect_every(db):
    # Run the detector on every n-th frame only; ByteTrack and the counts hold in between.
    db.execute("ALTER TABLE crowd_cameras ADD COLUMN detect_every INTEGER NOT NULL DEFAULT 1 "
               "CHECK (detect_every BETWEEN 1 AND 10)")


@migrations()
def add_forecasts(db):
    # Predicted alerts: a new kind, with the time the crossing is expected. SQLite cannot
    # change a CHECK, so the table is rebuilt with the same rows.
    db.execute("""
        CREATE TABLE crowd_alerts_new (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('capacity', 'camera_offline', 'predicted')),
            scope TEXT NOT NULL CHECK (scope IN ('site', 'zone', 'area', 'camera')),
            target_id TEXT NOT NULL,
            site_id TEXT NOT NULL,
            level TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
            people INTEGER,
            capacity INTEGER,
            opened_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            acknowledged_at TEXT,
            acknowledged_by TEXT,
            resolved_at TEXT,
            detail TEXT NOT NULL DEFAULT '',
            expected_at TEXT
        )""")
    db.execute("INSERT INTO crowd_alerts_new SELECT *, NULL FROM crowd_alerts")
    db.execute("DROP TABLE crowd_alerts")
    db.execute("ALTER TABLE crowd_alerts_new RENAME TO crowd_alerts")
    db.execute("CREATE INDEX crowd_alerts_active ON crowd_alerts (state, kind, scope, target_id)")
    # Sites whose forecast inputs come from the simulator (the demo), not the gates.
    db.execute("""
        CREATE TABLE crowd_forecast_sources (
            site_id TEXT PRIMARY KEY REFERENCES sites(id),
            source TEXT NOT NULL CHECK (source IN ('simulated')),
            seed INTEGER NOT NULL,
            created_at TEXT NOT NULL
        )""")
    # Dwell and arrival models learned from past days, relearned once a day per site.
    db.execute("""
        CREATE TABLE crowd_forecast_models (
            site_id TEXT PRIMARY KEY REFERENCES sites(id),
            learned_on TEXT NOT NULL,
            basis TEXT NOT NULL,
            model_json TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    # The latest occupancy forecast per site (one row each) and the day's 7-day forecast.
    db.execute("""
        CREATE TABLE crowd_forecasts (
            site_id TEXT PRIMARY KEY REFERENCES sites(id),
            computed_ts REAL NOT NULL,
            forecast_json TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE crowd_daily_forecasts (
            site_id TEXT NOT NULL REFERENCES sites(id),
            day TEXT NOT NULL,
            forecast_json TEXT NOT NULL,
            PRIMARY KEY (site_id, day)
        )""")


@migrations()
def worker_cameras(db):
    # Which cameras each worker device may report for: a worker token posts counts and
    # frames for its own cameras only (a fake count elsewhere could pause ticket sales).
    # Nothing is granted here: an admin assigns cameras (/crowd/cameras or
    # 'flask crowd assign-cameras').
    db.execute("""
        CREATE TABLE crowd_worker_cameras (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            camera_id TEXT NOT NULL REFERENCES crowd_cameras(id) ON DELETE CASCADE,
            PRIMARY KEY (user_id, camera_id)
        )""")
