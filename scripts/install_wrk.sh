#!/usr/bin/env bash
# Install `wrk` (Debian package), the HTTP load generator `benchmarks/http_load.py` drives. Idempotent.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
echo "install_wrk: installing wrk (Debian package)"
as_root apt-get update -qq >/dev/null || true
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends wrk >/dev/null
command -v wrk >/dev/null
