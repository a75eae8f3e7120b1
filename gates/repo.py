"""All SQL of the gates domain, parameterised."""
from __future__ import annotations


# --- gates ---------------------------------------------------------------------

def insert_gate(db, *, site_id, name, direction, user_id, created_at, place_id=None) -> int:
    cur = db.execute("INSERT INTO gates (site_id, name, direction, user_id, created_at, "
                     "place_id) VALUES (?, ?, ?, ?, ?, ?)",
                     [site_id, name, direction, user_id, created_at, place_id])
    return cur.lastrowid


def gate_by_user(db, user_id):
    return db.execute("SELECT * FROM gates WHERE user_id = ? AND active = 1",
                      [user_id]).fetchone()


def gate_by_id(db, gate_id):
    return db.execute("SELECT * FROM gates WHERE id = ? AND active = 1", [gate_id]).fetchone()


def gate_by_name(db, site_id, name):
    return db.execute("SELECT * FROM gates WHERE site_id = ? AND name = ?",
                      [site_id, name]).fetchone()


def list_gates(db, site_id=None):
    if site_id:
        return db.execute("SELECT * FROM gates WHERE active = 1 AND site_id = ? ORDER BY id",
                          [site_id]).fetchall()
    return db.execute("SELECT * FROM gates WHERE active = 1 ORDER BY site_id, id").fetchall()


# --- scans (audit) -------------------------------------------------------------

def scan_by_nonce(db, gate_id, nonce):
    return db.execute("SELECT * FROM gate_scans WHERE gate_id = ? AND nonce = ?",
                      [gate_id, nonce]).fetchone()


def insert_scan(db, **row) -> int:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cur = db.execute(f"INSERT INTO gate_scans ({cols}) VALUES ({marks})", list(row.values()))
    return cur.lastrowid


def denied_scans(db, *, site_id=None, limit=200):
    sql = ("SELECT s.*, g.name AS gate_name FROM gate_scans s JOIN gates g ON g.id = s.gate_id "
           "WHERE s.result = 'deny'")
    args = []
    if site_id:
        sql += " AND s.site_id = ?"
        args.append(site_id)
    sql += " ORDER BY s.received_at DESC, s.id DESC LIMIT ?"
    return db.execute(sql, args + [limit]).fetchall()


def count_scans(db, *, result=None) -> int:
    if result:
        return db.execute("SELECT count(*) FROM gate_scans WHERE result = ?",
                          [result]).fetchone()[0]
    return db.execute("SELECT count(*) FROM gate_scans").fetchone()[0]


def prune_scans(db, before) -> int:
    """Delete audit rows older than ``before`` that nothing else points at."""
    cur = db.execute(
        "DELETE FROM gate_scans WHERE received_at < ? "
        "AND id NOT IN (SELECT scan_id FROM gate_passages) "
        "AND id NOT IN (SELECT scan_id FROM gate_conflicts)", [before])
    return cur.rowcount


# --- presence and passages -----------------------------------------------------

def presence(db, ticket_id, site_id):
    return db.execute("SELECT * FROM gate_presence WHERE ticket_id = ? AND site_id = ?",
                      [ticket_id, site_id]).fetchone()


def presence_for_site(db, site_id):
    return db.execute("SELECT ticket_id, entries, inside FROM gate_presence WHERE site_id = ?",
                      [site_id]).fetchall()


def record_entry(db, *, ticket_id, site_id, at, inside: bool) -> int:
    """Count an entry for the ticket; returns its entry number (1 for the first)."""
    cur = db.execute(
        "INSERT INTO gate_presence (ticket_id, site_id, entries, inside, last_entry_at) "
        "VALUES (?, ?, 1, ?, ?) ON CONFLICT (ticket_id, site_id) DO UPDATE SET "
        "entries = entries + 1, inside = excluded.inside, last_entry_at = excluded.last_entry_at "
        "RETURNING entries", [ticket_id, site_id, int(inside), at])
    return cur.fetchone()[0]


def record_exit(db, *, ticket_id, site_id, at) -> None:
    db.execute("UPDATE gate_presence SET inside = 0, last_exit_at = ? "
               "WHERE ticket_id = ? AND site_id = ?", [at, ticket_id, site_id])


