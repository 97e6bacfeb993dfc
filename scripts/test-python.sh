#!/usr/bin/env bash
# Builds the native library and the fake, then runs the Python binding's tests.
#   scripts/test-python.sh [pytest arguments...]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

cargo build --lib -p yciam
cargo build -p yciam-fake

python="${PYTHON:-python3}"
if ! "$python" -m pytest --version >/dev/null 2>&1; then
  "$python" -m pip install --quiet pytest
fi

cd bindings/python
exec "$python" -m pytest "$@"
