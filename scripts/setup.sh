#!/usr/bin/env bash
# Installs what building and testing baton-notion needs on a fresh machine
# with Rust (rustup) and Python 3: the wasm32-wasip2 target for the connector
# component, rustfmt/clippy for CI, and the Python `zstandard` package used by
# the independent c1z validator in the tests.
set -euo pipefail
rustup target add wasm32-wasip2
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
python3 -c 'import zstandard' 2>/dev/null || python3 -m pip install --quiet zstandard
