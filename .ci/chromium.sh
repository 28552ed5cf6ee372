#!/usr/bin/env bash
# Makes Debian's Chromium available at /usr/bin/chromium for the /docs page
# test (apps/inference-service/src/compat/docs-page.test.ts), which drives it
# headless through playwright-core (no browser download: the distro package is
# used). Installs only when missing; safe to run repeatedly.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export DEBIAN_FRONTEND=noninteractive

if [ -x "$CHROMIUM" ]; then
  echo "chromium.sh: $CHROMIUM already installed"
  exit 0
fi

echo "chromium.sh: installing chromium from Debian"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# Another install may hold the dpkg lock (CI scripts run side by side): wait for it.
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "chromium.sh: the chromium package did not provide $CHROMIUM" >&2
  exit 1
fi
echo "chromium.sh: installed $CHROMIUM"
