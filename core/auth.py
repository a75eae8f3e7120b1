"""Staff accounts, device tokens and role checks.

Roles: ``admin`` (everything), ``staff`` (control room, ticket window),
``gate`` (ticket-gate devices) and ``worker`` (crowd-counting workers). Devices
authenticate with bearer tokens, stored only as SHA-256 hashes (they are 256-bit
random, so a fast hash is enough); people log in with a password hashed by scrypt.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import wraps

from flask import g, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from . import repo
from .clock import iso
from .db import get_db, immediate
from .errors import DomainError, Forbidden, Unauthorized, ValidationError
from .ratelimit import Limits, RateLimited, Rule
from .text import _l

ROLES = ("admin", "staff", "gate", "worker")
PERSON_ROLES = ("admin", "staff")
DEVICE_ROLES = ("gate", "worker")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,40}$")
MIN_PASSWORD = 10
# A fixed hash to compare against when the user does not exist, so a missing
# account costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" + "x" * 8, method="scrypt")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str

    def has_role(self, *roles: str) -> bool:
        # admin may do what staff may do; device roles are never implied.
        return self.role in roles or (self.role == "admin" and "staff" in roles)


def _user(row) -> User:
    return User(row["id"], row["username"], row["display_name"], row["role"])


# --- services ---------------------------------------------------------------

def create_user(db, *, username: str, password: str | None, role: str, clock,
                display_name: str = "") -> User:
    """Create a staff or device account; people need a password of 10+ characters."""
    if not USERNAME_RE.match(username or ""):
        raise ValidationError("invalid_username", _l("Usernames are 3-40 letters, digits, '.', "
                                                     "'_' or '-'."))
    if role not in ROLES:
        raise ValidationError("invalid_role", _l("Role must be one of %(roles)s.",
                                                 roles=', '.join(ROLES)))
    if role in PERSON_ROLES and (password is None or len(password) < MIN_PASSWORD):
        raise ValidationError("weak_password", _l("Passwords need at least %(min_password)s "
                                                  "characters.", min_password=MIN_PASSWORD))
    pw_hash = generate_password_hash(password, method="scrypt") if password else None
    with immediate(db):
        if repo.username_exists(db, username):
            raise DomainError("username_taken", _l("That username is already taken."), 409)
        user_id = repo.insert_user(db, username=username, display_name=display_name or username,
                                   password_hash=pw_hash, role=role, created_at=iso(clock.now()))
    return User(user_id, username, display_name or username, role)


def _login_rules(username: str, client: str, max_failures: int, max_failures_per_ip: int,
                 window_seconds: int) -> list[Rule]:
    message = _l("Too many failed logins.")
    return [Rule("too_many_attempts", f"{max_failures}/{window_seconds}second",
                 ("login-account", username.lower()), message),
            Rule("too_many_attempts", f"{max_failures_per_ip}/{window_seconds}second",
                 ("login-address", client), message)]


def authenticate(db, *, username: str, password: str, client: str, limits: Limits,
                 max_failures: int, max_failures_per_ip: int, window_seconds: int) -> User:
    """Check a password; failures are counted per account and per address (``client``, the
    hashed address) in the shared rate-limit storage, and either count past its maximum
    locks logins out for the rest of the window."""
    username = (username or "").strip()
    rules = _login_rules(username, client, max_failures, max_failures_per_ip, window_seconds)
    refused = limits.refusal(rules)
    if refused:
        raise RateLimited("too_many_attempts", refused[0].message, refused[1])
    row = repo.find_user(db, username) if username else None
    ok = check_password_hash(row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH,
                             password or "")
    if not row or not ok or row["role"] not in PERSON_ROLES:
        for rule in rules:
            limits.count(rule)
        raise Unauthorized("bad_credentials", _l("Wrong username or password."))
    limits.clear(rules[0])  # a right password ends the account's count, not the address's
    return _user(row)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db, *, user_id: int, label: str, clock) -> str:
    """Create a bearer token for a device account; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    with immediate(db):
        repo.insert_token(db, user_id, hash_token(token), label, iso(clock.now()))
    return token


def revoke_token(db, *, token_id: int, clock) -> None:
    with immediate(db):
        repo.revoke_tokens(db, at=iso(clock.now()), token_id=token_id)


def user_for_token(db, token: str) -> User | None:
    row = repo.user_for_token_hash(db, hash_token(token))
    return _user(row) if row else None


def username_taken(db, username: str) -> bool:
    """Whether any account, active or disabled, has this username."""
    return repo.username_exists(db, username)


