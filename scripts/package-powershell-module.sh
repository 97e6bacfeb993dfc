#!/usr/bin/env bash
# Builds the yciam library and packs the YcIam PowerShell module for this platform:
# dist/YcIam/ (YcIam.psd1, YcIam.psm1, runtimes/<rid>/native/<library>) and
# dist/YcIam-<version>-<rid>.zip.
set -euo pipefail

readonly prog="package-powershell-module.sh"

usage() {
  cat <<'EOF'
Usage: package-powershell-module.sh [OPTIONS]

Build the yciam native library (cargo build --release --lib) and lay out the YcIam
PowerShell module for the current platform:

  dist/YcIam/YcIam.psd1
  dist/YcIam/YcIam.psm1
  dist/YcIam/runtimes/<rid>/native/<libyciam.so | libyciam.dylib | yciam.dll>
  dist/YcIam-<version>-<rid>.zip

<rid> is linux-x64, linux-arm64, osx-x64, osx-arm64, win-x64 or win-arm64; <version> is
the manifest's ModuleVersion. Install by unzipping into a folder on $env:PSModulePath,
then Import-Module YcIam.

Options:
  --out DIR      put the module folder and the zip in DIR [default: <repo>/dist]
  --no-build     use the library already in target/release (do not run cargo)
  -h, --help     print this help
EOF
}

die_usage() {
  printf '%s: %s\nTry '\''%s --help'\''.\n' "$prog" "$1" "$prog" >&2
  exit 2
}

# The .NET runtime identifier of this machine, as the module's loader computes it.
runtime_id() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=osx ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT) os=win ;;
    *) printf '%s: unsupported system %s\n' "$prog" "$(uname -s)" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64 | AMD64) arch=x64 ;;
    aarch64 | arm64 | ARM64) arch=arm64 ;;
    *) printf '%s: unsupported architecture %s\n' "$prog" "$(uname -m)" >&2; return 1 ;;
  esac
  printf '%s-%s\n' "$os" "$arch"
}

main() {
  local root out build=1
  root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
  out="$root/dist"
  while (($# > 0)); do
    case "$1" in
      -h | --help) usage; return 0 ;;
      --no-build) build="" ;;
      --out)
        (($# >= 2)) || die_usage "--out needs a directory"
        out="$2"
        shift
        ;;
      --out=*) out="${1#--out=}" ;;
      *) die_usage "unknown argument '$1'" ;;
    esac
    shift
  done

  local rid lib
  rid="$(runtime_id)"
  case "$rid" in
    win-*) lib=yciam.dll ;;
    osx-*) lib=libyciam.dylib ;;
    *) lib=libyciam.so ;;
  esac

  local source="$root/bindings/powershell/YcIam"
  local version
  version="$(sed -n "s/^[[:space:]]*ModuleVersion[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$source/YcIam.psd1")"
  [[ -n "$version" ]] || { printf '%s: no ModuleVersion in %s\n' "$prog" "$source/YcIam.psd1" >&2; return 1; }
  local crate_version
  crate_version="$(sed -n 's/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)"
  if [[ "$crate_version" != "$version" ]]; then
    printf '%s: warning: YcIam.psd1 says %s but Cargo.toml says %s\n' "$prog" "$version" "$crate_version" >&2
  fi

  if [[ -n "$build" ]]; then
    (cd "$root" && cargo build --release --lib)
  fi
  local built="$root/target/release/$lib"
  [[ -f "$built" ]] || { printf '%s: %s was not built\n' "$prog" "$built" >&2; return 1; }

  mkdir -p "$out"
  out="$(cd -- "$out" && pwd)"
  local module="$out/YcIam"
  rm -rf -- "$module"
  mkdir -p "$module/runtimes/$rid/native"
  cp -- "$source/YcIam.psd1" "$source/YcIam.psm1" "$module/"
  cp -- "$built" "$module/runtimes/$rid/native/$lib"

  local zip="$out/YcIam-$version-$rid.zip"
  rm -f -- "$zip"
  if command -v zip >/dev/null 2>&1; then
    (cd "$out" && zip -q -r -X "$zip" YcIam)
  else
    (cd "$out" && python3 -m zipfile -c "$zip" YcIam)
  fi
  printf '%s\n%s\n' "$module" "$zip"
}

main "$@"
