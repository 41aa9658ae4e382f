#!/usr/bin/env bash
# Builds the Temporal server and its SQL schema tool from the Go module proxy into a cache outside
# the checkout, keyed by version, for `npm run cluster` and the cluster tests. A no-op when both
# are there.
#   CORDON_TEMPORAL_CACHE  where the binaries go (default: $XDG_CACHE_HOME/cordon/temporal, else ~/.cache/...)
# Prints the directory that holds them. About 5 minutes on 2 idle cores, 162 MB + 58 MB.
# With --dir it only prints that directory (built or not) and builds nothing.
set -euo pipefail

SERVER_VERSION=v1.32.2
# v1.32.2 needs Go >= 1.26.10; the go command fetches this toolchain from the module proxy.
export GOTOOLCHAIN=go1.27.3
cache="${CORDON_TEMPORAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cordon/temporal}/server-$SERVER_VERSION"

# shellcheck source=lib/go-cache.sh
source "$(dirname "$0")/lib/go-cache.sh"
prepare_go_build build-temporal-server "$cache" "${1:-}" temporal-server temporal-sql-tool

echo "build-temporal-server: building temporal-server $SERVER_VERSION into $cache (about 5 minutes on 2 cores)" >&2
GOBIN="$work" CGO_ENABLED=0 go install -trimpath "go.temporal.io/server/cmd/server@$SERVER_VERSION" >&2
GOBIN="$work" CGO_ENABLED=0 go install -trimpath "go.temporal.io/server/cmd/tools/sql@$SERVER_VERSION" >&2
# Moved in last: a build stopped half-way leaves nothing that looks finished.
mv "$work/sql" "$cache/temporal-sql-tool"
mv "$work/server" "$cache/temporal-server"
echo "$cache"
