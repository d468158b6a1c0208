#!/usr/bin/env bash
# Build the tiny local test image olmis-test/busybox:1 (FROM scratch + Debian's busybox-static, with
# its applet links and a /www/index.html for `httpd`), on the engine named by DOCKER_HOST (default:
# the test stack's dockerd). No registry is needed. Idempotent: the build cache makes reruns instant.
# usage: build-test-image.sh [TAG]
set -euo pipefail
tag=${1:-olmis-test/busybox:1}
: "${OLMIS_STACK_CACHE:=$HOME/.cache/olmisctl-stack}"
: "${OLMIS_STACK_RUN:=$OLMIS_STACK_CACHE/run}"
export DOCKER_HOST=${DOCKER_HOST:-unix://$OLMIS_STACK_RUN/docker/docker.sock}
export DOCKER_BUILDKIT=0   # engine 20.10 + no buildx plugin: the classic builder

busybox=/bin/busybox
[ -x "$busybox" ] || { echo "build-test-image: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/www" "$ctx/rootfs/tmp"
cp "$busybox" "$ctx/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$ctx/rootfs/bin/$applet"
done
echo "olmis-test" > "$ctx/rootfs/www/index.html"
chmod 1777 "$ctx/rootfs/tmp"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
LABEL org.opencontainers.image.title="olmis-test busybox" org.olmis.test="1"
CMD ["/bin/sh"]
DOCKERFILE
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
