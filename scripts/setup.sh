#!/usr/bin/env bash
# Idempotent setup: Debian packages (only when missing), a virtual environment with
# exact pins, and the model caches. Quick the second time: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3.11}
VENV=${VENV:-$ROOT/.venv}

# 1. Debian packages: espeak-ng (Mandarin TTS), chromium (+driver) for browser tests,
#    sox for audio checks, libgl1 for OpenCV, nginx for the site's front (./run.sh).
need=()
for pkg in espeak-ng chromium chromium-driver sox libgl1 nginx; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# ./run.sh starts its own nginx with a config under instance/. A fresh install of the package
# also starts the system's nginx with Debian's default site on port 80: stop that one
# (a server behind TLS enables it again with our site: docs/operations.md).
if [[ " ${need[*]} " == *" nginx "* ]] && command -v systemctl >/dev/null \
    && systemctl is-active --quiet nginx 2>/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi

# 2. Python packages, re-installed only when the pin files change.
stamp="$VENV/.pins.sha256"
want=$(cat requirements.txt requirements-nodeps.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages (first run takes a few minutes)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
  echo "$want" > "$stamp"
fi

# 3. Model caches (each step is a no-op once its cache is in place).
export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false
"$VENV/bin/python" -m scripts.prepare_models
