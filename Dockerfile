# olmisctl image: the CLI itself, used by the compose `watchdog` service.
# The olmisctl-build stage is kept byte-identical to the one in airflow/Dockerfile so
# that a second build reuses the layer cache instead of compiling the crate twice.

ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-20260316-slim

FROM ${RUST_IMAGE} AS olmisctl-build
# git2 links OpenSSL (https transport and libssh2) and finds it through pkg-config.
# Exact apt versions stop resolving once Debian publishes a security update, so
# packages come unpinned from the pinned base image's release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
# Compile the dependency graph against a placeholder crate first, so that a change
# under src/ only recompiles olmisctl. A manifest that needs more than src/main.rs
# may fail this warm-up; that only costs the cache, the build below is authoritative.
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && (cargo build --release --locked || true) \
    && rm -rf src
# The whole (.dockerignore-filtered) context, not just src/: the crate embeds files
# from elsewhere in the repository with include_str! (.env.example, for one).
COPY . .
# COPY keeps the sources' own mtimes, which can be older than the placeholder build.
RUN find src -type f -exec touch {} + \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/olmisctl /out/olmisctl

FROM ${RUNTIME_IMAGE}
# git: analytics packages can come from Git URLs; libssl3: dynamically linked by git2.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 olmis \
    && useradd --system --uid 10001 --gid olmis --create-home --home-dir /home/olmis \
        --shell /usr/sbin/nologin olmis \
    && mkdir -p /opt/olmis
COPY --from=olmisctl-build /out/olmisctl /usr/local/bin/olmisctl
# Numeric, so that runtimes enforcing runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
WORKDIR /opt/olmis
ENTRYPOINT ["olmisctl"]
CMD ["--help"]
