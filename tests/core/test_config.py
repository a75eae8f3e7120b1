import os
import stat

import pytest

from app import create_app
from core.config import load_config, load_secrets
from core.errors import ConfigError


def test_defaults_then_file_then_env_then_overrides(tmp_path):
    (tmp_path / "config.toml").write_text('PORT = 9000\nDEFAULT_LANG = "en"\n')
    cfg = load_config(tmp_path, {"THREADS": 3}, environ={"SCENIC_PORT": "9100"})
    assert cfg["PORT"] == 9100          # env beats file
    assert cfg["DEFAULT_LANG"] == "en"  # file beats default
    assert cfg["THREADS"] == 3          # overrides beat everything
    assert cfg["DATABASE"] == str(tmp_path / "scenic.db")
    assert cfg["SESSION_COOKIE_SECURE"] is False


def test_production_makes_cookies_secure(tmp_path):
    cfg = load_config(tmp_path, environ={"SCENIC_ENV": "production"})
    assert cfg["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("environ,key,fragment", [
    ({"SCENIC_PORTT": "1"}, "PORTT", "unknown setting"),
    ({"SCENIC_PORT": "eighty"}, "PORT", "whole number"),
    ({"SCENIC_PORT": "0"}, "PORT", "greater than 0"),
    ({"SCENIC_SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE", "true or false"),
    ({"SCENIC_DEFAULT_LANG": "fr"}, "DEFAULT_LANG", "one of"),
    ({"SCENIC_TIMEZONE": "Mars/Olympus"}, "TIMEZONE", "unknown time zone"),
])
def test_bad_environment_values_name_the_key(tmp_path, environ, key, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ=environ)
    assert info.value.key == key
    assert key in str(info.value) and fragment in str(info.value)


def test_unknown_key_in_instance_file_names_key_and_file(tmp_path):
    (tmp_path / "config.toml").write_text("DATABSE = 'x.db'\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ={})
    assert "DATABSE" in str(info.value) and "config.toml" in str(info.value)


def test_wrong_type_in_instance_file(tmp_path):
    (tmp_path / "config.toml").write_text("THREADS = 'many'\n")
    with pytest.raises(ConfigError, match="THREADS"):
        load_config(tmp_path, environ={})


def test_create_app_refuses_bad_settings(tmp_path):
    with pytest.raises(ConfigError, match="LOGIN_MAX_FAILURES"):
        create_app({"LOGIN_MAX_FAILURES": -1}, instance_path=str(tmp_path))


def test_secrets_generated_once_private_and_kept(tmp_path):
    first = load_secrets(tmp_path)
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first["SECRET_KEY"]) == 64
    assert load_secrets(tmp_path) == first
    assert len({first["SECRET_KEY"], first["PII_HASH_KEY"], first["PII_ENC_KEY"]}) == 3


def test_secrets_are_not_in_the_repository():
    import subprocess
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__)))).stdout
    assert "secrets.json" not in tracked
    assert "ticket_signing_key" not in tracked


def test_launcher_variables_are_not_settings(tmp_path):
    cfg = load_config(tmp_path, environ={"SCENIC_INSTANCE": "/srv/x", "SCENIC_NO_WORKERS": "1"})
    assert "INSTANCE" not in cfg and "NO_WORKERS" not in cfg
