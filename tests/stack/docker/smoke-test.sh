#!/usr/bin/env bash
# Proof that the test stack's Docker engine works: build the test image, run a container, publish a
# busybox httpd on 127.0.0.1 and fetch from it, run a docker-compose (v1) project. Prints one line
# per check and "N passed, N failed" at the end; exit code 1 on any failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${OLMIS_STACK_CACHE:=$HOME/.cache/olmisctl-stack}"
: "${OLMIS_STACK_RUN:=$OLMIS_STACK_CACHE/run}"
export DOCKER_HOST=${DOCKER_HOST:-unix://$OLMIS_STACK_RUN/docker/docker.sock}
port=${OLMIS_STACK_DOCKER_SMOKE_PORT:-28580}
pass=0 fail=0
check() {  # check NAME CMD...
  local name=$1; shift
  if out=$("$@" 2>&1); then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name: $out" | head -5; fi
}
name=olmis-smoke-httpd-$$
proj=olmissmoke$$
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1
  [ -n "${cdir:-}" ] && (cd "$cdir" && docker-compose -p "$proj" down -t 1 >/dev/null 2>&1; rm -rf "$cdir")
}
trap cleanup EXIT

check "build olmis-test/busybox:1" "$here/build-test-image.sh"
check "docker run echo hi" bash -c '[ "$(docker run --rm olmis-test/busybox:1 echo hi)" = hi ]'
check "httpd published on 127.0.0.1:$port" docker run -d --name "$name" -p "127.0.0.1:$port:80" \
  olmis-test/busybox:1 httpd -f -p 80 -h /www
fetch() { for _ in $(seq 50); do curl -fsS -m 2 "http://127.0.0.1:$port/" && return 0; sleep 0.1; done; return 1; }
check "GET http://127.0.0.1:$port/" bash -c "$(declare -f fetch); fetch | grep -qx olmis-test"
check "port bound to 127.0.0.1 only" bash -c \
  "docker port $name 80 | grep -qx '127.0.0.1:$port'"
docker rm -f "$name" >/dev/null 2>&1
# docker-compose v1: short port syntax without an IP must land on 127.0.0.1 (daemon "ip")
cdir=$(mktemp -d)
cat > "$cdir/docker-compose.yml" <<YML
version: "3.7"
services:
  web:
    image: olmis-test/busybox:1
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["$((port + 1)):80"]
YML
check "docker-compose up -d" bash -c "cd '$cdir' && docker-compose -p $proj up -d"
check "compose port on 127.0.0.1:$((port + 1))" bash -c \
  "cd '$cdir' && docker-compose -p $proj port web 80 | grep -qx '127.0.0.1:$((port + 1))'"
port=$((port + 1))
check "GET http://127.0.0.1:$port/ (compose)" bash -c "$(declare -f fetch); port=$port; fetch | grep -qx olmis-test"
check "docker-compose down" bash -c "cd '$cdir' && docker-compose -p $proj down -t 1"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
