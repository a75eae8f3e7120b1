"""Proof of work for anonymous writes (ALTCHA, self-hosted: no third-party service).

The server issues an HMAC-signed ALTCHA challenge (``altcha`` package, v2 format): a random
counter below ``POW_MAX_NUMBER`` is pre-solved on the server (one SHA-256), and the client
must find it by trying counters from 0 — on average ``max/2`` SHA-256 digests, a fraction of
a second in a phone's Web Worker (static/vendor/altcha/sha.js, the ``altcha`` npm package's
worker). Verifying costs two HMACs (the derived key is signed: ALTCHA's fast path).

A challenge expires ``POW_TTL_SECONDS`` after it is issued (its expiry is inside the signed
data, checked against the app's clock) and is good for one request: its signature is
remembered in the rate-limit storage until it expires, so a replay is refused in every
server process, and the memory is bounded by the expiry.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

import altcha

from .errors import DomainError
from .ratelimit import Limits, RateLimited, Rule
from .text import _l

ALGORITHM = "SHA-256"
INVALID = _l("The security check's answer is not valid.")


def _keys(secret_key: str) -> tuple[bytes, bytes]:
    """The challenge-signing and derived-key-signing secrets, derived from SECRET_KEY."""
    return (hmac.new(secret_key.encode(), b"altcha-challenge", hashlib.sha256).digest(),
            hmac.new(secret_key.encode(), b"altcha-derived-key", hashlib.sha256).digest())


def issue(secret_key: str, *, now: float, ttl_s: int, max_number: int) -> dict:
    """A signed challenge (ALTCHA v2 JSON) that expires ``ttl_s`` after ``now``."""
    sign, key_sign = _keys(secret_key)
    challenge = altcha.create_challenge(
        ALGORITHM, 1, counter=secrets.randbelow(max_number + 1), key_prefix_length=8,
        data={"exp": int(now) + ttl_s}, hmac_secret=sign, hmac_key_secret=key_sign)
    return challenge.to_dict()


def _refused(code: str, message) -> DomainError:
    return DomainError(code, message, 400)


def check(payload, secret_key: str, *, now: float) -> str:
    """A solved, unexpired challenge's signature (its id), or a refusal: ``pow_missing``,
    ``pow_invalid``, ``pow_expired`` (400). Count it once with ``once_rule``."""
    if not isinstance(payload, str) or not payload.strip():
        raise _refused("pow_missing", _l("The booking page's security check did not run: "
                                         "reload the page and try again (API clients: see "
                                         "docs/ticketing.md)."))
    if len(payload) > 4096:
        raise _refused("pow_invalid", INVALID)
    try:
        parsed = altcha.Payload.from_base64(payload.strip())
        exp = (parsed.challenge.parameters.data or {}).get("exp")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise _refused("pow_invalid", INVALID) from None
    sign, key_sign = _keys(secret_key)
    result = altcha.verify_solution(parsed, sign, hmac_key_secret=key_sign)
    if not result.verified or isinstance(exp, bool) or not isinstance(exp, int):
        raise _refused("pow_invalid", INVALID)
    if exp <= now:  # signed, so only the server can have set it
        raise _refused("pow_expired", _l("The security check has expired: reload the page, or "
                                         "fetch a new challenge, and try again."))
    return parsed.challenge.signature


def once_rule(signature: str, ttl_s: int) -> Rule:
    """The rule that lets a challenge be used once within its life (``pow_replayed``); count
    it with the request's other limits in one ``Limits.enforce``."""
    return Rule("pow_replayed", f"1/{ttl_s}second", ("pow", signature),
                _l("This security check was already used; each request needs a new one."))


def verify(payload, secret_key: str, *, now: float, limits: Limits, ttl_s: int,
           with_rules: list[Rule] = ()) -> None:
    """``check``, then count the challenge as used (``pow_replayed`` on a second use) together
    with ``with_rules`` (e.g. the request's rate limit) in one ``Limits.acquire``: all are
    counted or none. A rule of ``with_rules`` refuses as RateLimited (429); a request
    without a valid answer is still counted against ``with_rules``, so a flood of them
    turns into cheap 429s (core.ratelimit.PenaltyBox)."""
    try:
        once = once_rule(check(payload, secret_key, now=now), ttl_s)
    except DomainError:
        _raise_refusal(limits.acquire(list(with_rules)))
        raise
    refused = limits.acquire(list(with_rules) + [once])
    if refused is None:
        return
    if refused[0] is once:
        raise _refused(once.code, once.message)
    _raise_refusal(refused)


def _raise_refusal(refused) -> None:
    if refused is not None:
        rule, retry = refused
        raise RateLimited(rule.code, rule.message, retry)
