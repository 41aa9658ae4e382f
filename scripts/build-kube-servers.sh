#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a cache outside the checkout, keyed
# by version, for the Kubernetes connector's tests and the sandbox. A no-op when both are there.
#   CORDON_KUBE_CACHE  where the binaries go (default: $XDG_CACHE_HOME/cordon/kube, else ~/.cache/...)
# Prints the directory that holds them. About 13 minutes on 2 idle cores (26 under load), 170 MB for kube-apiserver.
# With --dir it only prints that directory (built or not) and builds nothing.
set -euo pipefail

KUBE_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.3
cache="${CORDON_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cordon/kube}/kubernetes-$KUBE_VERSION-etcd-$ETCD_VERSION"

# shellcheck source=lib/go-cache.sh
source "$(dirname "$0")/lib/go-cache.sh"
prepare_go_build build-kube-servers "$cache" "${1:-}" kube-apiserver etcd
proxy="$(go env GOPROXY)"; proxy="${proxy%%,*}"
[ -n "$proxy" ] && [ "$proxy" != direct ] && [ "$proxy" != off ] || proxy=https://proxy.golang.org

# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local folders
# that a module download does not have: pin each to its published release instead.
mkdir -p "$work/kube" "$work/etcd"
curl -fsSL "$proxy/k8s.io/kubernetes/@v/$KUBE_VERSION.mod" |
  sed -n 's|^\s*\(k8s\.io/[a-z0-9-]*\) => ./staging/.*|\1|p' >"$work/staging"
[ -s "$work/staging" ] || { echo "build-kube-servers: no staging modules in k8s.io/kubernetes $KUBE_VERSION" >&2; exit 1; }
{
  echo "module cordon.local/kubeservers"
  echo
  echo "go 1.26.0"
  echo
  sed "s|.*|replace & => & $STAGING_VERSION|" "$work/staging"
} >"$work/kube/go.mod"

printf 'module cordon.local/etcdserver\n\ngo 1.26.0\n' >"$work/etcd/go.mod"

echo "build-kube-servers: building etcd $ETCD_VERSION into $cache" >&2
(cd "$work/etcd" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 && CGO_ENABLED=0 go build -trimpath -o "$cache/etcd.tmp" go.etcd.io/etcd/server/v3 >&2)
mv "$cache/etcd.tmp" "$cache/etcd"

echo "build-kube-servers: building kube-apiserver $KUBE_VERSION into $cache (about 13 minutes on 2 cores)" >&2
(cd "$work/kube" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" >&2 && CGO_ENABLED=0 go build -trimpath -o "$cache/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2)
mv "$cache/kube-apiserver.tmp" "$cache/kube-apiserver"
echo "$cache"
