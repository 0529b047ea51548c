#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Node.js:
# the npm packages, and Debian's etcd (client and server, the peer the
# compatibility tests compare against) and Chromium (the lab's browser tests).
# Without root or apt, the Debian part is skipped and those tests say so.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: not root or no apt-get; skipping Debian packages: ${need[*]}" >&2
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