def insert_passage(db, *, scan_id, ticket_id, site_id, gate_id, direction, entry_no, at) -> None:
    db.execute("INSERT INTO gate_passages (scan_id, ticket_id, site_id, gate_id, direction, "
               "entry_no, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               [scan_id, ticket_id, site_id, gate_id, direction, entry_no, at])


def check_out_presence(db, site_id, before) -> int:
    cur = db.execute("UPDATE gate_presence SET inside = 0 WHERE site_id = ? AND inside = 1 "
                     "AND last_entry_at < ?", [site_id, before])
    return cur.rowcount


# --- counts and occupancy ------------------------------------------------------

def add_count(db, *, site_id, minute, entries=0, exits=0, checkouts=0) -> None:
    db.execute(
        "INSERT INTO gate_counts (site_id, minute, entries, exits, checkouts) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (site_id, minute) DO UPDATE SET "
        "entries = entries + excluded.entries, exits = exits + excluded.exits, "
        "checkouts = checkouts + excluded.checkouts",
        [site_id, minute, entries, exits, checkouts])


def counts(db, site_id, start, end):
    return db.execute("SELECT minute, entries, exits, checkouts FROM gate_counts "
                      "WHERE site_id = ? AND minute >= ? AND minute < ? ORDER BY minute",
                      [site_id, start, end]).fetchall()


def count_totals(db, site_id):
    return db.execute("SELECT coalesce(sum(entries), 0), coalesce(sum(exits), 0), "
                      "coalesce(sum(checkouts), 0) FROM gate_counts WHERE site_id = ?",
                      [site_id]).fetchone()


def occupancy(db, site_id):
    return db.execute("SELECT * FROM gate_occupancy WHERE site_id = ?", [site_id]).fetchone()


def add_occupancy(db, site_id, delta, at) -> None:
    db.execute(
        "INSERT INTO gate_occupancy (site_id, inside, updated_at) VALUES (?, max(?, 0), ?) "
        "ON CONFLICT (site_id) DO UPDATE SET inside = max(inside + excluded.inside, 0), "
        "updated_at = excluded.updated_at", [site_id, delta, at])


def subtract_occupancy(db, site_id, n, at) -> None:
    db.execute("UPDATE gate_occupancy SET inside = max(inside - ?, 0), updated_at = ? "
               "WHERE site_id = ?", [n, at, site_id])


def reset_occupancy(db, site_id, boundary, at) -> int:
    """Zero the site at a closing time; returns how many were checked out."""
    row = occupancy(db, site_id)
    inside = row["inside"] if row else 0
    db.execute(
        "INSERT INTO gate_occupancy (site_id, inside, last_checkout_at, updated_at) "
        "VALUES (?, 0, ?, ?) ON CONFLICT (site_id) DO UPDATE SET inside = 0, "
        "last_checkout_at = excluded.last_checkout_at, updated_at = excluded.updated_at",
        [site_id, boundary, at])
    return inside


# --- conflicts -----------------------------------------------------------------

def insert_conflict(db, *, scan_id, site_id, ticket_id, kind, detail, created_at) -> int:
    cur = db.execute("INSERT INTO gate_conflicts (scan_id, site_id, ticket_id, kind, detail, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     [scan_id, site_id, ticket_id, kind, detail, created_at])
    return cur.lastrowid


def conflicts(db, *, open_only=True, limit=200):
    sql = ("SELECT c.*, s.gate_id, s.scanned_at, s.direction, s.holder_masked, "
           "g.name AS gate_name FROM gate_conflicts c JOIN gate_scans s ON s.id = c.scan_id "
           "JOIN gates g ON g.id = s.gate_id")
    if open_only:
        sql += " WHERE c.resolved_at IS NULL"
    sql += " ORDER BY c.created_at DESC, c.id DESC LIMIT ?"
    return db.execute(sql, [limit]).fetchall()


def conflict(db, conflict_id):
    return db.execute("SELECT * FROM gate_conflicts WHERE id = ?", [conflict_id]).fetchone()


def resolve_conflict(db, conflict_id, *, by, note, at) -> int:
    cur = db.execute("UPDATE gate_conflicts SET resolved_at = ?, resolved_by = ?, note = ? "
                     "WHERE id = ? AND resolved_at IS NULL", [at, by, note, conflict_id])
    return cur.rowcount


def passages_between(db, site_id, start: str, end: str):
    """(ticket_id, direction, at) of a site's passages with start <= at < end, in order."""
    return db.execute("SELECT ticket_id, direction, at FROM gate_passages WHERE site_id = ? "
                      "AND at >= ? AND at < ? ORDER BY at, id", [site_id, start, end]).fetchall()


def entries_per_day(db, site_id, first: str, last: str):
    """(day, entries) for days first..last (YYYY-MM-DD) from the per-minute counts."""
    return db.execute("SELECT substr(minute, 1, 10) AS day, sum(entries) AS entries "
                      "FROM gate_counts WHERE site_id = ? AND minute >= ? AND minute < ? "
                      "GROUP BY day ORDER BY day", [site_id, first, last + "T99"]).fetchall()


# --- offline bundle digests --------------------------------------------------------

def bundle_digests(db, site_id, day, key_id):
    return db.execute("SELECT ticket_id, version, digest FROM gate_bundle_digests "
                      "WHERE site_id = ? AND day = ? AND key_id = ?",
                      [site_id, day, key_id]).fetchall()


def save_bundle_digests(db, site_id, day, key_id, rows) -> None:
    """rows: (ticket_id, version, digest or None)."""
    db.conn.executemany(
        "INSERT OR REPLACE INTO gate_bundle_digests (site_id, day, key_id, ticket_id, version, "
        "digest) VALUES (?, ?, ?, ?, ?, ?)",
        [[site_id, day, key_id, tid, version, digest] for tid, version, digest in rows])


def prune_bundle_digests(db, before) -> int:
    return db.execute("DELETE FROM gate_bundle_digests WHERE day < ?", [before]).rowcount
