"""All SQL of the ticketing domain, parameterised. Callers own the transactions."""
from __future__ import annotations

ACTIVE = ("pending", "valid")


# --- products and fares -------------------------------------------------------------

def upsert_row(db, table: str, row: dict, update: bool) -> int:
    """Insert a product or fare row; on a known id, overwrite it only with ``update``."""
    if table not in ("tk_products", "tk_fares"):
        raise ValueError(f"not a data-file table: {table}")
    cols = list(row)
    sql = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
           " ON CONFLICT(id) DO ")
    sql += ("UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
            if update else "NOTHING")
    return db.execute(sql, [row[c] for c in cols]).rowcount


def columns(db, table: str) -> set:
    if table not in ("tk_products", "tk_fares"):
        raise ValueError(f"not a data-file table: {table}")
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def retire_fares_except(db, keep: list) -> None:
    """Fare rules no longer in the data file: never offered again, kept for old tickets."""
    marks = ", ".join("?" * len(keep))
    db.execute(f"UPDATE tk_fares SET retired = 1, enabled = 0 WHERE id NOT IN ({marks})", keep)


def update_fare_terms(db, row: dict) -> None:
    cols = [c for c in row if c != "id"]
    db.execute(f"UPDATE tk_fares SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
               [row[c] for c in cols] + [row["id"]])


def update_product_periods(db, product_id: str, periods_json: str) -> None:
    db.execute("UPDATE tk_products SET periods_json = ? WHERE id = ?", [periods_json, product_id])


def products(db, active_only: bool = True):
    where = "WHERE active = 1" if active_only else ""
    return db.execute(f"SELECT * FROM tk_products {where} ORDER BY sort, id").fetchall()


def product(db, product_id: str):
    return db.execute("SELECT * FROM tk_products WHERE id = ?", [product_id]).fetchone()


def update_product(db, product_id: str, price_fen: int, active: bool) -> None:
    db.execute("UPDATE tk_products SET price_fen = ?, active = ? WHERE id = ?",
               [price_fen, int(active), product_id])


def fares(db):
    return db.execute("SELECT * FROM tk_fares ORDER BY sort, id").fetchall()


def fare(db, fare_id: str):
    return db.execute("SELECT * FROM tk_fares WHERE id = ?", [fare_id]).fetchone()


def set_fare_enabled(db, fare_id: str, enabled: bool) -> None:
    db.execute("UPDATE tk_fares SET enabled = ? WHERE id = ?", [int(enabled), fare_id])


# --- policy and slots -----------------------------------------------------------------

def policy(db, site_id: str):
    return db.execute("SELECT * FROM tk_policy WHERE site_id = ?", [site_id]).fetchone()


def set_policy(db, site_id: str, slot_minutes: int, reserved_share: float, at: str, by: str):
    db.execute("INSERT INTO tk_policy (site_id, slot_minutes, reserved_share, updated_at, updated_by)"
               " VALUES (?, ?, ?, ?, ?) ON CONFLICT(site_id) DO UPDATE SET slot_minutes ="
               " excluded.slot_minutes, reserved_share = excluded.reserved_share, updated_at ="
               " excluded.updated_at, updated_by = excluded.updated_by",
               [site_id, slot_minutes, reserved_share, at, by])


def slots_of_day(db, site_id: str, day: str):
    return db.execute("SELECT * FROM tk_slots WHERE site_id = ? AND day = ? ORDER BY seq",
                      [site_id, day]).fetchall()


