#!/usr/bin/env bash
# Tests of the Bash scripts (scripts/*.sh) and of the packaged YcIam PowerShell module's
# native side, against the local fake of the Yandex Cloud APIs (tests/fake).
#
# Usage: tests/bash/run.sh [NAME_PATTERN]   (scripts/test-bash.sh builds what it needs first)
# Needs target/debug/yciam and target/debug/yciam-fake (or $YCIAM and $YCIAM_FAKE), curl and
# python3; uses shellcheck, strace, mcs and mono when present and skips what needs them
# otherwise. Ends with "N passed, M failed, K skipped"; exits 1 if any test failed.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT
readonly SCRIPTS="$ROOT/scripts"
readonly ONLY="${1:-}"
YCIAM_BIN="${YCIAM:-$ROOT/target/debug/yciam}"
FAKE_BIN="${YCIAM_FAKE:-$ROOT/target/debug/yciam-fake}"
readonly YCIAM_BIN FAKE_BIN

WORK="$(mktemp -d "${TMPDIR:-/tmp}/yciam-bash-tests.XXXXXX")"
readonly WORK
FAKE_PID=""
FAKE_FD=""

cleanup() {
  if [[ -n "$FAKE_FD" ]]; then
    exec {FAKE_FD}>&- || true
  fi
  if [[ -n "$FAKE_PID" ]]; then
    kill "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true
  fi
  rm -rf -- "$WORK"
}
trap cleanup EXIT

# --- The fake ---------------------------------------------------------------------------

