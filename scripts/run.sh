#!/usr/bin/env bash
# The main job: set up, create a node home in ./var/node on the embedded default (SQLite)
# if there is none, and serve it on 127.0.0.1:2641 (UDP and TCP) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
home="${IDNODE_HOME:-var/node}"
if [ ! -f "$home/config.toml" ]; then
  .venv/bin/idnode init "$home" --prefix "${IDNODE_PREFIX:-88.100.1}"
fi
exec .venv/bin/idnode serve "$home"
