#!/usr/bin/env bash
# Runs every fuzz target for TIME seconds (default 60), one after another.
#   fuzz/run-all.sh 120
# Extra arguments go to libFuzzer, e.g. `fuzz/run-all.sh 600 -jobs=2`.
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On a stable toolchain the nightly
# flags cargo-fuzz passes are unlocked with RUSTC_BOOTSTRAP=1 (set here unless already set).
# Set SANITIZER=none to build without AddressSanitizer (faster, catches only panics).
set -euo pipefail

time="${1:-60}"
shift || true
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
sanitizer="${SANITIZER:-address}"

targets=(key_file token_response status_body yc_config cache_file timestamp)

python3 make-seeds.py   # seeds holding a private key are made fresh, never committed
cargo fuzz build -s "$sanitizer"
failed=()
for t in "${targets[@]}"; do
    echo "=== $t: ${time}s"
    mkdir -p "corpus/$t"
    # New inputs go to corpus/$t (ignored by git); the seeds are read as well.
    mkdir -p "seeds/$t" "seeds-generated/$t"
    if ! cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" "seeds/$t" "seeds-generated/$t" -- \
        -max_total_time="$time" -rss_limit_mb=2048 "$@"; then
        failed+=("$t")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "all targets ran ${time}s without a crash"
