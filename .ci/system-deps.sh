#!/usr/bin/env bash
# The system tools the tests drive for real: redis-server (multi-instance
# tests), prometheus + promtool (alert rules, scrape test), chromium (/docs
# page), a Java runtime (openapi-generator-cli's JAR). Installs what is
# missing from Debian when allowed (root or sudo); otherwise says what to install.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: redis-server, promtool, chromium and java are present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
  echo "system-deps: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) and run again" >&2
  exit 1
fi
for tool in "${missing[@]}"; do
  case "$tool" in
    redis-server) bash "$here/redis.sh" ;;
    prometheus) bash "$here/prometheus.sh" ;;
    chromium)
      if [ -f "$here/chromium.sh" ]; then bash "$here/chromium.sh"; else
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium >/dev/null
      fi ;;
    default-jre-headless)
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends default-jre-headless >/dev/null ;;
  esac
done
echo "system-deps: installed ${missing[*]}"
