#!/usr/bin/env bash
# The main job on a fresh machine: build everything, start the bundled Notion
# SCIM test-server, run a full sync into demo.c1z, then list what was synced
# with the `baton` reader.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked

bin=target/release
out=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$out"' EXIT
"$bin/notion-scim-test-server" --listen 127.0.0.1:0 --token demo-token --users 25 --groups 3 >"$out/server.log" &
server=$!
for _ in $(seq 100); do
  url=$(grep -o 'http://[^ ]*' "$out/server.log" 2>/dev/null | head -n1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the test-server did not start" >&2; exit 1; }

BATON_SCIM_TOKEN=demo-token "$bin/baton-notion" --base-url "$url" --file demo.c1z --log-format console
echo
"$bin/baton" -f demo.c1z resource-types
echo
"$bin/baton" -f demo.c1z resources
echo
"$bin/baton" -f demo.c1z grants
echo
"$bin/baton" -f demo.c1z stats
