#!/usr/bin/env bash
# Exchanges a Yandex account OAuth token for an IAM token and prints it: the documented
# `curl --request POST --data '{"yandexPassportOauthToken":"..."}' .../iam/v1/tokens`,
# done by `yciam token` so the OAuth token never appears on a command line.
set -euo pipefail

readonly prog="get-iam-token.sh"

usage() {
  cat <<'EOF'
Usage: get-iam-token.sh [OPTIONS] [< OAUTH_TOKEN_FILE]

Exchange a Yandex account OAuth token for an IAM token and print the IAM token.
A drop-in for the documented call (its output piped through `jq -r .iamToken`):

  curl \
    --request POST \
    --data '{"yandexPassportOauthToken":"<OAuth_token>"}' \
    https://iam.api.cloud.yandex.net/iam/v1/tokens

The OAuth token comes from the first of these that applies (never from an argument,
which any user of the machine could read in the process list):
  --oauth-token-file FILE|-   a file, or - for standard input
  YC_OAUTH_TOKEN              the environment
  standard input              when it is not a terminal (a pipe, or < FILE)
  a prompt                    when standard input is a terminal (input not echoed)

Options:
  --oauth-token-file FILE|-  read the OAuth token from FILE (- = standard input)
  --json                     print the whole answer, {"iamToken":...,"expiresAt":...}
  --format FORMAT            text (default), json, env, powershell or header,
                             as `yciam token --format`
  --endpoint DOMAIN          API domain of the installation, e.g. api.yandexcloud.kz
                             [env: YC_ENDPOINT] [default: api.cloud.yandex.net]
  --iam-endpoint URL         IAM API base URL [env: YC_IAM_ENDPOINT]
                             [default: https://iam.<DOMAIN>]
  --ca-file FILE             also trust the CA certificates in this PEM file
                             [env: YCIAM_CA_FILE]
  --timeout SECONDS          give up after this long, retries included [default: 30]
  --no-cache                 always ask the IAM API for a new token [env: YCIAM_NO_CACHE=1]
  -v, --verbose              log requests, retries and cache decisions to stderr
  -h, --help                 print this help

Environment:
  YCIAM   the yciam binary to use [default: yciam on PATH, else the newer of the
          repository's target/release/yciam and target/debug/yciam]

Exit codes (those of yciam): 0 success, 2 bad usage or an empty OAuth token,
4 the OAuth token was rejected, 5 network or TLS failure, 6 server failure,
127 yciam not found.

Examples:
  export IAM_TOKEN=$(get-iam-token.sh)          # YC_OAUTH_TOKEN set, or you are asked
  get-iam-token.sh < ~/.config/yandex-cloud/oauth-token
  eval "$(get-iam-token.sh --format env)"       # sets IAM_TOKEN
EOF
}

die_usage() {
  printf '%s: %s\nTry '\''%s --help'\''.\n' "$prog" "$1" "$prog" >&2
  exit 2
}

# The yciam binary: $YCIAM, else on PATH, else built in this repository.
# (list-clouds.sh carries the same lookup.)
find_yciam() {
  if [[ -n "${YCIAM:-}" ]]; then
    printf '%s\n' "$YCIAM"
    return 0
  fi
  if command -v yciam >/dev/null 2>&1; then
    command -v yciam
    return 0
  fi
  local root release debug
  root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
  release="$root/target/release/yciam"
  debug="$root/target/debug/yciam"
  # The newer build, so that a stale release binary does not shadow a fresh debug one.
  if [[ -x "$release" && (! -x "$debug" || "$release" -nt "$debug") ]]; then
    printf '%s\n' "$release"
    return 0
  fi
  if [[ -x "$debug" ]]; then
    printf '%s\n' "$debug"
    return 0
  fi
  printf '%s: cannot find yciam: set YCIAM=/path/to/yciam, put it on PATH, or run cargo build\n' \
    "$prog" >&2
  return 127
}

main() {
  local token_file="" format="text"
  local -a pass=()
  while (($# > 0)); do
    local arg="$1" value=""
    # Accept both --name VALUE and --name=VALUE.
    case "$arg" in
      --*=*) value="${arg#*=}"; arg="${arg%%=*}" ;;
    esac
    case "$arg" in
      -h | --help) usage; return 0 ;;
      --json) format="json" ;;
      --no-cache) pass+=(--no-cache) ;;
      -v | --verbose) pass+=(--verbose) ;;
      --oauth-token-file | --format | --endpoint | --iam-endpoint | --ca-file | --timeout)
        if [[ "$1" != *=* ]]; then
          (($# >= 2)) || die_usage "$arg needs a value"
          value="$2"
          shift
        fi
        case "$arg" in
          --oauth-token-file) token_file="$value" ;;
          --format) format="$value" ;;
          *) pass+=("$arg" "$value") ;;
        esac
        ;;
      -*) die_usage "unknown option '$arg'" ;;
      *) die_usage "unexpected argument: the OAuth token is never taken from the command line; set YC_OAUTH_TOKEN or pipe it to standard input" ;;
    esac
    shift
  done

  local yciam
  yciam="$(find_yciam)" || return $?
  local -a cmd=("$yciam" token --format "$format" "${pass[@]}" --oauth-token-file)

  # Every form below names the OAuth token explicitly, so a YC_IAM_TOKEN or service
  # account key in the environment cannot stand in for it.
  if [[ -n "$token_file" ]]; then
    exec "${cmd[@]}" "$token_file"
  fi
  if [[ -n "${YC_OAUTH_TOKEN:-}" ]]; then
    # printf is a builtin: the token goes through a pipe, not an argv.
    printf '%s' "$YC_OAUTH_TOKEN" | "${cmd[@]}" -
    return 0
  fi
  if [[ ! -t 0 ]]; then
    exec "${cmd[@]}" -
  fi
  local oauth_token=""
  if ! IFS= read -r -s -p "Yandex OAuth token: " oauth_token; then
    oauth_token=""
  fi
  printf '\n' >&2
  if [[ -z "$oauth_token" ]]; then
    printf '%s: no OAuth token given: set YC_OAUTH_TOKEN, pipe it to standard input, or use --oauth-token-file (get one at https://oauth.yandex.com/authorize?response_type=token&client_id=1a6990aa636648e9b2ef855fa7bec2fb)\n' \
      "$prog" >&2
    return 2
  fi
  printf '%s' "$oauth_token" | "${cmd[@]}" -
}

main "$@"
