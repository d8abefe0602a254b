#!/usr/bin/env bash
# Run the whole pytest suite with the services started by scripts/services.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
[ -f scripts/services.env ] && . scripts/services.env
if [ -n "${CI:-}" ]; then export MOODBOARD_REQUIRE_PG=1 MOODBOARD_REQUIRE_BROWSER=1; fi
# real datasets: an explicit MOODBOARD_DATA_DIR, else ../shared/data beside the checkout (tests skip without them)
if [ -z "${MOODBOARD_DATA_DIR:-}" ] && [ -d ../shared/data ]; then export MOODBOARD_DATA_DIR="$(cd ../shared/data && pwd)"; fi
mkdir -p test-artifacts
.venv/bin/pytest -q --junitxml=test-artifacts/junit.xml "$@"
rc=$?
if [ "$rc" = 5 ]; then echo "pytest collected no tests"; exit 1; fi
exit "$rc"
