#!/usr/bin/env bash
# Runs the C API tests: the programs in tests/c built against include/yciam.h and run
# plainly, under ASan/UBSan and under valgrind (skipped when valgrind is missing).
#   scripts/test-c.sh [test name filter]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

cargo test -p yciam --lib capi
exec cargo test -p yciam --test capi -- --nocapture "$@"
