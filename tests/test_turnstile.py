"""The turnstile stands on its own: ``gate_client`` and ``admission`` import nothing of the
server, ``turnstile/`` packages exactly those two, and the wheel installs and decides a
scan offline in a fresh virtual environment (docs/gates.md, "Installing the gate client
on a turnstile")."""
from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ("core", "catalog", "ticketing", "gates", "crowd", "guide", "app", "flask",
          "werkzeug", "sqlite_utils", "jinja2")

# Run in a fresh interpreter: sign a code, build a day's bundle, decide scans offline.
OFFLINE_SCAN = r'''
import json, sys, tempfile
from datetime import datetime, timedelta, timezone
from admission import codes
from admission.rules import Presence
from gate_client import GateClient, OfflineValidator
import gate_client.__main__

key = codes.generate_signing_key()
utc = timezone.utc
# 23:30 UTC on the 14th is 07:30 on the 15th in Qufu: the site's day, not the gate's.
at = datetime(2026, 7, 14, 23, 30, tzinfo=utc)
claim = codes.TicketClaim(7, 1, ("kongmiao",), datetime(2026, 7, 14, 16, 0, tzinfo=utc),
                          datetime(2026, 7, 15, 15, 59, tzinfo=utc))
code = codes.encode(claim, key)
bundle = {"format": 1, "generated_at": "2026-07-15T07:00:00+08:00", "day": "2026-07-15",
          "timezone": "Asia/Shanghai", "gate": {"id": 1, "site": "kongmiao", "name": "G",
          "direction": "both"}, "public_key": codes.public_key_of(key).hex(),
          "revocations": [], "rules": {"early_minutes": 30, "late_minutes": 60},
          "hours": None, "closing_at": None, "tickets": [], "document_key": None}
v = OfflineValidator(bundle)
first = v.validate_code(code, "entry", at, lambda tid: Presence())
again = v.validate_code(code, "entry", at, lambda tid: Presence(1, True))
# The last character is the signature's lowest digit: another one breaks the signature.
forged = v.validate_code(code[:-1] + ("0" if code[-1] != "0" else "1"), "entry", at,
                         lambda tid: Presence())
print(json.dumps([str(v.tz), first.result, again.reason, forged.reason]))
server = [m for m in sys.modules if m.split(".")[0] in SERVER]
assert not server, server
'''

BLOCKER = r'''
import importlib.abc, sys
SERVER = %r
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in SERVER:
            raise ImportError(f"the turnstile may not import {name}")
        return None
sys.meta_path.insert(0, Block())
''' % (SERVER,)


def run_python(python, code, cwd):
    return subprocess.run([str(python), "-I", "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_gate_client_runs_with_the_server_unimportable():
    # -I: no user site, no PYTHONPATH; the repository is put on the path by hand, with
    # every server package (and Flask) blocked.
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + BLOCKER + \
        f"SERVER = {SERVER!r}\n" + OFFLINE_SCAN
    out = run_python(sys.executable, code, ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '["Asia/Shanghai", "allow", "already_inside", "bad_signature"]'


def _wheel(tmp_path) -> Path:
    src = tmp_path / "src"
    for name in ("turnstile", "gate_client", "admission"):
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "--no-build-isolation", "-q", str(src / "turnstile"), "-w",
                          str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    (wheel,) = (tmp_path / "dist").glob("scenic_turnstile-*.whl")
    return wheel


def test_the_turnstile_wheel_holds_the_gate_client_and_the_admission_core_only(tmp_path):
    wheel = _wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"gate_client", "admission",
                                                 wheel.name.split("-py3")[0] + ".dist-info"}
    for must in ("gate_client/__main__.py", "gate_client/offline.py", "admission/codes.py",
                 "admission/rules.py", "admission/identity.py", "admission/qr.py"):
        assert must in names
    meta = email.message_from_string(zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("/METADATA"))).decode())
    requires = meta.get_all("Requires-Dist")
    plain = sorted(r.split(">")[0].split(";")[0].strip() for r in requires if "extra" not in r)
    assert plain == ["cryptography", "requests", "tzdata"]
    assert all("extra == \"photo\"" in r for r in requires if r.startswith("opencv"))


def test_the_turnstile_installs_into_a_fresh_environment_and_decides_offline(tmp_path):
    wheel = _wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    out = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                          "-c", str(ROOT / "constraints.txt"), str(wheel)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    # Outside the repository: only what the wheel installed is importable.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    help_ = subprocess.run([str(python), "-I", "-m", "gate_client", "--help"], cwd=elsewhere,
                           capture_output=True, text=True, timeout=120)
    assert help_.returncode == 0 and "fetch-bundle" in help_.stdout, help_.stderr
    flask = run_python(python, "import flask", elsewhere)
    assert flask.returncode != 0 and "No module named 'flask'" in flask.stderr
    scan = run_python(python, f"SERVER = {SERVER!r}\n" + OFFLINE_SCAN, elsewhere)
    assert scan.returncode == 0, scan.stderr
    assert scan.stdout.strip() == '["Asia/Shanghai", "allow", "already_inside", "bad_signature"]'
