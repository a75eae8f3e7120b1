"""Tables owned by the guide: points of interest, tours, sources, human recordings."""
from sqlite_utils import Migrations

migrations = Migrations("guide")


@migrations()
def create_guide(db):
    db.execute("""
        CREATE TABLE guide_sources (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            publisher TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL DEFAULT '',
            supports TEXT NOT NULL DEFAULT ''
        )""")
    db.execute("""
        CREATE TABLE guide_pois (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL REFERENCES sites(id),
            number INTEGER NOT NULL,
            name_zh TEXT NOT NULL,
            name_en TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            short_zh TEXT NOT NULL,
            short_en TEXT NOT NULL,
            long_zh TEXT NOT NULL,
            long_en TEXT NOT NULL,
            facts_json TEXT NOT NULL DEFAULT '[]',
            questions_json TEXT NOT NULL DEFAULT '[]',
            sources_json TEXT NOT NULL DEFAULT '[]',
            zone_id TEXT,
            edited INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL DEFAULT '',
            UNIQUE (site_id, number)
        )""")
    db.execute("""
        CREATE TABLE guide_tours (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL REFERENCES sites(id),
            sites_json TEXT NOT NULL DEFAULT '[]',
            name_zh TEXT NOT NULL,
            name_en TEXT NOT NULL,
            description_zh TEXT NOT NULL DEFAULT '',
            description_en TEXT NOT NULL DEFAULT '',
            position INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("""
        CREATE TABLE guide_tour_stops (
            tour_id TEXT NOT NULL REFERENCES guide_tours(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            poi_id TEXT NOT NULL REFERENCES guide_pois(id),
            walk_min INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tour_id, position)
        )""")
    db.execute("""
        CREATE TABLE guide_recordings (
            poi_id TEXT NOT NULL REFERENCES guide_pois(id) ON DELETE CASCADE,
            lang TEXT NOT NULL CHECK (lang IN ('zh', 'en')),
            filename TEXT NOT NULL,
            mime TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            duration_s REAL NOT NULL,
            sha256 TEXT NOT NULL,
            uploaded_at TEXT NOT NULL,
            uploaded_by TEXT NOT NULL,
            PRIMARY KEY (poi_id, lang)
        )""")
    db.execute("""
        CREATE TABLE guide_edits (
            id INTEGER PRIMARY KEY,
            poi_id TEXT NOT NULL,
            action TEXT NOT NULL,
            fields TEXT NOT NULL DEFAULT '',
            username TEXT NOT NULL,
            at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX guide_pois_site ON guide_pois(site_id, number)")


@migrations()
def content_layout_v2(db):
    """Issue 11's content layout: point kinds, aliases, narration paragraphs and facts
    with their own sources, scene parts; richer sources; sources of tours. Points loaded
    before it keep their long texts as one paragraph until the next ``guide load``."""
    db.execute("ALTER TABLE guide_pois ADD COLUMN kind TEXT NOT NULL DEFAULT 'place' "
               "CHECK (kind IN ('intro', 'place', 'practical', 'scene'))")
    db.execute("""ALTER TABLE guide_pois ADD COLUMN aliases_json TEXT NOT NULL
                  DEFAULT '{"zh": [], "en": []}'""")
    db.execute("ALTER TABLE guide_pois ADD COLUMN paragraphs_json TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE guide_pois ADD COLUMN scene_json TEXT")
    db.execute("ALTER TABLE guide_sources ADD COLUMN area TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE guide_sources ADD COLUMN kind TEXT NOT NULL DEFAULT 'other'")
    db.execute("ALTER TABLE guide_sources ADD COLUMN accessed TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE guide_sources ADD COLUMN copy_of_json TEXT")
    db.execute("ALTER TABLE guide_tours ADD COLUMN sources_json TEXT NOT NULL DEFAULT '[]'")
