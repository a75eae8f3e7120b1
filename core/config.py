"""Configuration: defaults in code, then ``instance/config.toml``, then ``SCENIC_*``
environment variables, then the mapping passed to ``create_app``.

Every setting is declared with a type and a check. Unknown keys and bad values
raise ConfigError naming the key, so a typo stops start-up instead of being ignored.
Domains declare their own settings in ``<domain>/settings.py`` (``SETTINGS``).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError
from .files import exclusive_lock, write_secret

ENV_PREFIX = "SCENIC_"
# SCENIC_* variables read by the launch scripts, not settings of the app.
ENV_NOT_SETTINGS = {"INSTANCE", "NO_WORKERS"}


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str = ""
    check: Callable[[Any], str | None] | None = None  # returns a problem or None
    choices: tuple | None = None


def positive(v):
    return None if v > 0 else "must be greater than 0"


def non_negative(v):
    return None if v >= 0 else "must be 0 or more"


def rate_limits(v):
    """A check for limit strings in the ``limits`` notation ("10/minute;60/hour")."""
    from limits import parse_many
    try:
        return None if parse_many(v) else "give limits like '10/minute;60/hour'"
    except ValueError:
        return "give limits like '10/minute;60/hour'"


def fraction(v):
    return None if 0 <= v <= 1 else "must be between 0 and 1"


CORE_SETTINGS = [
    Setting("ENV", str, "development", "development, production or testing",
            choices=("development", "production", "testing")),
    Setting("DATABASE", str, "", "SQLite file; empty means <instance>/scenic.db"),
    Setting("TIMEZONE", str, "Asia/Shanghai", "Local time zone of the scenic areas"),
    Setting("DEFAULT_LANG", str, "zh", "Language when the browser states none we have; "
            "English or a language with a catalogue"),
    Setting("TRANSLATIONS_DIR", str, "",
            "Folder of the gettext catalogues; empty means translations/ beside the code"),
    Setting("SESSION_COOKIE_SECURE", bool, None,
            "Send the session cookie over HTTPS only (default: on in production)"),
    Setting("HSTS_MAX_AGE", int, 31_536_000,
            "Strict-Transport-Security max-age in production, in seconds (0: no HSTS header)",
            non_negative),
    Setting("SESSION_HOURS", int, 12, "Staff session lifetime in hours", positive),
    Setting("LOGIN_MAX_FAILURES", int, 5, "Failed logins per user before a lock-out", positive),
    Setting("LOGIN_MAX_FAILURES_PER_IP", int, 20, "Failed logins per address before a lock-out",
            positive),
    Setting("LOGIN_WINDOW_SECONDS", int, 900, "Window for counting failed logins", positive),
    Setting("LOGIN_PER_CLIENT", str, "30/minute", "Login attempts (right or wrong) one address "
            "may make", rate_limits),
    Setting("MAX_CONTENT_LENGTH", int, 16 * 1024 * 1024, "Largest request body in bytes", positive),
    Setting("DB_BUSY_TIMEOUT_MS", int, 5000, "How long a writer waits for the lock", positive),
    Setting("DB_POOL_SIZE", int, 8, "Idle connections kept for reuse (0: close each one)",
            non_negative),
    Setting("LOG_LEVEL", str, "INFO", "Python logging level",
            choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    Setting("RATELIMIT_STORAGE_URI", str, "",
            "Where rate-limit counts live, shared by every server process: empty means "
            "sqlite:///<instance>/ratelimit.db; redis://host:6379 for several machines",
            lambda v: None if v == "" or v.split("://", 1)[0] in ("sqlite", "redis", "rediss",
                                                                  "redis+sentinel", "memory")
            else "use sqlite://, redis:// or memory://"),
    Setting("TRUSTED_PROXY_HOPS", int, 0,
            "Reverse proxies in front of the server whose X-Forwarded-For/-Proto are trusted "
            "(0: none; 1 behind one TLS proxy)", lambda v: None if 0 <= v <= 5 else "must be 0 to 5"),
    Setting("POW_MAX_NUMBER", int, 15_000,
            "Proof-of-work difficulty: the client tries on average half this many SHA-256 "
            "digests", lambda v: None if 100 <= v <= 10_000_000 else "must be 100 to 10000000"),
    Setting("POW_TTL_SECONDS", int, 600, "How long a proof-of-work challenge stays valid",
            lambda v: None if 30 <= v <= 3600 else "must be 30 to 3600"),
    Setting("POW_CHALLENGES_PER_CLIENT", str, "60/minute;600/hour",
            "Proof-of-work challenges one address may fetch", rate_limits),
    Setting("HOST", str, "127.0.0.1", "Address the production server binds"),
    Setting("PORT", int, 8000, "Port the production server binds", positive),
    Setting("THREADS", int, 8, "Threads of each web process", positive),
    # Serving (docs/operations.md): the front on PORT routes each kind of work to its pool.
    Setting("SERVE_KIND", str, "all", "What this process serves: all (tests, development), "
            "web, live or inference; set by the process that starts it",
            choices=("all", "web", "live", "inference")),
    Setting("WEB_PROCESSES", int, 2, "Processes of the web pool (pages, gates, bookings)",
            positive),
    Setting("WEB_PORT", int, 0, "Loopback port of the web pool; 0 means PORT + 1", non_negative),
    Setting("LIVE_PROCESSES", int, 1, "Processes of the live pool (SSE, MJPEG)", positive),
    Setting("LIVE_MAX_STREAMS", int, 64, "Open live streams per live process; one more gets "
            "503", positive),
    Setting("LIVE_PORT", int, 0, "Loopback port of the live pool; 0 means PORT + 2",
            non_negative),
    Setting("INFERENCE_PROCESSES", int, 1, "Model worker processes (speech, synthesis, "
            "retrieval); on 2 cores one at a time is fastest", positive),
    Setting("INFERENCE_QUEUE", int, 8, "Model jobs that may wait beyond those running; one "
            "more gets 503 with Retry-After", non_negative),
    Setting("INFERENCE_NICE", int, 10, "Niceness of the model worker processes, so gates and "
            "bookings get the CPU first", non_negative),
    Setting("INFERENCE_IDLE", bool, True, "Model worker processes run under Linux's SCHED_IDLE: "
            "they get a core only when gates, bookings and streams leave one (niceness alone "
            "shares the CPU, it does not give way); false: INFERENCE_NICE only"),
    Setting("INFERENCE_TIMEOUT", float, 60.0, "Longest a model job may take before 503",
            positive),
    Setting("INFERENCE_PORT", int, 0, "Loopback port of the inference pool; 0 means PORT + 3",
            non_negative),
    Setting("BACKUP_DIR", str, "", "Folder of the daily backups; empty means <instance>/backups"),
    Setting("BACKUP_TIME", str, "03:30", "Local time (HH:MM, TIMEZONE) of the daily backup",
            lambda v: None if re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v) else "must be HH:MM"),
    Setting("BACKUP_KEEP", int, 7, "Daily backups kept; older ones are deleted", positive),
    Setting("LOG_DIR", str, "", "Folder of the access and app logs under ./run.sh; empty means "
            "<instance>/logs"),
    Setting("LOG_ROTATE_BYTES", int, 10 * 1024 * 1024, "A log file is rotated at this size",
            positive),
    Setting("LOG_KEEP", int, 5, "Rotated log files kept per log", positive),
    Setting("METRICS_TOKEN", str, "", "Bearer token a Prometheus on another machine sends "
            "for /metrics (better kept in secrets.json); empty: served to the loopback only",
            lambda v: None if v == "" or len(v) >= 16 else "use at least 16 characters"),
]

# Secrets are generated on first run into <instance>/secrets.json (mode 0600).
# GATE_BUNDLE_ROOT_KEY is the root of the per-(site, day) keys offline gate bundles carry
# (gates/bundle.py): a secret of its own, so no key a gate holds is derived from the
# lookup key PII_HASH_KEY.
SECRET_NAMES = ["SECRET_KEY", "PII_HASH_KEY", "PII_ENC_KEY", "GATE_BUNDLE_ROOT_KEY"]


def _domain_settings() -> list[Setting]:
    from .domains import DOMAINS, domain_modules
    return [s for mod in domain_modules("settings", DOMAINS) for s in getattr(mod, "SETTINGS", [])]


def all_settings() -> dict[str, Setting]:
    table = {}
    for s in CORE_SETTINGS + _domain_settings():
        if s.name in table:
            raise RuntimeError(f"setting {s.name} declared twice")
        table[s.name] = s
    return table


def _coerce(setting: Setting, value: Any, from_text: bool) -> Any:
    t = setting.type
    if value is None:
        return None
    if t is bool:
        if isinstance(value, bool):
            return value
        if from_text and isinstance(value, str):
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
        raise ConfigError(setting.name, f"expected true or false, got {value!r}")
    if t in (int, float):
        if isinstance(value, bool):
            raise ConfigError(setting.name, f"expected a number, got {value!r}")
        if isinstance(value, (int, float)) and not from_text:
            if t is int and isinstance(value, float) and not value.is_integer():
                raise ConfigError(setting.name, f"expected a whole number, got {value!r}")
            return t(value)
        try:
            return t(str(value).strip())
        except ValueError:
            kind = "a whole number" if t is int else "a number"
            raise ConfigError(setting.name, f"expected {kind}, got {value!r}") from None
    if t is list:
        if isinstance(value, list):
            return value
        if from_text:
            return [p.strip() for p in str(value).split(",") if p.strip()]
        raise ConfigError(setting.name, f"expected a list, got {value!r}")
    if t is dict:
        if isinstance(value, dict):
            return value
        if from_text:
            try:
                parsed = json.loads(value)
            except ValueError:
                raise ConfigError(setting.name, "expected a JSON object") from None
            if isinstance(parsed, dict):
                return parsed
        raise ConfigError(setting.name, f"expected a table/object, got {value!r}")
    if t is str:
        if isinstance(value, str):
            return value
        raise ConfigError(setting.name, f"expected text, got {value!r}")
    raise ConfigError(setting.name, f"unsupported type {t}")


def _check(setting: Setting, value: Any) -> None:
    if value is None:
        return
    if setting.choices and value not in setting.choices:
        raise ConfigError(setting.name, f"must be one of {', '.join(map(str, setting.choices))}; "
                                        f"got {value!r}")
    if setting.check:
        problem = setting.check(value)
        if problem:
            raise ConfigError(setting.name, f"{problem}; got {value!r}")


def load_config(instance_path: str | Path, overrides: dict | None = None,
                environ: dict | None = None) -> dict:
    """Merge defaults, the instance file, the environment and overrides; validate."""
    table = all_settings()
    values = {name: s.default for name, s in table.items()}
    instance_path = Path(instance_path)

    def apply(source: dict, origin: str, from_text: bool):
        for key, raw in source.items():
            if key not in table:
                raise ConfigError(key, f"unknown setting (from {origin})")
            values[key] = _coerce(table[key], raw, from_text)

    cfg_file = instance_path / "config.toml"
    if cfg_file.exists():
        try:
            data = tomllib.loads(cfg_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(cfg_file), f"not valid TOML: {exc}") from None
        apply(data, str(cfg_file), False)
    env = os.environ if environ is None else environ
    apply({k[len(ENV_PREFIX):]: v for k, v in env.items()
           if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX):] not in ENV_NOT_SETTINGS},
          "environment", True)
    apply(overrides or {}, "create_app", False)
    for name, s in table.items():
        _check(s, values[name])
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(values["TIMEZONE"])
    except Exception:
        raise ConfigError("TIMEZONE", f"unknown time zone {values['TIMEZONE']!r}") from None
    from .i18n import available_languages, catalogue_dir
    langs = available_languages(catalogue_dir(values["TRANSLATIONS_DIR"]))
    if values["DEFAULT_LANG"] not in langs:
        raise ConfigError("DEFAULT_LANG", f"must be one of {', '.join(langs)} (the languages "
                                          f"with a catalogue); got {values['DEFAULT_LANG']!r}")
    if not values["DATABASE"]:
        values["DATABASE"] = str(instance_path / "scenic.db")
    for offset, name in enumerate(("WEB_PORT", "LIVE_PORT", "INFERENCE_PORT"), start=1):
        values[name] = values[name] or values["PORT"] + offset
    if not values["BACKUP_DIR"]:
        values["BACKUP_DIR"] = str(instance_path / "backups")
    if not values["LOG_DIR"]:
        values["LOG_DIR"] = str(instance_path / "logs")
    if values["SESSION_COOKIE_SECURE"] is None:
        values["SESSION_COOKIE_SECURE"] = values["ENV"] == "production"
    return values


def _read_secrets(path: Path) -> dict | None:
    """The secrets file's content, None when there is none; never through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:   # ELOOP: a symbolic link where the secrets should be
        raise ConfigError(str(path), f"cannot be read safely ({exc.strerror}); it must be a "
                          f"plain file, not a link") from None
    with os.fdopen(fd, encoding="utf-8") as fh:
        if os.fstat(fh.fileno()).st_mode & 0o077:
            os.fchmod(fh.fileno(), 0o600)   # a copy made with a loose umask: close it again
        text = fh.read()
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(str(path), "is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), "must hold a JSON object")
    return data


def load_secrets(instance_path: str | Path, names=SECRET_NAMES) -> dict:
    """Read instance secrets, generating any that are missing (never committed). Several
    processes starting at once end with one file: whoever holds the lock writes the
    missing secrets (core.files.write_secret: O_EXCL, 0600, renamed into place) and the
    others read what it wrote."""
    path = Path(instance_path) / "secrets.json"
    current = _read_secrets(path)
    if current is not None and all(n in current for n in names):
        return current
    with exclusive_lock(path.with_name("secrets.lock")):
        current = _read_secrets(path) or {}
        missing = [n for n in names if n not in current]
        if missing:
            current.update({n: secrets.token_hex(32) for n in missing})
            write_secret(path, json.dumps(current, indent=1))
    return current
