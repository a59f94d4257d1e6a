#!/bin/sh
# Builds the static guest agent: build.sh OUTFILE. The version is a hash of the sources, so a
# rebuilt image carries a different version exactly when the agent changed.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTFILE" >&2; exit 2; }
out=$1
case $out in /*) ;; *) out="$PWD/$out" ;; esac
cd "$(dirname "$0")"
cache=${HEARTH_CACHE_DIR:-/var/cache/hearth}
export GOPATH=$cache/go/path GOCACHE=$cache/go/cache GOFLAGS= GOPROXY=off
mkdir -p "$GOPATH" "$GOCACHE"
ver=$(ls go.mod *.go | grep -v '_test\.go$' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-12)
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w -X main.version=$ver" -o "$out" . >&2
