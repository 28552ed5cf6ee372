#!/usr/bin/env bash
# Makes a Redis server available on 127.0.0.1:6379 for the multi-instance tests
# and local runs: installs redis-server from Debian when missing, then starts it
# daemonized unless something already answers there. Safe to run repeatedly.
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6379}"
export DEBIAN_FRONTEND=noninteractive

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "redis.sh: installing redis-server from Debian"
  # Another install may hold the dpkg lock (CI scripts run side by side): wait for it.
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends redis-server >/dev/null
fi

if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
  echo "redis.sh: Redis already answering on 127.0.0.1:$REDIS_PORT"
  exit 0
fi

# The package's postinstall may have started a service; if not (containers
# without systemd), start our own, without persistence.
DATA_DIR="${TMPDIR:-/tmp}/llmgw-redis-$REDIS_PORT"
mkdir -p "$DATA_DIR"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
  --save '' --appendonly no --dir "$DATA_DIR" --logfile "$DATA_DIR/redis.log"

for _ in $(seq 1 50); do
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
    echo "redis.sh: Redis started on 127.0.0.1:$REDIS_PORT ($(redis-server --version | awk '{print $3}'))"
    exit 0
  fi
  sleep 0.1
done
echo "redis.sh: redis-server did not answer on 127.0.0.1:$REDIS_PORT; see $DATA_DIR/redis.log" >&2
exit 1
