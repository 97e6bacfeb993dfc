#!/usr/bin/env bash
# Cached-token benchmark: C (1 and 16 threads, median latency) and Python, against the
# release library and a local fake (one token exchange, then cache hits only).
#   bench/run-bench.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-$repo/target}"

cargo build --release --lib -p yciam
cargo build -p yciam-fake

work="$(mktemp -d)"
fifo="$work/stdin"
mkfifo "$fifo"
"$target/debug/yciam-fake" --dir "$work/fake" --exit-on-stdin-eof <"$fifo" >/dev/null &
fake_pid=$!
exec 3>"$fifo" # the fake runs until this closes
cleanup() {
  exec 3>&-
  wait "$fake_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 300); do
  [[ -f "$work/fake/endpoints.json" ]] && break
  sleep 0.1
done
url="$(sed -E 's/.*"https":"([^"]+)".*/\1/' "$work/fake/endpoints.json")"
export YCIAM_BENCH_URL="$url"
export YCIAM_BENCH_CA="$work/fake/ca.pem"
YCIAM_BENCH_OAUTH_TOKEN="$(cat "$work/fake/oauth-token")"
export YCIAM_BENCH_OAUTH_TOKEN

cc -O2 -std=c11 -pthread -Wall -Wextra -Werror -I include bench/c_token_bench.c \
  -o "$work/c_token_bench" -L "$target/release" -lyciam -Wl,-rpath,"$target/release"
echo "C, release library ($(nproc) cores):"
"$work/c_token_bench"

if command -v python3 >/dev/null; then
  YCIAM_LIBRARY="$target/release/libyciam.so" PYTHONPATH="$repo/bindings/python" \
    python3 bench/python_token_bench.py
fi
