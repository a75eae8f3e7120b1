"""Tables owned by ticketing (prefix tk_): products, fare rules, slot policy, slots,
sales pauses, orders, tickets, revocations, payments and their notifications."""
from sqlite_utils import Migrations

migrations = Migrations("ticketing")


@migrations()
def create_ticketing(db):
    db.execute("""
        CREATE TABLE tk_products (
            id TEXT PRIMARY KEY,
            sites_mask INTEGER NOT NULL,
            covers_json TEXT NOT NULL,
            name_zh TEXT NOT NULL, name_en TEXT NOT NULL,
            price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
            valid_days INTEGER,
            since TEXT, source TEXT NOT NULL DEFAULT '',
            notes_json TEXT NOT NULL DEFAULT '{}',
            reentry_allowed INTEGER NOT NULL DEFAULT 0,
            max_entries_per_site INTEGER NOT NULL DEFAULT 1,
            active INTEGER NOT NULL DEFAULT 1,
            sort INTEGER NOT NULL DEFAULT 0
        )""")
    # Free and discounted fares; unconfirmed ones start disabled (assumptions).
    db.execute("""
        CREATE TABLE tk_fares (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('free', 'discount')),
            name_zh TEXT NOT NULL, name_en TEXT NOT NULL,
            rule_json TEXT NOT NULL,
            factor REAL,
            products_json TEXT NOT NULL,
            confirmed INTEGER NOT NULL,
            enabled INTEGER NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            sort INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("""
        CREATE TABLE tk_policy (
            site_id TEXT PRIMARY KEY,
            slot_minutes INTEGER NOT NULL CHECK (slot_minutes BETWEEN 15 AND 1440),
            reserved_share REAL NOT NULL CHECK (reserved_share >= 0 AND reserved_share < 1),
            updated_at TEXT, updated_by TEXT
        )""")
    db.execute("""
        CREATE TABLE tk_slots (
            id INTEGER PRIMARY KEY,
            site_id TEXT NOT NULL,
            day TEXT NOT NULL,
            seq INTEGER NOT NULL,
            start_at TEXT NOT NULL,
            end_at TEXT NOT NULL,
            quota INTEGER NOT NULL CHECK (quota >= 0),
            window_quota INTEGER NOT NULL DEFAULT 0 CHECK (window_quota >= 0),
            UNIQUE (site_id, day, seq)
        )""")
    # One row per pausing actor: the crowd monitor's pause is lifted by its own resume
    # (or by staff), a staff pause only by staff. slot_id 0 means the whole site.
    db.execute("""
        CREATE TABLE tk_pauses (
            site_id TEXT NOT NULL,
            slot_id INTEGER NOT NULL DEFAULT 0,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (site_id, slot_id, actor)
        )""")
    db.execute("""
        CREATE TABLE tk_pause_log (
            id INTEGER PRIMARY KEY,
            site_id TEXT NOT NULL, slot_id INTEGER NOT NULL, action TEXT NOT NULL,
            actor TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE tk_orders (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,
            site_id TEXT NOT NULL,
            slot_id INTEGER NOT NULL REFERENCES tk_slots(id),
            day TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ('online', 'window')),
            status TEXT NOT NULL CHECK (status IN ('held', 'paid', 'expired', 'refunded')),
            total_fen INTEGER NOT NULL,
            hold_expires_at TEXT,
            idempotency_key TEXT UNIQUE,
            request_hash TEXT,
            created_at TEXT NOT NULL,
            paid_at TEXT,
            actor TEXT NOT NULL DEFAULT ''
        )""")
    db.execute("CREATE INDEX tk_orders_holds ON tk_orders(status, hold_expires_at)")
    db.execute("""
        CREATE TABLE tk_tickets (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES tk_orders(id),
            product_id TEXT NOT NULL REFERENCES tk_products(id),
            fare_id TEXT NOT NULL,
            price_fen INTEGER NOT NULL,
            proof_required INTEGER NOT NULL DEFAULT 0,
            site_id TEXT NOT NULL,
            sites_mask INTEGER NOT NULL,
            slot_id INTEGER NOT NULL REFERENCES tk_slots(id),
            day TEXT NOT NULL,
            channel TEXT NOT NULL,
            holder_name_enc TEXT NOT NULL,
            holder_name_masked TEXT NOT NULL,
            document_type TEXT NOT NULL,
            document_hash TEXT NOT NULL,
            document_enc TEXT NOT NULL,
            document_masked TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'refunded', 'expired')),
            version INTEGER NOT NULL DEFAULT 1,
            valid_from TEXT NOT NULL,
            valid_until TEXT NOT NULL,
            created_at TEXT NOT NULL,
            refunded_at TEXT
        )""")
    db.execute("CREATE INDEX tk_tickets_slot ON tk_tickets(slot_id, status, channel)")
    db.execute("CREATE INDEX tk_tickets_order ON tk_tickets(order_id)")
    db.execute("CREATE INDEX tk_tickets_holder ON tk_tickets(document_hash, day)")
    db.execute("CREATE INDEX tk_tickets_day ON tk_tickets(day, status)")
    db.execute("""
        CREATE TABLE tk_revocations (
            key TEXT PRIMARY KEY,
            ticket_id INTEGER NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE tk_payments (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES tk_orders(id),
            provider TEXT NOT NULL,
            reference TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('charge', 'refund')),
            amount_fen INTEGER NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE tk_payment_events (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            event_id TEXT,
            reference TEXT,
            kind TEXT,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            received_at TEXT NOT NULL
        )""")
    db.execute("CREATE UNIQUE INDEX tk_payment_events_once ON tk_payment_events(provider, event_id)"
               " WHERE outcome IN ('applied', 'ignored')")
    # The sandbox gateway's own ledger (what a real gateway keeps on its side).
    db.execute("""
        CREATE TABLE tk_sandbox_outbox (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            body TEXT NOT NULL,
            signature TEXT NOT NULL,
            created_at TEXT NOT NULL,
            delivered_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0
        )""")


@migrations()
def seed_products_and_policy(db):
    # Seeded from the researched data file; later edits by admins are kept because the
    # loader only inserts missing rows (``flask ticketing load-products --update`` resets).
    from .products import load_products
    load_products(db, update=False)
    defaults = {"taishan": 180}  # open 24 h: three-hour entry windows
    for site in ("taishan", "daimiao", "kongmiao", "kongfu", "konglin"):
        db.execute("INSERT OR IGNORE INTO tk_policy (site_id, slot_minutes, reserved_share) "
                   "VALUES (?, ?, ?)", [site, defaults.get(site, 60), 0.1])


@migrations()
def holder_lookup_index(db):
    # Without statistics SQLite preferred the (day, status) index for the one-ticket-per-
    # holder check and scanned a whole day's tickets; a (document_hash, day, status) index
    # is the only one that fits that query.
    db.execute("DROP INDEX IF EXISTS tk_tickets_day")
    db.execute("DROP INDEX IF EXISTS tk_tickets_holder")
    db.execute("CREATE INDEX tk_tickets_holder ON tk_tickets(document_hash, day, status)")


@migrations()
def order_secrets(db):
    # Every order's access secret (carried in its link): a SHA-256 hash to check it and an
    # AES-GCM copy so the booking browser can be sent back to its link. Orders made before
    # have neither; "find my order" gives them one.
    db.execute("ALTER TABLE tk_orders ADD COLUMN secret_hash TEXT")
    db.execute("ALTER TABLE tk_orders ADD COLUMN secret_enc TEXT")


@migrations()
def fares_as_published(db):
    # Fare rules with explicit boundaries, published figures per product and a rounding
    # rule; products with seasonal or dated price periods. Rules of the old file are kept
    # as retired rows: tickets sold under them keep their fare's name, and every ticket
    # keeps the price it was sold at (tk_tickets.price_fen is never recomputed).
    db.execute("ALTER TABLE tk_fares ADD COLUMN prices_json TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE tk_fares ADD COLUMN rounding TEXT NOT NULL DEFAULT 'fen'")
    db.execute("ALTER TABLE tk_fares ADD COLUMN retired INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE tk_fares ADD COLUMN notes_json TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE tk_products ADD COLUMN periods_json TEXT NOT NULL DEFAULT '[]'")
    from .products import refresh_rules
    refresh_rules(db)
