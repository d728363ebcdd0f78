#!/usr/bin/env bash
# A real single-node Docker Swarm on 127.0.0.1 for development, tests, CI and the demo.
#
#   scripts/local-swarm.sh up       idempotent: reuse a daemon that answers, else install and start one;
#                                   init the swarm on 127.0.0.1, drop the ingress network, import test images
#   scripts/local-swarm.sh status   what is running
#   scripts/local-swarm.sh down     stop the daemon this script started (a reused daemon is left alone)
#
# No bridge, no iptables, no registry: images are built with `docker import` from busybox-static, services
# use the host network and bind 127.0.0.1 only (see DESIGN.md §5).
set -euo pipefail

STATE_DIR="${CLINICAL_SWARM_STATE_DIR:-/var/lib/clinical-swarm}"
PIDFILE="$STATE_DIR/dockerd.pid"
LOGFILE="$STATE_DIR/dockerd.log"
DATA_ROOT="$STATE_DIR/docker"
SOCK="/var/run/docker.sock"
TEST_IMAGE_REPO="clinical-test/busybox"
TEST_IMAGE_TAGS=(v1 v2 v3)
WAIT_DAEMON_S=60

log() { printf '[local-swarm] %s\n' "$*" >&2; }
die() { printf '[local-swarm] error: %s\n' "$*" >&2; exit 1; }

daemon_answers() { timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || missing+=(busybox-static)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    sudo_if_needed apt-get update -qq >/dev/null 2>&1 || true
    sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  fi
  # busybox-static must be static: the imported image has no libc
  if file -L /bin/busybox 2>/dev/null | grep -q dynamically; then
    sudo_if_needed apt-get install -y -qq busybox-static >/dev/null || die "busybox-static is needed"
  fi
}

start_daemon() {
  if daemon_answers; then
    log "reusing the Docker daemon that already answers"
    return
  fi
  ensure_packages
  sudo_if_needed mkdir -p "$STATE_DIR"
  log "starting dockerd (no bridge, no iptables; data in $DATA_ROOT; log $LOGFILE)"
  sudo_if_needed sh -c "nohup dockerd --bridge=none --iptables=false --ip-masq=false \
      --data-root '$DATA_ROOT' --pidfile '$PIDFILE' -H unix://$SOCK >'$LOGFILE' 2>&1 &"
  local i
  for ((i = 0; i < WAIT_DAEMON_S; i++)); do
    daemon_answers && { log "dockerd answers after ${i}s"; return; }
    sleep 1
  done
  tail -20 "$LOGFILE" >&2 || true
  die "dockerd did not answer within ${WAIT_DAEMON_S}s (see $LOGFILE)"
}

init_swarm() {
  local state
  state=$(docker info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" != "active" ]; then
    log "initialising a single-node swarm on 127.0.0.1"
    docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
  fi
  if docker network inspect ingress >/dev/null 2>&1; then
    log "removing the ingress network (host networking only)"
    docker network rm ingress >/dev/null 2>&1 || true
  fi
}

build_images() {
  local tag missing=()
  for tag in "${TEST_IMAGE_TAGS[@]}"; do
    docker image inspect "$TEST_IMAGE_REPO:$tag" >/dev/null 2>&1 || missing+=("$tag")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/data" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  for tag in "${missing[@]}"; do
    echo "$tag" >"$root/www/version"
    log "importing $TEST_IMAGE_REPO:$tag"
    tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$TEST_IMAGE_REPO:$tag" >/dev/null
  done
}

status() {
  if ! daemon_answers; then echo "daemon: not answering"; return 1; fi
  echo "daemon: $(docker version --format 'server {{.Server.Version}} (API {{.Server.APIVersion}})')"
  echo "swarm: $(docker info --format '{{.Swarm.LocalNodeState}} (manager: {{.Swarm.ControlAvailable}})')"
  echo "images: $(docker image ls "$TEST_IMAGE_REPO" --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')"
  echo "services: $(docker service ls -q | wc -l)"
}

down() {
  if [ -f "$PIDFILE" ]; then
    local pid
    pid=$(cat "$PIDFILE")
    log "stopping dockerd (pid $pid)"
    sudo_if_needed kill "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  else
    log "no daemon started by this script; nothing to stop"
  fi
}

case "${1:-}" in
  up) start_daemon; init_swarm; build_images; status ;;
  status) status ;;
  down) down ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
