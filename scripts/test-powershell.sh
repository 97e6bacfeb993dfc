#!/usr/bin/env bash
# Runs the Pester 5 tests of the YcIam PowerShell module (tests/powershell) against the
# packaged module (dist/YcIam, made here by scripts/package-powershell-module.sh) and the
# local fake. Without pwsh on PATH it says so and succeeds.
# Usage: scripts/test-powershell.sh
set -euo pipefail

if ! command -v pwsh >/dev/null 2>&1; then
  echo 'SKIPPED: PowerShell tests (pwsh not installed)'
  exit 0
fi

root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build -p yciam-fake
scripts/package-powershell-module.sh >/dev/null

# A private cache and no caller credentials for the whole run.
work="$(mktemp -d "${TMPDIR:-/tmp}/yciam-pester.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
export YCIAM_CACHE_DIR="$work/cache" YC_METADATA_ADDR="127.0.0.1:9"
unset YC_IAM_TOKEN YC_OAUTH_TOKEN YC_TOKEN YC_SERVICE_ACCOUNT_KEY_FILE YC_PROFILE YC_ENDPOINT \
  YC_IAM_ENDPOINT YC_RESOURCE_MANAGER_ENDPOINT YCIAM_CA_FILE YCIAM_NO_CACHE YCIAM_LIBRARY IAM_TOKEN

# shellcheck disable=SC2016 # PowerShell code: its $ is PowerShell's, not the shell's.
pwsh -NoLogo -NoProfile -NonInteractive -Command '
  $ErrorActionPreference = "Stop"
  if (-not (Get-Module -ListAvailable Pester | Where-Object { $_.Version -ge [version]"5.0" })) {
      Install-Module -Name Pester -MinimumVersion 5.0 -Scope CurrentUser -Force -SkipPublisherCheck
  }
  Import-Module Pester -MinimumVersion 5.0
  $config = New-PesterConfiguration
  $config.Run.Path = "tests/powershell"
  $config.Run.PassThru = $true
  $config.Output.Verbosity = "Detailed"
  $result = Invoke-Pester -Configuration $config
  "{0} passed, {1} failed, {2} skipped" -f $result.PassedCount, $result.FailedCount, $result.SkippedCount
  if ($result.Result -ne "Passed" -or $result.FailedCount -gt 0) { exit 1 }
'
