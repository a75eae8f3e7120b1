"""The site's MQTT broker: Debian's mosquitto, with a config, password file and ACL this
module writes from the credentials the site provisions (nothing anonymous).

Accounts on the broker:

* ``scenic-bridge`` (kind ``bridge``): the site's bridge process; reads and writes under
  the prefix. Its password lives in ``<instance>/mqtt/bridge.secret`` (0600).
* worker devices (kind ``worker``, username = the device account's): may publish only to
  ``<prefix>/worker/<username>/observations`` and ``.../status`` (their last will), and
  read nothing. Only active worker accounts get a line in the password file.
* readers (kind ``reader``: entrance signs, control-room systems): read the published
  state and events, write nothing.

Passwords are random (256 bits), shown once, and kept only as mosquitto's own salted
PBKDF2-SHA512 line (made by ``mosquitto_passwd -U``, never with the password on a command
line). ``sync_files`` rewrites the password file and ACL when they differ from what the
database says (a new or rotated credential, a deactivated device) and sends mosquitto a
SIGHUP, which reloads both and drops clients whose credentials are gone.
"""
from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.auth import find_account, username_taken
from core.clock import iso
from core.db import immediate
from core.errors import Conflict, NotFound, ValidationError
from core.files import write_secret
from core.text import _l

from . import repo
from .mqtt_topics import Topics

BRIDGE_USER = "scenic-bridge"
NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,40}$")   # core.auth's usernames, no ':' or '#'
MESSAGE_LIMIT = 64 * 1024    # bytes: an observation is under 8 KiB; a bigger one is refused
MAX_QUEUED = 1000            # per client, messages the broker holds for a slow subscriber


class BrokerError(RuntimeError):
    """mosquitto or its tools are missing or failed."""


@dataclass(frozen=True)
class BrokerFiles:
    folder: Path

    @property
    def conf(self) -> Path:
        return self.folder / "mosquitto.conf"

    @property
    def passwd(self) -> Path:
        return self.folder / "passwd"

    @property
    def acl(self) -> Path:
        return self.folder / "acl"

    @property
    def pid(self) -> Path:
        return self.folder / "mosquitto.pid"

    @property
    def bridge_secret(self) -> Path:
        return self.folder / "bridge.secret"


def files_for(instance_path: str | Path) -> BrokerFiles:
    return BrokerFiles(Path(instance_path) / "mqtt")


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto",) if os.access(p, os.X_OK)), None)


