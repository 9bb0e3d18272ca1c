#!/usr/bin/env bash
# Runs every test of the workspace (unit, integration against the in-process
# test-server, CLI golden files), after installing what they need.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --locked "$@"
