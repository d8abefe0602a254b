#!/usr/bin/env bash
# `make demo`: build the demo on embedded defaults and serve it. Uses ../shared/data when present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MOODBOARD_DATA_DIR:-}" ] && [ -d ../shared/data ]; then export MOODBOARD_DATA_DIR="$(cd ../shared/data && pwd)"; fi
exec .venv/bin/moodboard demo "$@"
