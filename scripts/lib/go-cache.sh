# shellcheck shell=bash
# Sourced by the scripts that build binaries from the Go module proxy into a cache: what they share.
#
# prepare_go_build TOOL DIR MODE BINARY...
#   MODE --dir: prints DIR and exits (nothing is built).
#   Every BINARY already in DIR: prints DIR and exits.
#   Otherwise checks that Go is installed, creates DIR, and sets the global $work to a scratch
#   directory that is removed when the script exits.
prepare_go_build() {
  local tool=$1 dir=$2 mode=$3 binary built=1
  shift 3
  if [ "$mode" = --dir ]; then
    echo "$dir"
    exit 0
  fi
  for binary in "$@"; do [ -x "$dir/$binary" ] || built=0; done
  if [ "$built" = 1 ]; then
    echo "$dir"
    exit 0
  fi
  command -v go >/dev/null || { echo "$tool: Go is not installed" >&2; exit 1; }
  mkdir -p "$dir"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
}
