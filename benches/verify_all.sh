#!/usr/bin/env bash
# `verify all` on a healthy platform: its wall time, against the sum of its targets run one by one
# (each `olmisctl verify <target>` as a separate process, as a script without `all` would).
#
# Usage: run it in a project directory where `olmisctl setup` has finished (or with the same
# environment), e.g.
#   OLMISCTL=target/release/olmisctl benches/verify_all.sh 5
# Prints one line per run and the medians.
set -euo pipefail

runs=${1:-5}
bin=${OLMISCTL:-olmisctl}
targets=(services packages cdc ingestion freshness dbt airflow superset)

ms() { echo $(( $(date +%s%N) / 1000000 )); }

alls=()
sums=()
for run in $(seq "$runs"); do
    start=$(ms)
    status=pass
    "$bin" --json verify all >/tmp/olmisctl-verify-all.json 2>/dev/null || status=fail
    all=$(( $(ms) - start ))
    sum=0
    parts=""
    for target in "${targets[@]}"; do
        start=$(ms)
        "$bin" --json verify "$target" >/dev/null 2>&1 || true
        took=$(( $(ms) - start ))
        sum=$(( sum + took ))
        parts+=" $target=${took}ms"
    done
    alls+=("$all")
    sums+=("$sum")
    echo "run $run: verify all ${all} ms ($status); one by one ${sum} ms:${parts}"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
echo "median of $runs runs: verify all $(median "${alls[@]}") ms; targets one by one $(median "${sums[@]}") ms"
