"""Security headers on every response.

- A Content Security Policy that runs scripts from this site's own files only (no inline
  script, no ``on…=`` handler, no ``eval``), loads everything else from this site, and
  lets no page be framed (``frame-ancestors 'none'``), embed plugins (``object-src``),
  move its base URL or post a form elsewhere. JSON data blocks
  (``<script type="application/json">``) are not scripts and need no exception.
- HSTS in production (``HSTS_MAX_AGE``), where the session and language cookies are
  Secure too (core.config: ``SESSION_COOKIE_SECURE``).
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, a
  ``Permissions-Policy`` that allows the camera (handheld gate), the microphone (questions
  by voice) and geolocation ("near me") to this site only, and
  ``Cross-Origin-Opener-Policy: same-origin``.

Views that need something else set their own header first (these are defaults).
"""
from __future__ import annotations

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "frame-src 'none'",
))
PERMISSIONS = "camera=(self), microphone=(self), geolocation=(self), payment=(), usb=()"


def headers(production: bool, hsts_max_age: int) -> dict[str, str]:
    """The security headers every response carries."""
    out = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS,
        "X-Frame-Options": "DENY",   # frame-ancestors for browsers that predate CSP 2
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if production and hsts_max_age > 0:
        out["Strict-Transport-Security"] = f"max-age={hsts_max_age}; includeSubDomains"
    return out


def init_app(app) -> None:
    """Add the headers to every response (settings read once, at start)."""
    defaults = headers(app.config["ENV"] == "production", app.config["HSTS_MAX_AGE"])

    @app.after_request
    def _security_headers(response):
        for name, value in defaults.items():
            response.headers.setdefault(name, value)
        return response
