"""SQL for core's tables: users and device tokens."""
from __future__ import annotations


def find_user(db, username: str):
    return db.execute("SELECT * FROM users WHERE username = ? AND active = 1",
                      [username]).fetchone()


def user_by_id(db, user_id: int):
    return db.execute("SELECT * FROM users WHERE id = ? AND active = 1", [user_id]).fetchone()


def username_exists(db, username: str) -> bool:
    return db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone() is not None


def insert_user(db, *, username, display_name, password_hash, role, created_at) -> int:
    cur = db.execute(
        "INSERT INTO users (username, display_name, password_hash, role, created_at) "
        "VALUES (?, ?, ?, ?, ?)", [username, display_name, password_hash, role, created_at])
    return cur.lastrowid


def set_active(db, user_id: int, active: bool) -> None:
    db.execute("UPDATE users SET active = ? WHERE id = ?", [1 if active else 0, user_id])


def list_users(db) -> list:
    return db.execute(
        "SELECT u.*, (SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id "
        "AND t.revoked_at IS NULL) AS live_tokens FROM users u ORDER BY u.role, u.username"
    ).fetchall()


def insert_token(db, user_id: int, token_hash: str, label: str, created_at: str) -> None:
    db.execute("INSERT INTO api_tokens (user_id, token_hash, label, created_at) "
               "VALUES (?, ?, ?, ?)", [user_id, token_hash, label, created_at])


def revoke_tokens(db, *, at: str, token_id: int | None = None, user_id: int | None = None) -> int:
    if token_id is not None:
        cur = db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                         [at, token_id])
    else:
        cur = db.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? "
                         "AND revoked_at IS NULL", [at, user_id])
    return cur.rowcount


def user_for_token_hash(db, token_hash: str):
    return db.execute(
        "SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.active = 1",
        [token_hash]).fetchone()
