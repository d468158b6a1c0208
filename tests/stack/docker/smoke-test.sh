#!/usr/bin/env bash
# Proof that the test stack's Docker engine works: build the test image, run a container, publish a
# busybox httpd and fetch from it on 127.0.0.1, check nothing listens beyond loopback, and the same
# through a docker-compose (v1) project with a bare "PORT:80" mapping. Prints one line per check and
# "N passed, N failed" at the end; exit code 1 on any failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${OLMIS_STACK_CACHE:=$HOME/.cache/olmisctl-stack}"
: "${OLMIS_STACK_RUN:=$OLMIS_STACK_CACHE/run}"
export DOCKER_HOST=${DOCKER_HOST:-unix://$OLMIS_STACK_RUN/docker/docker.sock}
port=${OLMIS_STACK_DOCKER_SMOKE_PORT:-28580}
cport=$((port + 1))
pass=0 fail=0
check() {  # check NAME CMD...
  local name=$1 out; shift
  if out=$("$@" 2>&1); then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name: $(echo "$out" | tail -3)"; fi
}
fetch() {  # fetch PORT: the page of the busybox httpd, retried for up to 5 s
  local _
  for _ in $(seq 50); do curl -fsS -m 2 "http://127.0.0.1:$1/" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
page_ok() { [ "$(fetch "$1")" = olmis-test ]; }
loopback_only() {  # loopback_only PORT: listeners on PORT exist and are all on 127.0.0.1 / [::1]
  local l
  l=$(ss -Hltn "sport = :$1" | awk '{print $4}')
  [ -n "$l" ] || { echo "nothing listens on $1"; return 1; }
  if echo "$l" | grep -v -E '^(127\.0\.0\.1|\[::1\]):'; then return 1; fi
}
echo_hi() { [ "$(docker run --rm olmis-test/busybox:1 echo hi)" = hi ]; }

name=olmis-smoke-httpd-$$
proj=olmissmoke$$
cdir=$(mktemp -d)
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1
  (cd "$cdir" && docker-compose -p "$proj" down -t 1 >/dev/null 2>&1)
  rm -rf "$cdir"
}
trap cleanup EXIT

check "build olmis-test/busybox:1" "$here/build-test-image.sh"
check "docker run --rm olmis-test/busybox:1 echo hi" echo_hi
check "docker run -d -p $port:80 httpd" docker run -d --name "$name" -p "$port:80" \
  olmis-test/busybox:1 httpd -f -p 80 -h /www
check "GET http://127.0.0.1:$port/" page_ok "$port"
check "port $port listens on loopback only" loopback_only "$port"
docker rm -f "$name" >/dev/null 2>&1
cat > "$cdir/docker-compose.yml" <<YML
version: "3.7"
services:
  web:
    image: olmis-test/busybox:1
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["$cport:80"]
YML
compose() { (cd "$cdir" && docker-compose -p "$proj" "$@"); }
check "docker-compose up -d" compose up -d
check "GET http://127.0.0.1:$cport/ (compose)" page_ok "$cport"
check "port $cport listens on loopback only (compose)" loopback_only "$cport"
check "docker-compose down" compose down -t 1
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
