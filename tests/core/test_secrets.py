"""The instance's secrets and device tokens on disk, attacked: planted links, loose modes,
and several processes starting at once on a fresh instance (issue 9, item 6)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import SECRET_NAMES, load_secrets
from core.errors import ConfigError
from core.files import write_secret

ROOT = Path(__file__).resolve().parents[2]

# Each process imports first, then waits for the starting gun, so all of them reach
# load_secrets within a millisecond or two of each other.
FIRST_START = r'''
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from core.config import load_secrets
go = sys.argv[3]
while not os.path.exists(go):
    time.sleep(0.0005)
print(json.dumps(load_secrets(sys.argv[2])))
'''


def test_concurrent_first_start_ends_with_one_secrets_file(tmp_path):
    instance = tmp_path / "instance"
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", FIRST_START, str(ROOT), str(instance),
                               str(go)], stdout=subprocess.PIPE, text=True)
             for _ in range(12)]
    time.sleep(1.5)   # let every interpreter start and import
    go.touch()
    seen = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        seen.append(json.loads(out))
    on_disk = json.loads((instance / "secrets.json").read_text())
    assert all(s == on_disk for s in seen), "a process runs with secrets nobody kept"
    assert sorted(on_disk) == sorted(SECRET_NAMES)
    assert stat.S_IMODE(os.stat(instance / "secrets.json").st_mode) == 0o600
    assert [p.name for p in instance.iterdir() if p.name.endswith(".tmp")] == []


def test_a_link_planted_at_the_temporary_name_gets_nothing(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    stolen = tmp_path / "stolen"
    stolen.write_text("")
    stolen.chmod(0o666)
    for name in ("secrets.tmp", ".secrets.json.tmp"):
        (instance / name).symlink_to(stolen)
    keys = load_secrets(instance)
    assert stolen.read_text() == ""
    assert all(v not in stolen.read_text() for v in keys.values())
    assert not (instance / "secrets.json").is_symlink()


def test_secrets_file_must_be_a_plain_private_file(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    theirs = tmp_path / "theirs.json"
    theirs.write_text(json.dumps({n: "0" * 64 for n in SECRET_NAMES}))
    (instance / "secrets.json").symlink_to(theirs)
    with pytest.raises(ConfigError, match="not a link"):
        load_secrets(instance)
    (instance / "secrets.json").unlink()
    first = load_secrets(instance)
    (instance / "secrets.json").chmod(0o644)     # e.g. copied with a loose umask
    assert load_secrets(instance) == first
    assert stat.S_IMODE(os.stat(instance / "secrets.json").st_mode) == 0o600
    (instance / "secrets.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_secrets(instance)


def test_a_new_secret_is_added_and_the_old_ones_kept(tmp_path):
    old = {"SECRET_KEY": "a" * 64, "PII_HASH_KEY": "b" * 64, "PII_ENC_KEY": "c" * 64}
    (tmp_path / "secrets.json").write_text(json.dumps(old))
    now = load_secrets(tmp_path)
    assert {k: now[k] for k in old} == old and len(now["GATE_BUNDLE_ROOT_KEY"]) == 64
    assert json.loads((tmp_path / "secrets.json").read_text()) == now


def test_a_device_token_replaces_a_planted_link_instead_of_writing_through_it(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("")
    token_file = tmp_path / "instance" / "crowd-worker.token"
    token_file.parent.mkdir()
    token_file.symlink_to(outside)
    write_secret(token_file, "tok-123")
    assert outside.read_text() == ""
    assert not token_file.is_symlink() and token_file.read_text() == "tok-123\n"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