start_fake() {
  local dir="$WORK/fake"
  mkfifo "$WORK/fake.stdin"
  # It exits when its stdin closes, so it cannot outlive this runner even if killed.
  "$FAKE_BIN" --dir "$dir" --exit-on-stdin-eof <"$WORK/fake.stdin" >"$WORK/fake.log" 2>&1 &
  FAKE_PID=$!
  exec {FAKE_FD}>"$WORK/fake.stdin"
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s "$dir/endpoints.json" ]] && break
    sleep 0.05
  done
  if [[ ! -s "$dir/endpoints.json" ]]; then
    printf 'the fake did not start:\n' >&2
    cat "$WORK/fake.log" >&2
    exit 1
  fi
  HTTPS="$(sed -n 's/.*"https":"\([^"]*\)".*/\1/p' "$dir/endpoints.json")"
  HTTP="$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' "$dir/endpoints.json")"
  CA="$dir/ca.pem"
  OAUTH_FILE="$dir/oauth-token"
  OAUTH="$(<"$OAUTH_FILE")"
  readonly HTTPS HTTP CA OAUTH_FILE OAUTH
}

fake_post() { curl -fsS -X POST --data "${2:-}" "$HTTP$1"; }
fake_get() { curl -fsS "$HTTP$1"; }
fake_reset() { fake_post /_fake/reset >/dev/null; }
# Queues COUNT copies of a fault: fake_fault ROUTE COUNT FAULT_JSON
fake_fault() {
  local i
  for ((i = 0; i < $2; i++)); do
    fake_post /_fake/faults "{\"route\":\"$1\",\"fault\":$3}" >/dev/null
  done
}
# How many requests the fake served on a route since the last reset.
fake_count() {
  fake_get /_fake/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"].get(sys.argv[1], 0))' "$1"
}

# --- Assertions (each ends the test on failure) -------------------------------------------

fail() {
  printf '    %s\n' "$@"
  exit 1
}

# run CMD...: runs it, keeping STATUS, OUT and ERR.
run() {
  STATUS=0
  "$@" >"$WORK/out" 2>"$WORK/err" || STATUS=$?
  OUT="$(<"$WORK/out")"
  ERR="$(<"$WORK/err")"
}

show() { printf 'exit %s\n--- stdout\n%s\n--- stderr\n%s' "$STATUS" "${OUT:0:2000}" "${ERR:0:2000}"; }

expect_status() {
  [[ "$STATUS" == "$1" ]] || fail "expected exit $1" "$(show)"
}
expect_out() {
  [[ "$OUT" == *"$1"* ]] || fail "stdout lacks: $1" "$(show)"
}
expect_err() {
  [[ "$ERR" == *"$1"* ]] || fail "stderr lacks: $1" "$(show)"
}
expect_not_in() {
  # expect_not_in WHAT_NAME SECRET TEXT
  [[ "$3" != *"$2"* ]] || fail "$1 holds a secret it must not hold" "$(show)"
}
expect_eq() {
  [[ "$2" == "$3" ]] || fail "$1: expected '$2', got '$3'"
}
is_iam_token() {
  [[ "$1" =~ ^t1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]
}

json() {
  # json EXPRESSION < JSON: evaluates a Python expression over the parsed document `d`.
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# --- Tests: get-iam-token.sh --------------------------------------------------------------

test_get_iam_token_help() {
  local flag
  for flag in --help -h; do
    run "$SCRIPTS/get-iam-token.sh" "$flag"
    expect_status 0
    expect_out "Usage: get-iam-token.sh"
    expect_out "YC_OAUTH_TOKEN"
    expect_out "https://iam.api.cloud.yandex.net/iam/v1/tokens"
    expect_out "--oauth-token-file"
  done
}

test_get_iam_token_from_environment() {
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh"
  expect_status 0
  is_iam_token "$OUT" || fail "not one IAM token on stdout" "$(show)"
  expect_eq "stderr" "" "$ERR"
}

test_get_iam_token_from_stdin() {
  run "$SCRIPTS/get-iam-token.sh" <"$OAUTH_FILE"
  expect_status 0
  is_iam_token "$OUT" || fail "not one IAM token on stdout" "$(show)"
  # A token with a trailing newline, as `echo` or an editor leaves it.
  run "$SCRIPTS/get-iam-token.sh" < <(printf '%s\n' "$OAUTH")
  expect_status 0
  is_iam_token "$OUT" || fail "a trailing newline broke it" "$(show)"
}

test_get_iam_token_from_file_option() {
  run "$SCRIPTS/get-iam-token.sh" --oauth-token-file "$OAUTH_FILE"
  expect_status 0
  is_iam_token "$OUT" || fail "not an IAM token" "$(show)"
  run "$SCRIPTS/get-iam-token.sh" --oauth-token-file=- <"$OAUTH_FILE"
  expect_status 0
  is_iam_token "$OUT" || fail "--oauth-token-file=- did not read stdin" "$(show)"
}

test_get_iam_token_sends_the_documented_request() {
  fake_reset
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh" --no-cache
  expect_status 0
  local last
  last="$(fake_get /_fake/requests | python3 -c '
import json, sys
reqs = [r for r in json.load(sys.stdin) if r["route"] == "create_token"]
r = reqs[-1]
print(r["method"], r["path"], json.loads(r["body"]) == {"yandexPassportOauthToken": sys.argv[1]})' "$OAUTH")"
  expect_eq "the token request" "POST /iam/v1/tokens True" "$last"
}

test_get_iam_token_json_and_formats() {
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh" --json
  expect_status 0
  local token expires
  token="$(json 'd["iamToken"]' <<<"$OUT")"
  expires="$(json 'd["expiresAt"]' <<<"$OUT")"
  is_iam_token "$token" || fail "no iamToken in --json" "$(show)"
  [[ "$expires" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || fail "no RFC 3339 expiresAt" "$(show)"
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh" --format env
  expect_status 0
  expect_eq "--format env" "export IAM_TOKEN='$token'" "$OUT"
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh" --format=header
  expect_eq "--format=header" "Authorization: Bearer $token" "$OUT"
}

test_get_iam_token_exchanges_even_with_an_iam_token_in_the_environment() {
  # The default chain would take YC_IAM_TOKEN first; the script must exchange the OAuth token.
  fake_reset
  run env YC_IAM_TOKEN=t1.not-the-answer.x YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh" --no-cache
  expect_status 0
  is_iam_token "$OUT" || fail "not an IAM token" "$(show)"
  [[ "$OUT" != "t1.not-the-answer.x" ]] || fail "printed YC_IAM_TOKEN instead of exchanging"
  expect_eq "token exchanges" "1" "$(fake_count create_token)"
}

test_get_iam_token_refused_oauth_token() {
  local bad="y0_this-token-was-never-issued-0123456789"
  run env YC_OAUTH_TOKEN="$bad" "$SCRIPTS/get-iam-token.sh" --no-cache
  expect_status 4
  expect_eq "stdout" "" "$OUT"
  expect_err "OAuth token is invalid or expired"
  expect_err "request id"
  expect_not_in "stderr" "$bad" "$ERR"
  # The same through standard input.
  run "$SCRIPTS/get-iam-token.sh" --no-cache < <(printf '%s' "$bad")
  expect_status 4
  expect_err "OAuth token is invalid or expired"
  expect_not_in "stderr" "$bad" "$ERR"
}

test_get_iam_token_without_a_token() {
  run env -u YC_OAUTH_TOKEN "$SCRIPTS/get-iam-token.sh" </dev/null
  expect_status 2
  expect_err "empty"
  expect_eq "stdout" "" "$OUT"
}

test_get_iam_token_prompts_on_a_terminal() {
  # On a terminal it asks, without echoing what is typed.
  run python3 - "$SCRIPTS/get-iam-token.sh" "$OAUTH" <<'PY'
import os, pty, sys, time
script, token = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(script, [script, "--no-cache"])
seen, deadline = b"", time.time() + 20
while b"OAuth token:" not in seen and time.time() < deadline:
    seen += os.read(fd, 4096)
time.sleep(0.2)  # let read -s turn echo off
os.write(fd, token.encode() + b"\n")
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
print(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
  expect_status 0
  expect_out "Yandex OAuth token:"
  [[ "$OUT" =~ t1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+ ]] || fail "no IAM token after the prompt" "$(show)"
  expect_not_in "the terminal" "$OAUTH" "$OUT"
}

test_get_iam_token_refuses_a_token_argument() {
  fake_reset
  run "$SCRIPTS/get-iam-token.sh" "$OAUTH" </dev/null
  expect_status 2
  expect_err "never taken from the command line"
  expect_not_in "stderr" "$OAUTH" "$ERR"
  expect_eq "token requests" "0" "$(fake_count create_token)"
}

test_get_iam_token_unknown_option() {
  run "$SCRIPTS/get-iam-token.sh" --bogus </dev/null
  expect_status 2
  expect_err "unknown option '--bogus'"
  run "$SCRIPTS/get-iam-token.sh" --timeout </dev/null
  expect_status 2
  expect_err "--timeout needs a value"
}

test_get_iam_token_retries_a_503() {
  fake_reset
  fake_fault create_token 1 '{"kind":"status","http":503,"grpc":14,"message":"try again"}'
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh" --no-cache
  expect_status 0
  is_iam_token "$OUT" || fail "not an IAM token after a retry" "$(show)"
  expect_eq "token requests" "2" "$(fake_count create_token)"
}

test_get_iam_token_reports_a_lasting_server_failure() {
  fake_reset
  fake_fault create_token 10 '{"kind":"status","http":500,"grpc":13,"message":"the fake is down"}'
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh" --no-cache --timeout 20
  fake_reset
  expect_status 6
  expect_err "the fake is down"
  expect_err "request id"
  expect_eq "stdout" "" "$OUT"
}

test_get_iam_token_untrusted_server() {
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh" --no-cache --ca-file "$WORK/fake/wrong-ca.pem" --timeout 5
  # The wrong CA is added beside the system store, which does not know the fake's CA either.
  expect_status 5
  expect_eq "stdout" "" "$OUT"
}

test_get_iam_token_finds_yciam_in_the_repository() {
  # No $YCIAM and no yciam on PATH: the script falls back to target/{release,debug}.
  run env -u YCIAM PATH="/usr/bin:/bin" YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh"
  expect_status 0
  is_iam_token "$OUT" || fail "not an IAM token" "$(show)"
  # An explicit $YCIAM that does not exist is an error, not a silent fallback.
  run env YCIAM="$WORK/no-such-yciam" YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh"
  expect_status 127
}

# --- Tests: list-clouds.sh ----------------------------------------------------------------

count_clouds() { json 'len(d.get("clouds", []))'; }

test_list_clouds_help() {
  run "$SCRIPTS/list-clouds.sh" --help
  expect_status 0
  expect_out "Usage: list-clouds.sh"
  expect_out "https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds"
  expect_out "IAM_TOKEN"
}

test_list_clouds_with_iam_token_from_get_iam_token() {
  # The documented flow: export IAM_TOKEN=..., then the GET.
  local token
  token="$(YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh")"
  fake_reset
  run env IAM_TOKEN="$token" "$SCRIPTS/list-clouds.sh"
  expect_status 0
  expect_eq "clouds on the first page" "100" "$(count_clouds <<<"$OUT")"
  expect_out '"nextPageToken"'
  expect_eq "token exchanges" "0" "$(fake_count create_token)"
  local sent
  sent="$(fake_get /_fake/requests | python3 -c '
import json, sys
r = [r for r in json.load(sys.stdin) if r["route"] == "list_clouds"][-1]
auth = [v for n, v in r["headers"] if n.lower() == "authorization"]
print(r["method"], r["path"], auth == ["Bearer " + sys.argv[1]])' "$token")"
  expect_eq "the request" "GET /resource-manager/v1/clouds True" "$sent"
}

test_list_clouds_pages() {
  local token
  token="$(YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh")"
  run env IAM_TOKEN="$token" "$SCRIPTS/list-clouds.sh" --page-size 7
  expect_status 0
  expect_eq "clouds with --page-size 7" "7" "$(count_clouds <<<"$OUT")"
  local next first
  next="$(json 'd["nextPageToken"]' <<<"$OUT")"
  first="$(json 'd["clouds"][0]["id"]' <<<"$OUT")"
  run env IAM_TOKEN="$token" "$SCRIPTS/list-clouds.sh" --page-size=7 --page-token "$next"
  expect_status 0
  expect_eq "clouds on page 2" "7" "$(count_clouds <<<"$OUT")"
  [[ "$(json 'd["clouds"][0]["id"]' <<<"$OUT")" != "$first" ]] || fail "page 2 repeats page 1"
}

test_list_clouds_all_pages() {
  fake_reset
  run env YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/list-clouds.sh" --all --page-size 100
  expect_status 0
  expect_eq "clouds with --all" "250" "$(count_clouds <<<"$OUT")"
  expect_eq "distinct ids" "250" "$(json 'len({c["id"] for c in d["clouds"]})' <<<"$OUT")"
  expect_eq "page requests" "3" "$(fake_count list_clouds)"
}

test_list_clouds_default_chain() {
  # No IAM_TOKEN: yciam takes YC_OAUTH_TOKEN and exchanges it itself.
  run env -u IAM_TOKEN YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/list-clouds.sh" --page-size 3
  expect_status 0
  expect_eq "clouds" "3" "$(count_clouds <<<"$OUT")"
}

test_list_clouds_rejected_token() {
  run env IAM_TOKEN="t1.not-a-token.at-all" "$SCRIPTS/list-clouds.sh"
  expect_status 22
  expect_out "Token is invalid or has expired"
  expect_err "401"
  expect_err "request id"
  expect_not_in "stderr" "t1.not-a-token.at-all" "$ERR"
}

test_list_clouds_include_and_bad_page_token() {
  local token
  token="$(YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh")"
  run env IAM_TOKEN="$token" "$SCRIPTS/list-clouds.sh" -i --page-token 'no such/page'
  expect_status 22
  expect_out "HTTP/1.1 400"
  expect_out "Invalid page token"
  [[ "$ERR" == *"pageToken=no%20such%2Fpage"* ]] || fail "the page token was not percent-encoded" "$(show)"
}

test_list_clouds_usage_errors() {
  run "$SCRIPTS/list-clouds.sh" --page-size lots
  expect_status 2
  expect_err "--page-size needs a whole number"
  run "$SCRIPTS/list-clouds.sh" --all --page-token x
  expect_status 2
  run "$SCRIPTS/list-clouds.sh" extra
  expect_status 2
}

# --- Tests: no secret on a command line ---------------------------------------------------

test_no_secret_in_any_argv() {
  command -v strace >/dev/null 2>&1 || return 77
  # Some sandboxes forbid ptrace: that is a missing tool, not a failure.
  strace -f -qq -e trace=execve -o /dev/null true 2>/dev/null || return 77
  local trace="$WORK/strace" token
  token="$(YC_OAUTH_TOKEN="$OAUTH" "$SCRIPTS/get-iam-token.sh")"
  : >"$trace.all"
  local -a forms=(
    "env-form"
    "stdin-form"
    "file-form"
    "list-clouds"
    "list-clouds-all"
  )
  local form
  for form in "${forms[@]}"; do
    case "$form" in
      env-form) run env YC_OAUTH_TOKEN="$OAUTH" strace -f -qq -s 65535 -e trace=execve -o "$trace" "$SCRIPTS/get-iam-token.sh" --no-cache ;;
      stdin-form) run strace -f -qq -s 65535 -e trace=execve -o "$trace" "$SCRIPTS/get-iam-token.sh" --no-cache <"$OAUTH_FILE" ;;
      file-form) run strace -f -qq -s 65535 -e trace=execve -o "$trace" "$SCRIPTS/get-iam-token.sh" --oauth-token-file "$OAUTH_FILE" ;;
      list-clouds) run env IAM_TOKEN="$token" strace -f -qq -s 65535 -e trace=execve -o "$trace" "$SCRIPTS/list-clouds.sh" ;;
      list-clouds-all) run env IAM_TOKEN="$token" strace -f -qq -s 65535 -e trace=execve -o "$trace" "$SCRIPTS/list-clouds.sh" --all ;;
    esac
    expect_status 0
    # strace prints argv in full and the environment only as a count of variables.
    grep -q 'execve(".*yciam"' "$trace" || fail "$form: no execve of yciam was traced" "$(cat "$trace")"
    cat "$trace" >>"$trace.all"
  done
  if grep -F -e "$OAUTH" -e "$token" "$trace.all"; then
    fail "a token was passed in argv"
  fi
  grep -q '/\* [0-9]* vars \*/' "$trace.all" || fail "strace printed environments: the check would be wrong"
}

