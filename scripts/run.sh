#!/usr/bin/env bash
# The main job: set up, then run the demo: a whole identifier resolution hierarchy on
# 127.0.0.1 (root, five top-level nodes and a disaster-recovery mirror, secondary nodes,
# enterprise nodes and a recursive node, with sample identifiers), its node homes in
# ./var/demo (created the first time, reused after), until Ctrl-C.
# Arguments go to `idnode demo`, e.g. --fresh or --base-port N; IDNODE_DEMO_DIR moves it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/idnode demo "${IDNODE_DEMO_DIR:-var/demo}" "$@"
