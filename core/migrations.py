"""Tables owned by core: staff accounts and device tokens (failed logins were counted here
until the shared rate-limit storage took them over)."""
from sqlite_utils import Migrations

migrations = Migrations("core")


@migrations()
def create_accounts(db):
    db.execute("""
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL DEFAULT '',
            password_hash TEXT,
            role TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'gate', 'worker')),
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL UNIQUE,
            label TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )""")
    db.execute("""
        CREATE TABLE login_failures (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL COLLATE NOCASE,
            remote_addr TEXT NOT NULL,
            at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX login_failures_user ON login_failures(username, at)")
    db.execute("CREATE INDEX login_failures_addr ON login_failures(remote_addr, at)")


@migrations()
def drop_login_failures(db):
    # Failed logins are counted in the shared rate-limit storage (core.ratelimit) now.
    db.execute("DROP TABLE IF EXISTS login_failures")
