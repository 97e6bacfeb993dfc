#!/usr/bin/env bash
# Runs every test of the project against the local fake Yandex Cloud:
# Rust (library, binary, fake, C programs via tests/capi.rs), Python, Bash, PowerShell.
# Usage: scripts/run-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (Rust, the binary, the fake, C under ASan/UBSan and valgrind)"
cargo build --workspace --all-targets
cargo test --workspace

for suite in scripts/test-python.sh scripts/test-bash.sh scripts/test-powershell.sh; do
  if [ -x "$suite" ]; then
    echo "== $suite"
    "$suite"
  fi
done
echo "== all test suites passed"
