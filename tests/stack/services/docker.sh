# shellcheck shell=bash
# Docker engine of the real-service test stack: Debian's docker.io (dockerd 20.10 + containerd +
# runc), busybox-static (for tiny FROM-scratch test images) and the compose v1 CLI (docker-compose).
# dockerd runs on its own socket, data root, exec root, pid file, bridge and containerd namespace,
# so it cannot clash with a system docker; tests/stack/docker/daemon.json holds its static options:
# no iptables rules, no IP forwarding/masquerade (containers reach only this host and each other),
# so published ports go through the userland proxy only, and tests/stack/docker/docker-proxy-loopback
# makes that listen on 127.0.0.1/::1 even for "8080:80" on compose's networks. No registry: every
# image is built locally (tests/stack/docker/build-test-image.sh; proof: docker/smoke-test.sh).
# Clients: Debian's docker 20.10 and a newer docker CLI both negotiate API 1.41.
# Sourced by tests/stack/stack.sh after lib.sh.
# Stop: TERM to dockerd (it stops its containers, up to 10 s, and its containerd), then unmount what
# is left mounted under the run folder (after a kill -9 dockerd leaves its data-root bind mount).

# Debian 12 packages (exact versions of the pinned snapshot; plain names if the exact one is gone).
DOCKER_STACK_APT=(
  "docker.io=20.10.24+dfsg1-1+deb12u1+b6"
  "busybox-static=1:1.35.0-4+deb12u1+b1"
  "docker-compose=1.29.2-3"
)
DOCKER_STACK_BRIDGE=olmis-dock0         # Linux bridge of the default network (<= 15 characters)
DOCKER_STACK_BRIDGE_CIDR=172.29.0.1/24  # user networks (compose): 172.29.128.0/17, see daemon.json

# shellcheck source=common.inc
source "$(dirname "${BASH_SOURCE[0]}")/common.inc"

_docker_dir() { echo "${OLMIS_STACK_RUN:-${OLMIS_STACK_CACHE:-$HOME/.cache/olmisctl-stack}/run}/docker"; }
_docker_sock() { echo "$(_docker_dir)/docker.sock"; }

_docker_pkgs_installed() {
  local p name
  for p in "${DOCKER_STACK_APT[@]}"; do
    name=${p%%=*}
    [ "$(dpkg-query -W -f='${Status}' "$name" 2>/dev/null)" = "install ok installed" ] || return 1
  done
  command -v dockerd >/dev/null && command -v docker-compose >/dev/null && [ -x /bin/busybox ]
}

docker_install() {
  _docker_pkgs_installed && return 0
  ((EUID == 0)) || stack_die "docker: docker.io missing; run: sudo tests/stack/stack.sh install docker"
  local pkgs=() p
  # package lists are needed once per machine
  if ! apt-cache policy docker.io 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || stack_die "docker: apt-get update failed"
  fi
  for p in "${DOCKER_STACK_APT[@]}"; do   # the exact version, or the current one if it is gone
    if apt-cache show "$p" >/dev/null 2>&1; then pkgs+=("$p"); else
      stack_log "docker: $p not available, taking the current ${p%%=*}"; pkgs+=("${p%%=*}"); fi
  done
  # policy-rc.d: the packages must not start a system dockerd/containerd
  local prc=/usr/sbin/policy-rc.d had_prc=0 rc=0
  if [ -e "$prc" ]; then had_prc=1; else printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod +x "$prc"; fi
  stack_log "docker: apt-get install ${pkgs[*]}"
  ( stack_apt_install --no-install-recommends -qq "${pkgs[@]}" >/dev/null ) || rc=$?
  if [ $had_prc = 0 ]; then rm -f "$prc"; fi
  [ $rc = 0 ] || stack_die "docker: apt-get install failed"
  _docker_pkgs_installed || stack_die "docker: packages missing after install"
}

# Own Linux bridge, so a system docker's docker0 is never touched.
_docker_bridge() {
  ip link show "$DOCKER_STACK_BRIDGE" >/dev/null 2>&1 && return 0
  ip link add name "$DOCKER_STACK_BRIDGE" type bridge \
    && ip addr add "$DOCKER_STACK_BRIDGE_CIDR" dev "$DOCKER_STACK_BRIDGE" \
    && ip link set "$DOCKER_STACK_BRIDGE" up \
    || stack_die "docker: cannot create bridge $DOCKER_STACK_BRIDGE"
}

# _docker_clear_stale PIDFILE NAME: after a crash (kill -9) the pid file names a dead process or a
# zombie not yet reaped, which dockerd would take for a running daemon/containerd: remove it. Dies
# if it names a live NAME process, which this stack did not record (someone else's on this run dir).
_docker_clear_stale() {
  local f=$1 name=$2 pid state
  [ -f "$f" ] || return 0
  pid=$(head -n1 "$f" 2>/dev/null)
  if [[ $pid =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/stat" ]; then
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $1}')
    if [ "$state" != Z ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$name"; then
      stack_die "docker: $name (pid $pid, from $f) is running but not recorded by the stack"
    fi
  fi
  rm -f "$f"
}

docker_start() {
  local dir
  dir=$(_docker_dir)
  if stack_pid_alive docker dockerd; then return 0; fi
  command -v dockerd >/dev/null || stack_die "docker is not installed (run docker_install)"
  mkdir -p "$dir/data" "$dir/exec"
  _docker_bridge
  _docker_clear_stale "$dir/dockerd.pid" dockerd
  _docker_clear_stale "$dir/exec/containerd/containerd.pid" containerd
  rm -f "$dir/docker.sock"
  # PATH: dockerd finds containerd, containerd-shim-runc-v2, runc and docker-proxy there
  stack_start_bg docker dockerd "$dir/dockerd.log" env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    dockerd --config-file "${OLMIS_REPO:?}/tests/stack/docker/daemon.json" \
    --host "unix://$dir/docker.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" --bridge "$DOCKER_STACK_BRIDGE" \
    --userland-proxy-path "$OLMIS_REPO/tests/stack/docker/docker-proxy-loopback"
}

docker_ready_timeout=60

docker_ready() {
  [ -S "$(_docker_sock)" ] || return 1
  DOCKER_HOST="unix://$(_docker_sock)" timeout 10 docker info --format '{{.ServerVersion}}' \
    >/dev/null 2>&1
}

docker_env() {
  echo "DOCKER_HOST=unix://$(_docker_sock)"
}

docker_stop() {
  local dir m
  dir=$(_docker_dir)
  stack_stop_svc docker
  # mounts under our run folder only, deepest first
  while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  return 0
}