def insert_slot(db, site_id, day, seq, start_at, end_at, quota, window_quota) -> None:
    db.execute("INSERT INTO tk_slots (site_id, day, seq, start_at, end_at, quota, window_quota)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               [site_id, day, seq, start_at, end_at, quota, window_quota])


def set_slot_quota(db, slot_id: int, quota: int, window_quota: int) -> None:
    db.execute("UPDATE tk_slots SET quota = ?, window_quota = ? WHERE id = ?",
               [quota, window_quota, slot_id])


def slot(db, slot_id: int):
    return db.execute("SELECT * FROM tk_slots WHERE id = ?", [slot_id]).fetchone()


def slot_counts_of_day(db, site_id: str, day: str):
    """(slot_id, channel, status, n) for active tickets of a site's day."""
    return db.execute(
        "SELECT t.slot_id, t.channel, t.status, count(*) AS n FROM tk_tickets t"
        " JOIN tk_slots s ON s.id = t.slot_id WHERE s.site_id = ? AND s.day = ?"
        " AND t.status IN ('pending', 'valid') GROUP BY t.slot_id, t.channel, t.status",
        [site_id, day]).fetchall()


def slot_counts(db, slot_id: int):
    return db.execute(
        "SELECT ? AS slot_id, channel, status, count(*) AS n FROM tk_tickets WHERE slot_id = ?"
        " AND status IN ('pending', 'valid') GROUP BY channel, status", [slot_id, slot_id]).fetchall()


# --- pauses -------------------------------------------------------------------------------

def pauses(db, site_id: str):
    return db.execute("SELECT * FROM tk_pauses WHERE site_id = ? ORDER BY at",
                      [site_id]).fetchall()


def add_pause(db, site_id, slot_id, actor, reason, at) -> None:
    db.execute("INSERT INTO tk_pauses (site_id, slot_id, actor, reason, at) VALUES (?, ?, ?, ?, ?)"
               " ON CONFLICT(site_id, slot_id, actor) DO UPDATE SET reason = excluded.reason",
               [site_id, slot_id, actor, reason, at])


def remove_pauses(db, site_id, slot_id, actor=None) -> int:
    if actor is None:
        return db.execute("DELETE FROM tk_pauses WHERE site_id = ? AND slot_id = ?",
                          [site_id, slot_id]).rowcount
    return db.execute("DELETE FROM tk_pauses WHERE site_id = ? AND slot_id = ? AND actor = ?",
                      [site_id, slot_id, actor]).rowcount


def log_pause(db, site_id, slot_id, action, actor, reason, at) -> None:
    db.execute("INSERT INTO tk_pause_log (site_id, slot_id, action, actor, reason, at)"
               " VALUES (?, ?, ?, ?, ?, ?)", [site_id, slot_id, action, actor, reason, at])


def pause_log(db, site_id: str, limit: int = 20):
    return db.execute("SELECT * FROM tk_pause_log WHERE site_id = ? ORDER BY id DESC LIMIT ?",
                      [site_id, limit]).fetchall()


# --- holds, orders, tickets ---------------------------------------------------------------

def expire_holds(db, now: str) -> int:
    n = db.execute("UPDATE tk_tickets SET status = 'expired' WHERE status = 'pending' AND order_id"
                   " IN (SELECT id FROM tk_orders WHERE status = 'held' AND hold_expires_at <= ?)",
                   [now]).rowcount
    if n == 0:  # a held order always has pending tickets, so none lapsed
        return 0
    return db.execute("UPDATE tk_orders SET status = 'expired' WHERE status = 'held'"
                      " AND hold_expires_at <= ?", [now]).rowcount


def insert_order(db, row: dict) -> int:
    cols = list(row)
    cur = db.execute(f"INSERT INTO tk_orders ({', '.join(cols)}) VALUES "
                     f"({', '.join('?' * len(cols))})", [row[c] for c in cols])
    return cur.lastrowid


def order_by_number(db, number: str):
    return db.execute("SELECT * FROM tk_orders WHERE number = ?", [number]).fetchone()


def order_by_id(db, order_id: int):
    return db.execute("SELECT * FROM tk_orders WHERE id = ?", [order_id]).fetchone()


def order_by_key(db, key: str):
    return db.execute("SELECT * FROM tk_orders WHERE idempotency_key = ?", [key]).fetchone()


def set_order_status(db, order_id: int, status: str, paid_at: str | None = None) -> None:
    if paid_at:
        db.execute("UPDATE tk_orders SET status = ?, paid_at = ? WHERE id = ?",
                   [status, paid_at, order_id])
    else:
        db.execute("UPDATE tk_orders SET status = ? WHERE id = ?", [status, order_id])


def set_order_slot(db, order_id: int, slot_id: int, day: str) -> None:
    db.execute("UPDATE tk_orders SET slot_id = ?, day = ? WHERE id = ?", [slot_id, day, order_id])


def insert_ticket(db, row: dict) -> int:
    cols = list(row)
    return db.execute(f"INSERT INTO tk_tickets ({', '.join(cols)}) VALUES "
                      f"({', '.join('?' * len(cols))})", [row[c] for c in cols]).lastrowid


def tickets_of_order(db, order_id: int):
    return db.execute("SELECT * FROM tk_tickets WHERE order_id = ? ORDER BY id",
                      [order_id]).fetchall()


def ticket(db, ticket_id: int):
    return db.execute("SELECT * FROM tk_tickets WHERE id = ?", [ticket_id]).fetchone()


def set_tickets_status(db, order_id: int, old: str, new: str) -> int:
    return db.execute("UPDATE tk_tickets SET status = ? WHERE order_id = ? AND status = ?",
                      [new, order_id, old]).rowcount


def refund_ticket(db, ticket_id: int, at: str) -> None:
    db.execute("UPDATE tk_tickets SET status = 'refunded', refunded_at = ?, version = version + 1"
               " WHERE id = ?", [at, ticket_id])


def bump_version(db, ticket_id: int) -> None:
    db.execute("UPDATE tk_tickets SET version = version + 1 WHERE id = ?", [ticket_id])


def move_ticket(db, ticket_id: int, slot_id: int, day: str, valid_from: str, valid_until: str):
    db.execute("UPDATE tk_tickets SET slot_id = ?, day = ?, valid_from = ?, valid_until = ?,"
               " version = version + 1 WHERE id = ?",
               [slot_id, day, valid_from, valid_until, ticket_id])


def holder_conflict(db, document_hash: str, day: str, sites_mask: int, exclude_id: int = 0):
    return db.execute("SELECT id FROM tk_tickets WHERE document_hash = ? AND day = ?"
                      " AND status IN ('pending', 'valid') AND (sites_mask & ?) != 0 AND id != ?"
                      " LIMIT 1", [document_hash, day, sites_mask, exclude_id]).fetchone()


def active_free_days(db, document_hash: str, from_day: str, sites_mask: int) -> int:
    """Future days on which a document holds a free ticket (held or valid) at any of the sites."""
    return db.execute("SELECT count(DISTINCT day) FROM tk_tickets WHERE document_hash = ?"
                      " AND day >= ? AND status IN ('pending', 'valid') AND price_fen = 0"
                      " AND (sites_mask & ?) != 0", [document_hash, from_day, sites_mask]).fetchone()[0]


def slot_free_online(db, slot_id: int) -> int:
    """Free tickets (held or valid) booked online in a slot."""
    return db.execute("SELECT count(*) FROM tk_tickets WHERE slot_id = ? AND channel = 'online'"
                      " AND status IN ('pending', 'valid') AND price_fen = 0",
                      [slot_id]).fetchone()[0]


def set_order_secret(db, order_id: int, secret_hash: str, secret_enc: str) -> None:
    db.execute("UPDATE tk_orders SET secret_hash = ?, secret_enc = ? WHERE id = ?",
               [secret_hash, secret_enc, order_id])


def add_revocation(db, key: str, ticket_id: int, reason: str, at: str) -> None:
    db.execute("INSERT OR IGNORE INTO tk_revocations (key, ticket_id, reason, at) VALUES (?, ?, ?, ?)",
               [key, ticket_id, reason, at])


def revocation_keys(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT key FROM tk_revocations ORDER BY at, key")]


# --- gate views -----------------------------------------------------------------------

_GATE_SELECT = ("SELECT t.*, p.name_zh, p.name_en, p.covers_json, p.reentry_allowed,"
                " p.max_entries_per_site, s.start_at AS slot_start, s.end_at AS slot_end,"
                " f.name_zh AS fare_zh, f.name_en AS fare_en"
                " FROM tk_tickets t JOIN tk_products p ON p.id = t.product_id"
                " JOIN tk_slots s ON s.id = t.slot_id LEFT JOIN tk_fares f ON f.id = t.fare_id")


def gate_ticket(db, ticket_id: int):
    return db.execute(_GATE_SELECT + " WHERE t.id = ?", [ticket_id]).fetchone()


def gate_tickets_on(db, site_bit: int, day: str, document_hash: str | None = None):
    sql = (_GATE_SELECT + " WHERE t.status = 'valid' AND (t.sites_mask & ?) != 0"
           " AND substr(t.valid_from, 1, 10) <= ? AND substr(t.valid_until, 1, 10) >= ?")
    args = [site_bit, day, day]
    if document_hash is not None:
        sql += " AND t.document_hash = ?"
        args.append(document_hash)
    return db.execute(sql + " ORDER BY t.id", args).fetchall()


def ticket_documents(db, ticket_ids: list[int]):
    """(id, document_type, document_enc) of some tickets, for digests made inside ticketing."""
    marks = ", ".join("?" for _ in ticket_ids)
    return db.execute(f"SELECT id, document_type, document_enc FROM tk_tickets WHERE id IN ({marks})",
                      list(ticket_ids)).fetchall()


# --- payments -------------------------------------------------------------------------

def insert_payment(db, order_id, provider, reference, kind, amount_fen, status, at) -> None:
    db.execute("INSERT INTO tk_payments (order_id, provider, reference, kind, amount_fen, status,"
               " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [order_id, provider, reference, kind, amount_fen, status, at, at])


def payment(db, reference: str):
    return db.execute("SELECT * FROM tk_payments WHERE reference = ?", [reference]).fetchone()


def payments_of_order(db, order_id: int):
    return db.execute("SELECT * FROM tk_payments WHERE order_id = ? ORDER BY id",
                      [order_id]).fetchall()


def set_payment_status(db, reference: str, status: str, at: str) -> None:
    db.execute("UPDATE tk_payments SET status = ?, updated_at = ? WHERE reference = ?",
               [status, at, reference])


def event_applied(db, provider: str, event_id: str) -> bool:
    return db.execute("SELECT 1 FROM tk_payment_events WHERE provider = ? AND event_id = ?"
                      " AND outcome IN ('applied', 'ignored')", [provider, event_id]).fetchone() is not None


def log_event(db, provider, event_id, reference, kind, outcome, detail, at) -> None:
    db.execute("INSERT INTO tk_payment_events (provider, event_id, reference, kind, outcome, detail,"
               " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               [provider, event_id, reference, kind, outcome, detail[:500], at])


def events(db, limit: int = 50):
    return db.execute("SELECT * FROM tk_payment_events ORDER BY id DESC LIMIT ?", [limit]).fetchall()


def add_outbox(db, event_id, body, signature, at) -> None:
    db.execute("INSERT INTO tk_sandbox_outbox (event_id, body, signature, created_at)"
               " VALUES (?, ?, ?, ?)", [event_id, body, signature, at])


def outbox(db, undelivered_only: bool = True, limit: int = 100):
    where = "WHERE delivered_at IS NULL" if undelivered_only else ""
    return db.execute(f"SELECT * FROM tk_sandbox_outbox {where} ORDER BY id LIMIT ?",
                      [limit]).fetchall()


def mark_outbox(db, outbox_id: int, delivered_at: str | None) -> None:
    db.execute("UPDATE tk_sandbox_outbox SET attempts = attempts + 1, delivered_at ="
               " coalesce(?, delivered_at) WHERE id = ?", [delivered_at, outbox_id])


def mark_outbox_event(db, event_id: str, delivered_at: str) -> None:
    db.execute("UPDATE tk_sandbox_outbox SET attempts = attempts + 1, delivered_at = ?"
               " WHERE event_id = ?", [delivered_at, event_id])


# --- reports --------------------------------------------------------------------------

def report_rows(db, site_id: str, first: str, last: str):
    return db.execute(
        "SELECT s.day, s.start_at, s.end_at, s.quota, s.window_quota,"
        " sum(t.status = 'valid' AND t.channel = 'online') AS sold_online,"
        " sum(t.status = 'valid' AND t.channel = 'window') AS sold_window,"
        " sum(t.status = 'pending') AS held,"
        " sum(t.status = 'refunded') AS refunded,"
        " coalesce(sum(CASE WHEN t.status = 'valid' THEN t.price_fen END), 0) AS revenue_fen"
        " FROM tk_slots s LEFT JOIN tk_tickets t ON t.slot_id = s.id"
        " WHERE s.site_id = ? AND s.day BETWEEN ? AND ? GROUP BY s.id ORDER BY s.day, s.seq",
        [site_id, first, last]).fetchall()


def valid_tickets_of_day(db, site_id: str, day: str):
    """(id, slot_id, created_at) of the valid tickets in a site's slots on a day."""
    return db.execute(
        "SELECT t.id, t.slot_id, t.created_at FROM tk_tickets t JOIN tk_slots s ON s.id = "
        "t.slot_id WHERE s.site_id = ? AND s.day = ? AND t.status = 'valid' ORDER BY t.id",
        [site_id, day]).fetchall()
