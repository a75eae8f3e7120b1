#!/usr/bin/env bash
# Set up (idempotent) and run the full test suite.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false
exec .venv/bin/python -m pytest "$@"