def find_account(db, username: str) -> User | None:
    """An active account by username (any role), or None."""
    row = repo.find_user(db, username)
    return _user(row) if row else None


def account_by_id(db, user_id) -> User | None:
    """An active account by id (any role), or None."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        return None
    row = repo.user_by_id(db, user_id)
    return _user(row) if row else None


def list_accounts(db) -> list[dict]:
    """Every account with its role, state and number of live tokens (no secrets)."""
    return [{"id": r["id"], "username": r["username"], "display_name": r["display_name"],
             "role": r["role"], "active": bool(r["active"]), "live_tokens": r["live_tokens"],
             "created_at": r["created_at"]} for r in repo.list_users(db)]


def deactivate_account(db, *, user_id: int, by: User, clock) -> None:
    """Disable an account and revoke its tokens; an admin cannot disable themself."""
    if user_id == by.id:
        raise ValidationError("cannot_disable_self", _l("You cannot disable your own account."))
    with immediate(db):
        repo.set_active(db, user_id, False)
        repo.revoke_tokens(db, at=iso(clock.now()), user_id=user_id)


def rotate_device_token(db, *, user_id: int, clock) -> str:
    """Revoke a device's tokens and issue a new one (shown once)."""
    row = repo.user_by_id(db, user_id)
    if row is None or row["role"] not in DEVICE_ROLES:
        raise ValidationError("not_a_device", _l("Only gate and worker devices have tokens."))
    with immediate(db):
        repo.revoke_tokens(db, at=iso(clock.now()), user_id=user_id)
    return issue_token(db, user_id=user_id, label=row["username"], clock=clock)


def create_device(db, *, username: str, role: str, clock, label: str = "") -> tuple[User, str]:
    """A gate or worker account with its first token."""
    if role not in DEVICE_ROLES:
        raise ValidationError("invalid_role", _l("Devices are 'gate' or 'worker'."))
    user = create_user(db, username=username, password=None, role=role, clock=clock)
    return user, issue_token(db, user_id=user.id, label=label or username, clock=clock)


# --- request helpers --------------------------------------------------------

def current_user() -> User | None:
    if "user" not in g:
        g.user = None
        uid = session.get("uid")
        if uid is not None:
            row = repo.user_by_id(get_db(), uid)
            if row is not None and row["role"] in PERSON_ROLES:
                g.user = _user(row)
    return g.user


def login_session(user: User) -> None:
    session.clear()
    session["uid"] = user.id
    session.permanent = True


def role_required(*roles: str):
    """Page guard: anonymous visitors go to the login page; wrong roles get 403."""
    def deco(view):
        view._required_roles = roles
        @wraps(view)
        def wrapper(*a, **kw):
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    raise Unauthorized("login_required", _l("Log in first."))
                return redirect(url_for("core.login", next=request.full_path))
            if not user.has_role(*roles):
                raise Forbidden("forbidden", _l("Your role may not do this."))
            return view(*a, **kw)
        wrapper._required_roles = roles
        return wrapper
    return deco


def device_or_role_required(device_roles: tuple[str, ...], *roles: str):
    """API guard for what devices and people both read: with an ``Authorization`` header,
    a bearer token of one of ``device_roles`` (as token_required); without one, a session
    of one of ``roles`` (as role_required). Anonymous callers get 401."""
    def deco(view):
        by_token = token_required(*device_roles)(view)
        by_session = role_required(*roles)(view)

        @wraps(view)
        def wrapper(*a, **kw):
            if request.headers.get("Authorization"):
                return by_token(*a, **kw)
            return by_session(*a, **kw)
        wrapper._required_roles = tuple(roles) + tuple(device_roles)
        wrapper._device_roles = tuple(device_roles)
        return wrapper
    return deco


def token_required(*roles: str):
    """API guard for devices: ``Authorization: Bearer <token>``; 401 when missing
    or unknown, 403 when the token's role is not allowed here."""
    def deco(view):
        @wraps(view)
        def wrapper(*a, **kw):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("missing_token", _l("Send 'Authorization: Bearer <token>'."))
            user = user_for_token(get_db(), token.strip())
            if user is None:
                raise Unauthorized("bad_token", _l("The token is unknown or revoked."))
            if not user.has_role(*roles):
                raise Forbidden("forbidden", _l("This token's role may not do this."))
            g.device = user
            return view(*a, **kw)
        wrapper._required_roles = roles
        wrapper._token_auth = True
        return wrapper
    return deco
