#!/usr/bin/env bash
# Install (Debian package) and start the services the test suite needs: a PostgreSQL server on loopback,
# and Chromium for browser tests. Idempotent; writes scripts/services.env with the connection settings.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file="$here/services.env"
PG_PORT="${MOODBOARD_TEST_PG_PORT:-54329}"
PG_DIR="${MOODBOARD_TEST_PG_DIR:-/tmp/moodboard-pg}"
: > "$env_file"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "services: installing ${missing[*]} (Debian packages)"
  as_root apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_postgres() {
  apt_install postgresql || { echo "services: PostgreSQL unavailable; postgres tests will skip"; return 0; }
  local bin; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  local run_as=()
  if [ "$(id -u)" = 0 ]; then run_as=(runuser -u postgres --); fi
  if ! "${run_as[@]}" "$bin/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    if [ ! -f "$PG_DIR/PG_VERSION" ]; then
      mkdir -p "$PG_DIR"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
      "${run_as[@]}" "$bin/initdb" -D "$PG_DIR" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    "${run_as[@]}" "$bin/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  fi
  echo "services: PostgreSQL on 127.0.0.1:$PG_PORT"
  echo "export MOODBOARD_TEST_PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres" >> "$env_file"
}

install_chromium() {
  if [ "${MOODBOARD_SKIP_BROWSER:-0}" = 1 ]; then return 0; fi
  apt_install chromium fonts-dejavu-core || { echo "services: Chromium unavailable; browser tests will skip"; return 0; }
  echo "export MOODBOARD_TEST_CHROMIUM=$(command -v chromium)" >> "$env_file"
}

start_postgres
install_chromium
