"""Tables owned by the gates domain: gates, the scan audit, admissions (presence per
ticket and site), per-minute counts, occupancy per site and offline conflicts."""
from sqlite_utils import Migrations

migrations = Migrations("gates")


@migrations()
def create_gates(db):
    db.execute("""
        CREATE TABLE gates (
            id INTEGER PRIMARY KEY,
            site_id TEXT NOT NULL REFERENCES sites(id),
            name TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('entry', 'exit', 'both')),
            user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            UNIQUE (site_id, name)
        )""")
    # Every scan, allowed or denied, online or uploaded later. The first answer to a
    # nonce is kept so a repeated request gets it back unchanged.
    db.execute("""
        CREATE TABLE gate_scans (
            id INTEGER PRIMARY KEY,
            gate_id INTEGER NOT NULL REFERENCES gates(id),
            site_id TEXT NOT NULL,
            nonce TEXT NOT NULL,
            input_hash TEXT NOT NULL,
            method TEXT NOT NULL CHECK (method IN ('code', 'document', 'photo')),
            source TEXT NOT NULL CHECK (source IN ('online', 'offline', 'handheld')),
            direction TEXT NOT NULL CHECK (direction IN ('entry', 'exit')),
            ticket_id TEXT,
            result TEXT NOT NULL CHECK (result IN ('allow', 'deny')),
            reason TEXT,
            holder_masked TEXT,
            document_masked TEXT,
            scanned_at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            response_json TEXT NOT NULL,
            UNIQUE (gate_id, nonce)
        )""")
    db.execute("CREATE INDEX gate_scans_denied ON gate_scans(result, received_at)")
    db.execute("CREATE INDEX gate_scans_ticket ON gate_scans(ticket_id)")
    # Presence of one ticket at one site: how often it entered, whether it is inside.
    db.execute("""
        CREATE TABLE gate_presence (
            ticket_id TEXT NOT NULL,
            site_id TEXT NOT NULL,
            entries INTEGER NOT NULL DEFAULT 0,
            inside INTEGER NOT NULL DEFAULT 0 CHECK (inside IN (0, 1)),
            last_entry_at TEXT,
            last_exit_at TEXT,
            PRIMARY KEY (ticket_id, site_id)
        )""")
    db.execute("CREATE INDEX gate_presence_inside ON gate_presence(site_id, inside)")
    # Passages through a gate. The partial unique index is the last line of defence
    # for admit-once: entry number n of a ticket at a site can be written only once.
    db.execute("""
        CREATE TABLE gate_passages (
            id INTEGER PRIMARY KEY,
            scan_id INTEGER NOT NULL UNIQUE REFERENCES gate_scans(id),
            ticket_id TEXT NOT NULL,
            site_id TEXT NOT NULL,
            gate_id INTEGER NOT NULL REFERENCES gates(id),
            direction TEXT NOT NULL CHECK (direction IN ('entry', 'exit')),
            entry_no INTEGER,
            at TEXT NOT NULL
        )""")
    db.execute("CREATE UNIQUE INDEX gate_passages_once ON gate_passages(ticket_id, site_id, "
               "entry_no) WHERE direction = 'entry' AND entry_no IS NOT NULL")
    db.execute("""
        CREATE TABLE gate_counts (
            site_id TEXT NOT NULL,
            minute TEXT NOT NULL,
            entries INTEGER NOT NULL DEFAULT 0,
            exits INTEGER NOT NULL DEFAULT 0,
            checkouts INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (site_id, minute)
        )""")
    # People inside now = entries - exits - checkouts; kept as a running figure so the
    # crowd monitor reads one row.
    db.execute("""
        CREATE TABLE gate_occupancy (
            site_id TEXT PRIMARY KEY,
            inside INTEGER NOT NULL DEFAULT 0,
            last_checkout_at TEXT,
            updated_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE gate_conflicts (
            id INTEGER PRIMARY KEY,
            scan_id INTEGER NOT NULL UNIQUE REFERENCES gate_scans(id),
            site_id TEXT NOT NULL,
            ticket_id TEXT,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            resolved_at TEXT,
            resolved_by TEXT,
            note TEXT
        )""")
    db.execute("CREATE INDEX gate_conflicts_open ON gate_conflicts(resolved_at, created_at)")


@migrations()
def index_passages_by_site_and_time(db):
    # The crowd forecast reads a site's passages day by day (gates.interface.visits).
    db.execute("CREATE INDEX gate_passages_site_at ON gate_passages(site_id, at)")


@migrations()
def gate_places(db):
    # A gate may stand at one of its site's places (Mount Tai's entrances): it then admits
    # in that entrance's hours rather than the site's.
    db.execute("ALTER TABLE gates ADD COLUMN place_id TEXT")


@migrations()
def bundle_digests(db):
    # Digests of holders' resident ID numbers for offline bundles, per site, day and key
    # (gates/bundle.py): scrypt is slow on purpose, so each is computed once. They are what
    # bundles already carry; the day's key itself is derived, never stored.
    db.execute("""
        CREATE TABLE gate_bundle_digests (
            site_id TEXT NOT NULL,
            day TEXT NOT NULL,
            key_id TEXT NOT NULL,
            ticket_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            digest TEXT,
            PRIMARY KEY (site_id, day, key_id, ticket_id, version)
        )""")
