#!/usr/bin/env bash
# The test command: installs everything the tests need (idempotent, from the package registries),
# brings the real-service stack up, runs every test (unit and integration) plus the lint gates, and
# brings the stack down again. Exits with the tests' result.
#
#   tests/run.sh [--keep-stack] [-- CARGO_TEST_ARGS...]
#
# --keep-stack leaves the stack running afterwards (for iterating: later runs start in seconds).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

keep_stack=0
cargo_args=()
while (($#)); do
  case $1 in
    --keep-stack) keep_stack=1 ;;
    --) shift; cargo_args=("$@"); break ;;
    *) echo "usage: tests/run.sh [--keep-stack] [-- CARGO_TEST_ARGS...]" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust with rustup (https://rustup.rs) and re-run" >&2
  exit 2
fi

step "installing the test stack (first run downloads from the registries; later runs are no-ops)"
tests/stack/stack.sh install

step "starting the test stack"
# CI starts from empty service data, so state left by earlier runs (topics, raw tables, connectors,
# Superset objects) can never make a run pass or fail.
if [[ ${CI:-} == true ]]; then
  tests/stack/stack.sh down --wipe
fi
if ((keep_stack == 0)); then
  trap 'step "stopping the test stack"; tests/stack/stack.sh down || true' EXIT
fi
tests/stack/stack.sh up

step "building"
cargo build --all-targets --locked

step "lint gates: rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

step "running all tests against the stack"
export OLMIS_STACK_ENV
OLMIS_STACK_ENV="$(tests/stack/stack.sh env)"
cargo test --lib --bins --tests --locked --no-fail-fast "${cargo_args[@]}"
