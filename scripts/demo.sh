#!/usr/bin/env bash
# `make demo`: build the demo on embedded defaults and serve it.
# Any catalog: MOODBOARD_DEMO_CATALOG=path MOODBOARD_DEMO_MAPPING=mapping.toml [MOODBOARD_DEMO_IMAGES_ROOT=dir] make demo
# With neither set, the Myntra sample from ../shared/data is used (it has no prices: demo prices are added).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MOODBOARD_DATA_DIR:-}" ] && [ -d ../shared/data ]; then export MOODBOARD_DATA_DIR="$(cd ../shared/data && pwd)"; fi
if [ -z "${MOODBOARD_DEMO_CATALOG:-}" ] && [ -f "${MOODBOARD_DATA_DIR:-/nonexistent}/myntra/catalog.jsonl" ]; then
  export MOODBOARD_DEMO_CATALOG="$MOODBOARD_DATA_DIR/myntra/catalog.jsonl"
  export MOODBOARD_DEMO_MAPPING="${MOODBOARD_DEMO_MAPPING:-examples/catalogs/myntra.toml}"
  export MOODBOARD_DEMO_SYNTHETIC_PRICES="${MOODBOARD_DEMO_SYNTHETIC_PRICES:-1}"
fi
exec .venv/bin/moodboard demo "$@"
