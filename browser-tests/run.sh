#!/usr/bin/env bash
# The history browser end to end: starts the example orders service with its
# sample data (bundled SQLite, or PostgreSQL or MySQL with DATABASE_URL), then drives
# Debian's headless Chromium through browser-tests/e2e.mjs. Installs what it
# needs (chromium, the npm packages of package-lock.json).
#
#   bash browser-tests/run.sh [PORT]
#
# Screenshots land in docs/browser (the README shows them); SCREENSHOTS=dir
# puts them elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-3481}
shots=${SCREENSHOTS:-docs/browser}

die() { printf 'browser-tests: %s\n' "$*" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd browser-tests && npm ci --no-audit --no-fund --silent)

features=()
case "${DATABASE_URL:-}" in
    postgres*) features=(--features postgres) ;;
    mysql*) features=(--features mysql) ;;
esac
cargo build -q -p history-examples "${features[@]}" --example orders_service
log=$(mktemp)
ADDR="127.0.0.1:$port" cargo run -q -p history-examples "${features[@]}" --example orders_service -- --sample-data >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 120); do
    grep -q "history browser on http://127.0.0.1:$port/admin/history" "$log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; die "the orders service exited"; }
    sleep 1
done
grep -q "history browser on" "$log" || { cat "$log"; die "the orders service did not start"; }
node browser-tests/e2e.mjs "http://127.0.0.1:$port" "$shots"
