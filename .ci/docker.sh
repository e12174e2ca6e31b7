#!/usr/bin/env bash
# CI, called by .ci/run: what the compose tests need. Debian's Docker engine (docker.io) and debootstrap, installed when
# absent; the engine started when it does not answer; Compose v2 and buildx (Debian trixie's packages, unpacked, not
# installed: bookworm carries neither) as CLI plugins in $FANIN_DOCKER_CONFIG/cli-plugins; then the stand-in images
# for the upstream images docker-compose.yml names (test/compose-standins/build.sh; kept when up to date).
#
# Where no Docker engine can start (an unprivileged container), it says so and stops there: the live compose test then
# skips with the same reason; the static compose test still runs both Compose versions.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[ci docker] %s\n' "$*"; }
started=$SECONDS
CACHE=${FANIN_CI_CACHE:-/var/cache/fanin-ci}
# The tests look in the same place (test/e2e/compose/live/docker-cli.ts): keep the two defaults equal.
DOCKER_CONFIG_DIR=${FANIN_DOCKER_CONFIG:-/var/cache/fanin-ci/docker-config}
# Debian's client, the engine's own version (another client may shadow it in PATH).
DOCKER=/usr/bin/docker
MIRROR=${FANIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

missing=()
[ -x /usr/sbin/dockerd ] && [ -x "$DOCKER" ] || missing+=(docker.io)
[ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing from Debian: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Compose v2 and buildx from trixie's pool, through a throw-away apt state: the host's sources, lists and package
# cache stay as they are.
plugins=$DOCKER_CONFIG_DIR/cli-plugins
if ! DOCKER_CONFIG=$DOCKER_CONFIG_DIR "$DOCKER" compose version >/dev/null 2>&1 \
  || ! DOCKER_CONFIG=$DOCKER_CONFIG_DIR "$DOCKER" buildx version >/dev/null 2>&1; then
  log "fetching Compose v2 and buildx (Debian trixie) into $plugins"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs" "$tmp/root"
  echo "deb $MIRROR trixie main" >"$tmp/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root)
  timeout 300 apt-get "${apt_opts[@]}" update -qq
  (cd "$tmp/debs" && timeout 300 apt-get "${apt_opts[@]}" download -qq docker-compose docker-buildx)
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  install -D -m 755 "$tmp/root/usr/libexec/docker/cli-plugins/docker-compose" "$plugins/docker-compose"
  install -D -m 755 "$tmp/root/usr/libexec/docker/cli-plugins/docker-buildx" "$plugins/docker-buildx"
fi
log "$(DOCKER_CONFIG=$DOCKER_CONFIG_DIR "$DOCKER" compose version), buildx $(DOCKER_CONFIG=$DOCKER_CONFIG_DIR "$DOCKER" buildx version | awk '{print $2}')"

if ! timeout 20 "$DOCKER" info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup /usr/sbin/dockerd >>/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do timeout 5 "$DOCKER" info >/dev/null 2>&1 && break; sleep 1; done
fi
if ! timeout 20 "$DOCKER" info >/dev/null 2>&1; then
  log "no Docker engine can start here (tail of /var/log/dockerd.log below): the live compose test will skip"
  tail -5 /var/log/dockerd.log 2>/dev/null || true
  exit 0
fi
log "engine $("$DOCKER" version --format '{{.Server.Version}}')"

DOCKER=$DOCKER FANIN_CI_CACHE=$CACHE test/compose-standins/build.sh
# Images a changed recipe replaced, now untagged: only ours.
"$DOCKER" image prune -f --filter "label=org.fanin.standin.recipe" >/dev/null
log "ready in $((SECONDS - started)) s"
