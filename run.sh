#!/usr/bin/env bash
# Set up (idempotent) and run the whole system on the embedded default:
# SQLite under ./instance, demo data, demo accounts, a demo camera feed.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false
.venv/bin/flask --app app migrate
.venv/bin/flask --app app catalog load
.venv/bin/python -m scripts.demo
exec .venv/bin/python -m scripts.serve "$@"
