"""deploy/: the nginx site matches the app's routes and passes ``nginx -t`` (with a
self-signed certificate made here), ./run.sh's generated config passes too, and the
systemd units pass ``systemd-analyze verify`` against this checkout."""
from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts import nginx_conf

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_the_deploy_site_matches_the_routes():
    fresh = nginx_conf.render_deploy(nginx_conf.deploy_app())
    assert (ROOT / "deploy/nginx/scenic.conf").read_text() == fresh, \
        "regenerate: .venv/bin/python -m scripts.nginx_conf --deploy > deploy/nginx/scenic.conf"


def test_streams_are_unbuffered_and_static_files_served_by_the_front():
    site = (ROOT / "deploy/nginx/scenic.conf").read_text()
    stream = site[site.index("location ~ ^/crowd/stream$"):]
    stream = stream[:stream.index("}")]
    assert "proxy_pass http://scenic_live;" in stream and "proxy_buffering off;" in stream
    assert "proxy_read_timeout 1h;" in stream
    assert "alias /opt/scenic/static/;" in site
    assert "client_max_body_size 16777216;" in site            # = MAX_CONTENT_LENGTH
    for regex in ("^/api/guide/ask$", "^/api/guide/ask\\-voice$"):
        block = site[site.index(f"location ~ {regex}"):]
        assert block[:block.index("}")].count("proxy_pass http://scenic_inference;") == 1


def _self_signed(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scenic.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True)
    (folder / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def _nginx_t(conf: Path, prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run([NGINX, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"),
                           "-c", str(conf)], capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by scripts/setup.sh")
def test_nginx_accepts_the_deploy_site_with_tls(tmp_path):
    _self_signed(tmp_path / "scenic-tls")
    temp = "\n".join(f"{n}_temp_path {tmp_path}/{n};" for n in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n"
                    f"include /etc/nginx/mime.types;\n{temp}\n"
                    f"include {ROOT}/deploy/nginx/scenic.conf;\n}}\n")
    result = _nginx_t(conf, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by scripts/setup.sh")
def test_nginx_accepts_the_config_run_sh_writes(app, tmp_path):
    run, logs = tmp_path / "run", tmp_path / "logs"
    run.mkdir()
    logs.mkdir()
    conf = run / "nginx.conf"
    conf.write_text(nginx_conf.render_run(app, run, logs))
    result = _nginx_t(conf, run)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package systemd)")
def test_systemd_units_verify(tmp_path):
    # The units expect the checkout at /opt/scenic; verify them against this one, whose
    # .venv holds the gunicorn and flask they start (verify checks the commands exist).
    units = sorted((ROOT / "deploy/systemd").iterdir())
    assert {u.name for u in units} >= {"scenic-web.service", "scenic-live.service",
                                       "scenic-inference.service", "scenic-backup.timer",
                                       "scenic-crowd-worker.service", "scenic.target"}
    for unit in units:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/scenic", str(ROOT)))
    result = subprocess.run(["systemd-analyze", "verify",
                             *(str(tmp_path / u.name) for u in units)],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
