"""The README is the front door: keep it true."""
from pathlib import Path

from core.config import all_settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_gives_the_two_commands_and_ci_calls_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "./run.sh" in readme and "./test.sh" in readme
    assert "./test.sh" in (ROOT / ".ci" / "run").read_text()
    for script in ("run.sh", "test.sh", "scripts/setup.sh"):
        assert (ROOT / script).stat().st_mode & 0o111, script


def test_every_setting_is_documented():
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in (ROOT / "docs").glob("*.md"))
    undocumented = [name for name in all_settings() if name not in docs]
    assert undocumented == []


def test_pins_are_exact():
    for name in ("requirements.txt", "requirements-nodeps.txt", "constraints.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                assert "==" in line, f"{name}: {line} is not pinned exactly"
