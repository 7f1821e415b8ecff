#!/usr/bin/env bash
# Create .venv and install idnode with its test dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
# dig (Debian's dnsutils) for the DNS face's tests: installed only as root, only if missing.
if ! command -v dig >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing dig (dnsutils) from Debian packages" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsutils \
        >/dev/null; } || echo "setup.sh: could not install dnsutils (dig)" >&2
  fi
fi
