#!/usr/bin/env bash
# Lists the clouds the account can see: the documented
# `curl --request GET --header "Authorization: Bearer ${IAM_TOKEN}" .../resource-manager/v1/clouds`,
# sent by `yciam curl`, which adds the header itself so the token never appears on a
# command line.
set -euo pipefail

readonly prog="list-clouds.sh"

usage() {
  cat <<'EOF'
Usage: list-clouds.sh [OPTIONS]

List the clouds the account can see and print the response body, as the documented
call does:

  curl \
    --request GET \
    --header "Authorization: Bearer ${IAM_TOKEN}" \
    https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds

The IAM token: IAM_TOKEN from the environment, as in the documented flow
(export IAM_TOKEN=$(get-iam-token.sh)); else whatever `yciam token` would use
(YC_IAM_TOKEN, YC_SERVICE_ACCOUNT_KEY_FILE, YC_OAUTH_TOKEN, YC_TOKEN, the yc profile, ...).

Options:
  --page-size N                 clouds per page (the API's default is 100, its maximum 1000)
  --page-token TOKEN            the page to get: a nextPageToken from an earlier answer
  --all                         get every page and print one {"clouds":[...]}
                                (`yciam clouds`)
  -i, --include                 print the status line and headers before the body
  --endpoint DOMAIN             API domain of the installation, e.g. api.yandexcloud.kz
                                [env: YC_ENDPOINT] [default: api.cloud.yandex.net]
  --resource-manager-endpoint URL
                                Resource Manager API base URL
                                [env: YC_RESOURCE_MANAGER_ENDPOINT]
                                [default: https://resource-manager.<DOMAIN>]
  --iam-endpoint URL            IAM API base URL, when a token has to be made
                                [env: YC_IAM_ENDPOINT] [default: https://iam.<DOMAIN>]
  --ca-file FILE                also trust the CA certificates in this PEM file
                                [env: YCIAM_CA_FILE]
  --timeout SECONDS             give up after this long, retries included [default: 30]
  --no-cache                    do not use or fill the token cache [env: YCIAM_NO_CACHE=1]
  -v, --verbose                 log requests, retries and cache decisions to stderr
  -h, --help                    print this help

Environment:
  IAM_TOKEN  the IAM token to send (passed to yciam as YC_IAM_TOKEN, never as an argument)
  YCIAM      the yciam binary to use [default: yciam on PATH, else the newer of the
             repository's target/release/yciam and target/debug/yciam]

Exit codes (those of yciam): 0 success, 22 the API answered HTTP >= 400 (the body is
still printed, as curl --fail-with-body), 2 bad usage, 3 no credential, 4 credential
rejected, 5 network or TLS failure, 6 server failure, 127 yciam not found.

Examples:
  export IAM_TOKEN=$(get-iam-token.sh)
  list-clouds.sh
  list-clouds.sh --all | jq -r '.clouds[].name'
EOF
}

die_usage() {
  printf '%s: %s\nTry '\''%s --help'\''.\n' "$prog" "$1" "$prog" >&2
  exit 2
}

# The yciam binary: $YCIAM, else on PATH, else built in this repository.
# (get-iam-token.sh carries the same lookup.)
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

# Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
urlencode() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [A-Za-z0-9._~-]) out+="$c" ;;
      *) out+="$(printf '%%%02X' "'$c")" ;;
    esac
  done
  printf '%s' "$out"
}

main() {
  local all="" page_size="" page_token="" include="" endpoint="" rm_endpoint=""
  local -a pass=()
  while (($# > 0)); do
    local arg="$1" value=""
    case "$arg" in
      --*=*) value="${arg#*=}"; arg="${arg%%=*}" ;;
    esac
    case "$arg" in
      -h | --help) usage; return 0 ;;
      --all) all=1 ;;
      -i | --include) include=1 ;;
      --no-cache) pass+=(--no-cache) ;;
      -v | --verbose) pass+=(--verbose) ;;
      --page-size | --page-token | --endpoint | --resource-manager-endpoint | --iam-endpoint | --ca-file | --timeout)
        if [[ "$1" != *=* ]]; then
          (($# >= 2)) || die_usage "$arg needs a value"
          value="$2"
          shift
        fi
        case "$arg" in
          --page-size)
            [[ "$value" =~ ^[0-9]+$ ]] || die_usage "--page-size needs a whole number, not '$value'"
            page_size="$value"
            ;;
          --page-token) page_token="$value" ;;
          --endpoint) endpoint="$value"; pass+=("$arg" "$value") ;;
          --resource-manager-endpoint) rm_endpoint="$value"; pass+=("$arg" "$value") ;;
          *) pass+=("$arg" "$value") ;;
        esac
        ;;
      -*) die_usage "unknown option '$arg'" ;;
      *) die_usage "unexpected argument '$arg'" ;;
    esac
    shift
  done
  if [[ -n "$all" && (-n "$page_token" || -n "$include") ]]; then
    die_usage "--all gets every page itself: it takes neither --page-token nor --include"
  fi

  local yciam
  yciam="$(find_yciam)" || return $?

  # The documented flow keeps the token in IAM_TOKEN; yciam reads it from YC_IAM_TOKEN.
  if [[ -n "${IAM_TOKEN:-}" ]]; then
    export YC_IAM_TOKEN="$IAM_TOKEN"
  fi

  if [[ -n "$all" ]]; then
    local -a all_args=("$yciam" clouds "${pass[@]}")
    if [[ -n "$page_size" ]]; then
      all_args+=(--page-size "$page_size")
    fi
    exec "${all_args[@]}"
  fi

  # The same base URL yciam would use: the flag, the environment, or the API domain.
  local base="${rm_endpoint:-${YC_RESOURCE_MANAGER_ENDPOINT:-}}"
  if [[ -z "$base" ]]; then
    local domain="${endpoint:-${YC_ENDPOINT:-api.cloud.yandex.net}}"
    domain="${domain#https://}"
    domain="${domain#http://}"
    domain="${domain%%/*}"
    domain="${domain%:443}"
    base="https://resource-manager.$domain"
  fi
  local url="${base%/}/resource-manager/v1/clouds" sep="?"
  if [[ -n "$page_size" ]]; then
    url+="${sep}pageSize=$page_size"
    sep="&"
  fi
  if [[ -n "$page_token" ]]; then
    url+="${sep}pageToken=$(urlencode "$page_token")"
  fi
  local -a curl_args=("$yciam" curl "${pass[@]}" --request GET)
  if [[ -n "$include" ]]; then
    curl_args+=(--include)
  fi
  exec "${curl_args[@]}" "$url"
}

main "$@"
