#!/usr/bin/env bash
# Installs Debian's `prometheus` package (which brings `promtool`) when promtool is missing.
# Idempotent: does nothing when promtool is already on PATH. Non-interactive.
# The Debian service is NOT started: tests run their own prometheus on a free port.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  echo "prometheus.sh: $(promtool --version 2>&1 | head -n1) already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive

# Keep the package's maintainer scripts from starting the daemon: policy-rc.d exit 101
# means "action forbidden" to invoke-rc.d / deb-systemd-invoke. Only ours is removed afterwards.
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  OWN_POLICY=1
fi
cleanup() { if [ "$OWN_POLICY" = 1 ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

# Other jobs may hold the apt/dpkg locks: wait for them (bounded) instead of failing.
APT_OPTS=(-o DPkg::Lock::Timeout=300)
$SUDO apt-get "${APT_OPTS[@]}" update -qq
$SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends prometheus >/dev/null

# If a service manager started it anyway, stop and disable it (tests need no system daemon).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

command -v promtool >/dev/null 2>&1 || { echo "prometheus.sh: promtool still missing after install" >&2; exit 1; }
echo "prometheus.sh: installed $(promtool --version 2>&1 | head -n1)"