def password_line(username: str, password: str) -> str:
    """mosquitto's hashed line for a credential (salted PBKDF2-SHA512), made by its own
    tool on a private temporary file."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise BrokerError("mosquitto_passwd is missing: install Debian's mosquitto package "
                          "(scripts/setup.sh does)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "passwd"
        write_secret(path, f"{username}:{password}")
        done = subprocess.run([tool, "-U", str(path)], capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise BrokerError(f"mosquitto_passwd failed: {done.stderr.strip()}")
        line = path.read_text().strip()
    if not line.startswith(f"{username}:$"):
        raise BrokerError("mosquitto_passwd wrote an unexpected line")
    return line


# --- credentials ------------------------------------------------------------------------

def issue_credential(db, username: str, *, kind: str, clock) -> str:
    """Create or rotate a broker credential; returns the new password (shown once).
    A worker credential needs an active worker device of that name; a reader's name must
    not be any account's (a worker's topics follow its name)."""
    if kind not in ("worker", "reader"):
        raise ValidationError("invalid_kind", _l("A broker account is a worker or a reader."))
    if not isinstance(username, str) or not NAME_RE.match(username) or username == BRIDGE_USER:
        raise ValidationError("invalid_username", _l("Broker user names are 3-40 letters, "
                                                     "digits, '.', '_' or '-'."))
    account = find_account(db, username)   # active accounts only
    if kind == "worker" and (account is None or account.role != "worker"):
        raise NotFound("not_a_worker", _l("There is no active worker device of that name."))
    if kind == "reader" and username_taken(db, username):
        raise Conflict("name_taken", _l("That name belongs to an account; give the reader "
                                        "another name."))
    existing = repo.mqtt_credential(db, username)
    if existing is not None and existing["kind"] != kind:
        raise Conflict("name_taken", _l("That name belongs to an account; give the reader "
                                        "another name."))
    password = secrets.token_urlsafe(32)
    line = password_line(username, password)
    with immediate(db):
        repo.save_mqtt_credential(db, username, kind, line, iso(clock.now()))
    return password


def revoke_credential(db, username: str) -> None:
    with immediate(db):
        if not repo.delete_mqtt_credential(db, username):
            raise NotFound("unknown_credential", _l("There is no broker account of that "
                                                    "name."))


def bridge_password(db, files: BrokerFiles, *, clock) -> str:
    """The bridge's broker password (made once, kept 0600 beside the broker's files)."""
    if files.bridge_secret.is_file() and repo.mqtt_credential(db, BRIDGE_USER) is not None:
        return files.bridge_secret.read_text().strip()
    password = secrets.token_urlsafe(32)
    line = password_line(BRIDGE_USER, password)
    write_secret(files.bridge_secret, password)
    with immediate(db):
        repo.save_mqtt_credential(db, BRIDGE_USER, "bridge", line, iso(clock.now()))
    return password


# --- files --------------------------------------------------------------------------------

def live_credentials(db) -> list:
    """The bridge, readers, and worker credentials whose device account is still an active
    worker (a deactivated device loses the broker too)."""
    out = []
    for row in repo.mqtt_credentials(db):
        if row["kind"] == "worker":
            acc = find_account(db, row["username"])
            if acc is None or acc.role != "worker":
                continue
        out.append(row)
    return out


def passwd_text(rows) -> str:
    return "\n".join(r["password_line"] for r in rows) + "\n"


def acl_text(topics: Topics, readers: list[str], workers: list[str]) -> str:
    """Who may read and write what. Per-user blocks, not mosquitto's ``pattern`` lines
    (those would apply to readers too): a worker writes only its own inbound topics and
    reads nothing, a reader reads the published topics and writes nothing."""
    p = topics.prefix
    out = ["# Generated by crowd/broker.py; edits are overwritten.",
           f"user {BRIDGE_USER}", f"topic readwrite {p}/#", ""]
    for name in readers:
        out += [f"user {name}"] + [f"topic read {t}" for t in topics.reader_filters()] + [""]
    for name in workers:
        out += [f"user {name}", f"topic write {topics.worker_observations(name)}",
                f"topic write {topics.worker_status(name)}", ""]
    return "\n".join(out)


def conf_text(files: BrokerFiles, *, host: str, port: int, persistence: bool) -> str:
    lines = [
        "# Generated by crowd/broker.py (flask --app app crowd mqtt-broker); edits are "
        "overwritten.",
        # Run as the site's own user: started as root, mosquitto would otherwise switch to
        # the 'mosquitto' user, which cannot read these 0600 files.
        f"user {pwd.getpwuid(os.getuid()).pw_name}",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {files.passwd}",
        f"acl_file {files.acl}",
        f"listener {port} {host}",
        # A client that sends a bigger packet is disconnected (an observation is < 8 KiB).
        f"max_packet_size {MESSAGE_LIMIT}",
        f"max_queued_messages {MAX_QUEUED}",
        "max_inflight_messages 20",
        "log_dest stderr",
        # Plain "Error: ..." / "Warning: ..." lines: ./run.sh's supervisor stamps each line,
        # files it in scenic.log and shows only errors and warnings on the terminal.
        "log_timestamp false",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]
    if persistence:
        lines += ["persistence true", f"persistence_location {files.folder}/"]
    else:
        lines += ["persistence false"]
    return "\n".join(lines) + "\n"


def _write_if_changed(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text() == text:
        return False
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")   # the broker and bridge may race
    write_secret(tmp, text.rstrip("\n"))
    os.replace(tmp, path)
    return True


def sync_files(db, files: BrokerFiles, topics: Topics, *, clock, host: str = "127.0.0.1",
               port: int = 1883, persistence: bool = True) -> bool:
    """Write the broker's config, password file and ACL as the database says; reload a
    running mosquitto (SIGHUP) when the password file or ACL changed. Returns whether they
    changed."""
    files.folder.mkdir(parents=True, exist_ok=True)
    os.chmod(files.folder, 0o700)
    bridge_password(db, files, clock=clock)
    rows = live_credentials(db)
    names = {kind: [r["username"] for r in rows if r["kind"] == kind]
             for kind in ("reader", "worker")}
    _write_if_changed(files.conf, conf_text(files, host=host, port=port,
                                            persistence=persistence))
    changed = _write_if_changed(files.passwd, passwd_text(rows))
    changed = _write_if_changed(files.acl, acl_text(topics, names["reader"],
                                                    names["worker"])) or changed
    if changed:
        reload_broker(files)
    return changed


def reload_broker(files: BrokerFiles) -> bool:
    """SIGHUP the mosquitto started by ``crowd mqtt-broker`` (if it runs)."""
    try:
        pid = int(files.pid.read_text().strip())
        os.kill(pid, signal.SIGHUP)
        return True
    except (OSError, ValueError):
        return False


def broker_command(files: BrokerFiles) -> list[str]:
    binary = mosquitto_binary()
    if binary is None:
        raise BrokerError("mosquitto is not installed: scripts/setup.sh installs Debian's "
                          "mosquitto package")
    return [binary, "-c", str(files.conf)]
