#!/usr/bin/env bash
# Builds what the Bash tests need and runs them: tests/bash/run.sh (the scripts against the
# fake, shellcheck, the argv check under strace, the PowerShell module's package and its
# native layer under Mono).
# Usage: scripts/test-bash.sh [NAME_PATTERN]
# Set YCIAM_TEST_NO_INSTALL=1 to keep it from installing missing tools with apt-get.
set -euo pipefail

root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Tools some tests need; a test whose tool is missing is reported as skipped.
install_missing_tools() {
  local -a missing=()
  command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
  command -v strace >/dev/null 2>&1 || missing+=(strace)
  command -v mcs >/dev/null 2>&1 || missing+=(mono-mcs)
  command -v mono >/dev/null 2>&1 || missing+=(mono-runtime)
  ((${#missing[@]} > 0)) || return 0
  if [[ -n "${YCIAM_TEST_NO_INSTALL:-}" || "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    printf 'test-bash.sh: not installing %s; the tests that need them will be skipped\n' "${missing[*]}" >&2
    return 0
  fi
  printf 'test-bash.sh: installing %s\n' "${missing[*]}" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null 2>&1; then
    printf 'test-bash.sh: could not install %s; the tests that need them will be skipped\n' "${missing[*]}" >&2
  fi
}

# The tree-sitter PowerShell grammar, for the PowerShell syntax check (from the npm registry,
# into target/, which git ignores).
install_powershell_grammar() {
  local dir="$root/target/ps-syntax"
  [[ -d "$dir/node_modules/tree-sitter-powershell" && -d "$dir/node_modules/tree-sitter" ]] && return 0
  if [[ -n "${YCIAM_TEST_NO_INSTALL:-}" ]] || ! command -v npm >/dev/null 2>&1; then
    return 0
  fi
  mkdir -p "$dir"
  if ! (cd "$dir" && npm install --no-audit --no-fund --no-save --silent --prefix . \
    tree-sitter@0.25.0 tree-sitter-powershell@0.26.4) >/dev/null 2>&1; then
    printf 'test-bash.sh: could not install the PowerShell grammar; the syntax check will be skipped\n' >&2
  fi
}

install_missing_tools
install_powershell_grammar
cargo build --bin yciam
cargo build -p yciam-fake
exec bash tests/bash/run.sh "$@"