# --- Tests: shellcheck --------------------------------------------------------------------

test_shellcheck() {
  command -v shellcheck >/dev/null 2>&1 || return 77
  local -a files=()
  local f
  while IFS= read -r -d '' f; do
    files+=("$f")
  done < <(find "$ROOT/scripts" "$ROOT/tests" -name '*.sh' -type f -print0)
  ((${#files[@]} >= 6)) || fail "found only ${#files[@]} scripts: ${files[*]}"
  run shellcheck --severity=style "${files[@]}"
  expect_status 0
}

# --- Tests: the PowerShell module package -------------------------------------------------

package_module() {
  # Packs once per run, into $WORK/dist (the release build itself is incremental).
  if [[ ! -f "$WORK/dist/YcIam/YcIam.psd1" ]]; then
    "$SCRIPTS/package-powershell-module.sh" --out "$WORK/dist" >"$WORK/package.log" 2>&1 ||
      fail "packaging failed:" "$(tail -n 30 "$WORK/package.log")"
  fi
}

crate_version() { sed -n 's/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1; }

test_package_layout_and_zip() {
  package_module
  local module="$WORK/dist/YcIam" version zip
  version="$(crate_version)"
  zip="$WORK/dist/YcIam-$version-linux-x64.zip"
  [[ -f "$module/YcIam.psd1" && -f "$module/YcIam.psm1" ]] || fail "no manifest or script module in $module"
  [[ -f "$module/runtimes/linux-x64/native/libyciam.so" ]] || fail "no runtimes/linux-x64/native/libyciam.so"
  [[ -f "$zip" ]] || fail "no $zip" "$(ls -l "$WORK/dist")"
  local listed
  listed="$(python3 -c '
import sys, zipfile
print(" ".join(sorted(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if not n.endswith("/"))))' "$zip")"
  expect_eq "zip entries" \
    "YcIam/YcIam.psd1 YcIam/YcIam.psm1 YcIam/runtimes/linux-x64/native/libyciam.so" "$listed"
  cmp -s "$module/YcIam.psm1" "$ROOT/bindings/powershell/YcIam/YcIam.psm1" || fail "the packed psm1 differs from the source"
  run "$SCRIPTS/package-powershell-module.sh" --help
  expect_status 0
  expect_out "runtimes/<rid>/native"
}

test_package_manifest_matches_module() {
  package_module
  run python3 - "$WORK/dist/YcIam/YcIam.psd1" "$WORK/dist/YcIam/YcIam.psm1" "$(crate_version)" <<'PY'
import re, sys
psd1, psm1, version = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]
block = re.search(r"FunctionsToExport\s*=\s*@\((.*?)\)", psd1, re.S)
exported = sorted(re.findall(r"'([^']+)'", block.group(1))) if block else []
defined = sorted(re.findall(r"(?m)^function\s+([A-Za-z]+-[A-Za-z0-9]+)\b", psm1))
problems = []
if exported != defined:
    problems.append(f"FunctionsToExport {exported} != Verb-Noun functions {defined}")
approved = {"Get", "Invoke", "Revoke", "Set", "New", "Remove", "Test", "Add", "Clear", "Update"}
for name in defined:
    if name.split("-")[0] not in approved:
        problems.append(f"{name}: not an approved verb")
    body = psm1.split(f"function {name}", 1)[1].split("\nfunction ", 1)[0]
    help_block = re.search(r"<#(.*?)#>", body, re.S)
    if not help_block or ".SYNOPSIS" not in help_block.group(1) or ".EXAMPLE" not in help_block.group(1):
        problems.append(f"{name}: no comment-based help with .SYNOPSIS and .EXAMPLE")
    else:
        # Parameters: "[type] $Name" lines of the param( ... ) block after the help.
        param_block = body.split("#>", 1)[1].split("param(", 1)[1].split("\n    )", 1)[0]
        params = re.findall(r"(?m)^\s*\[[A-Za-z.]+\]\s*\$([A-Za-z]+)", param_block)
        if not params:
            problems.append(f"{name}: found no parameters")
        for p in params:
            if f".PARAMETER {p}\n" not in help_block.group(1):
                problems.append(f"{name}: -{p} has no .PARAMETER help")
for key, want in [("ModuleVersion", version), ("RootModule", "YcIam.psm1"), ("PowerShellVersion", "5.1")]:
    m = re.search(rf"{key}\s*=\s*'([^']*)'", psd1)
    if not m or m.group(1) != want:
        problems.append(f"{key} is {m.group(1) if m else None}, want {want}")
if not re.search(r"CompatiblePSEditions\s*=\s*@\('Desktop',\s*'Core'\)", psd1):
    problems.append("CompatiblePSEditions is not Desktop and Core")
if not re.search(r"GUID\s*=\s*'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'", psd1):
    problems.append("no GUID")
print("\n".join(problems) or f"exported: {' '.join(exported)}")
sys.exit(1 if problems else 0)
PY
  expect_status 0
  expect_out "Get-IamToken Get-YcCloud Invoke-YcRestMethod Revoke-IamToken"
}

test_package_native_library_loads() {
  package_module
  local module="$WORK/dist/YcIam"
  # The path the psm1 computes on linux-x64: [IO.Path]::Combine($PSScriptRoot, 'runtimes', $rid, 'native', $file).
  grep -q "\[IO.Path\]::Combine(\$PSScriptRoot, 'runtimes', \$rid, 'native', \$file)" "$module/YcIam.psm1" ||
    fail "the psm1 no longer computes runtimes/<rid>/native/<file>: update this test"
  if ! grep -q "'X64' { 'x64' }" "$module/YcIam.psm1" || ! grep -q "default { 'libyciam.so' }" "$module/YcIam.psm1"; then
    fail "the psm1 no longer maps Linux x64 to linux-x64/libyciam.so: update this test"
  fi
  local lib="$module/runtimes/linux-x64/native/libyciam.so"
  run python3 -c '
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.yciam_version.restype = ctypes.c_char_p
print(lib.yciam_version().decode())' "$lib"
  expect_status 0
  expect_eq "yciam_version() of the packed library" "$(crate_version)" "$OUT"
  # Every function the module's DllImports name is exported by the packed library.
  local wanted missing="" fn
  wanted="$(grep -o 'static extern [A-Za-z]* yciam_[a-z_]*' "$module/YcIam.psm1" | awk '{print $4}' | sort -u)"
  [[ -n "$wanted" ]] || fail "found no DllImport in the psm1"
  for fn in $wanted; do
    nm -D --defined-only "$lib" | grep -qw "$fn" || missing+=" $fn"
  done
  [[ -z "$missing" ]] || fail "the library does not export:$missing"
}

test_module_native_layer_under_mono() {
  # The psm1's C# P/Invoke layer, compiled from the module's own text with the placeholder
  # filled in as the psm1 does, driven against the fake. Mono stands in for .NET here.
  command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1 || return 77
  package_module
  local module="$WORK/dist/YcIam" src="$WORK/native.cs"
  local lib="$module/runtimes/linux-x64/native/libyciam.so"
  sed -n "/^\$script:NativeSource = @'\$/,/^'@\$/p" "$module/YcIam.psm1" | sed '1d;$d' >"$src"
  grep -q '@@LIBRARY_PATH@@' "$src" || fail "no library path placeholder in the psm1's C# source"
  local escaped="${lib//\"/\"\"}"
  python3 -c 'import sys; p=sys.argv[1]; s=open(p).read(); open(p,"w").write(s.replace("@@LIBRARY_PATH@@", sys.argv[2]))' \
    "$src" "$escaped"
  # C# 5: what Windows PowerShell 5.1's Add-Type compiles.
  run mcs -langversion:5 -nologo -out:"$WORK/native_driver.exe" "$src" "$ROOT/tests/bash/native_driver.cs"
  expect_status 0
  fake_post "/_fake/sa_key?bits=2048" >"$WORK/sa-key.json" || fail "the fake made no key"
  local metadata_addr
  metadata_addr="$(sed -n 's/.*"metadata_addr":"\([^"]*\)".*/\1/p' "$WORK/fake/endpoints.json")"
  run mono "$WORK/native_driver.exe" "$HTTPS" "$CA" "$OAUTH_FILE" "$(crate_version)" \
    "$WORK/sa-key.json" "$metadata_addr" "$WORK/native-cache"
  printf '%s\n' "$OUT" | sed 's/^/    /'
  expect_status 0
  [[ "$OUT" != *"not ok"* ]] || fail "a native check failed"
}

test_powershell_syntax() {
  # The tree-sitter PowerShell grammar (scripts/test-bash.sh installs it into target/) parses
  # the module, the scripts and the Pester tests: a syntax check that needs no pwsh.
  local modules="${YCIAM_PS_SYNTAX_MODULES:-$ROOT/target/ps-syntax/node_modules}"
  command -v node >/dev/null 2>&1 || return 77
  [[ -d "$modules/tree-sitter-powershell" && -d "$modules/tree-sitter" ]] || return 77
  local -a files=()
  local f
  while IFS= read -r -d '' f; do
    files+=("$f")
  done < <(find "$ROOT/bindings/powershell" "$ROOT/scripts" "$ROOT/tests/powershell" \
    -type f \( -name '*.ps1' -o -name '*.psm1' -o -name '*.psd1' \) -print0)
  ((${#files[@]} >= 5)) || fail "found only ${#files[@]} PowerShell files"
  run node "$ROOT/tests/bash/ps_syntax.mjs" "$modules" "${files[@]}"
  expect_status 0
  # ... and it does refuse a broken file.
  # shellcheck disable=SC2016 # PowerShell text, not shell.
  printf 'function Get-Broken {\n  if ($true) {\n    "x"\n' >"$WORK/broken.ps1"
  run node "$ROOT/tests/bash/ps_syntax.mjs" "$modules" "$WORK/broken.ps1"
  expect_status 1
}

# --- The runner ---------------------------------------------------------------------------

main() {
  [[ -x "$YCIAM_BIN" ]] || { printf 'no yciam at %s: run cargo build (or scripts/test-bash.sh)\n' "$YCIAM_BIN" >&2; exit 2; }
  [[ -x "$FAKE_BIN" ]] || { printf 'no yciam-fake at %s: run cargo build -p yciam-fake\n' "$FAKE_BIN" >&2; exit 2; }
  start_fake

  # The scripts talk to the fake only, with a fresh cache and no credential of the caller's.
  export YCIAM="$YCIAM_BIN"
  export YCIAM_CA_FILE="$CA" YC_IAM_ENDPOINT="$HTTPS" YC_RESOURCE_MANAGER_ENDPOINT="$HTTPS"
  # cargo (for the packaging tests) still finds its toolchain once HOME moves.
  export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
  export YCIAM_CACHE_DIR="$WORK/cache" HOME="$WORK/home" XDG_CACHE_HOME="$WORK/home/.cache"
  export YC_METADATA_ADDR="127.0.0.1:9"
  unset YC_IAM_TOKEN YC_OAUTH_TOKEN YC_TOKEN YC_SERVICE_ACCOUNT_KEY_FILE YC_PROFILE YC_ENDPOINT \
    IAM_TOKEN YCIAM_NO_CACHE YCIAM_LIBRARY
  mkdir -p "$HOME"

  local passed=0 failed=0 skipped=0 name status
  local -a failures=()
  while IFS= read -r name; do
    [[ -z "$ONLY" || "$name" == *"$ONLY"* ]] || continue
    status=0
    ("$name") >"$WORK/test.log" 2>&1 || status=$?
    case "$status" in
      0) passed=$((passed + 1)); printf 'ok      %s\n' "${name#test_}"; cat "$WORK/test.log" ;;
      77) skipped=$((skipped + 1)); printf 'skipped %s (a tool it needs is missing)\n' "${name#test_}" ;;
      *) failed=$((failed + 1)); failures+=("${name#test_}"); printf 'FAILED  %s\n' "${name#test_}"; cat "$WORK/test.log" ;;
    esac
  done < <(declare -F | awk '{print $3}' | grep '^test_')

  if ((failed > 0)); then
    printf '\nfailed: %s\n' "${failures[*]}"
  fi
  printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  ((failed == 0))
}

main "$@"
