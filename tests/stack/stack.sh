#!/usr/bin/env bash
# Real-service test stack for olmisctl: PostgreSQL -> Debezium/Kafka Connect -> Kafka -> ClickHouse
# -> dbt -> Superset, Airflow, Docker; every service runs natively on 127.0.0.1.
#
#   tests/stack/stack.sh install [SVC...]      install (idempotent; fast no-op when installed)
#   tests/stack/stack.sh up [SVC...]           start + wait ready, then write the env file
#   tests/stack/stack.sh down [--wipe] [SVC...]  stop (reverse order); --wipe deletes run data
#   tests/stack/stack.sh status                running/ready state and RSS per service
#   tests/stack/stack.sh env                   print the env file's path
#
# The contract shared with the service files is documented at the top of tests/stack/lib.sh.
set -euo pipefail

# shellcheck source=tests/stack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STACK_ALL_SERVICES=(postgres kafka connect clickhouse dbt superset airflow docker)
STACK_SERVICES=()
for _svc in "${STACK_ALL_SERVICES[@]}"; do
  if [[ -f $OLMIS_STACK_DIR/services/$_svc.sh ]]; then
    # shellcheck disable=SC1090
    source "$OLMIS_STACK_DIR/services/$_svc.sh"
    STACK_SERVICES+=("$_svc")
  fi
done
unset _svc

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  echo "services available: ${STACK_SERVICES[*]}" >&2
  exit 2
}

# select services: the named ones (in stack order) or all available
select_services() {
  SELECTED=()
  if (($# == 0)); then
    SELECTED=("${STACK_SERVICES[@]}")
    return
  fi
  local want s found
  for want in "$@"; do
    found=0
    for s in "${STACK_SERVICES[@]}"; do if [[ $s == "$want" ]]; then found=1; fi; done
    ((found)) || stack_die "unknown or unavailable service '$want' (available: ${STACK_SERVICES[*]})"
  done
  for s in "${STACK_SERVICES[@]}"; do
    for want in "$@"; do if [[ $s == "$want" ]]; then SELECTED+=("$s"); fi; done
  done
}

is_selected() {
  local s
  for s in "${SELECTED[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}

elapsed() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

svc_ready_quiet() { "${1}_ready" >/dev/null 2>&1; }

write_env() {
  local envf="$OLMIS_STACK_RUN/stack.env" tmp svc out
  mkdir -p "$OLMIS_STACK_RUN"
  tmp=$(mktemp "$OLMIS_STACK_RUN/.stack.env.XXXXXX")
  {
    echo "# written by tests/stack/stack.sh up at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "OLMIS_RUNTIME=external"
    echo "OLMIS_STACK_CACHE=$OLMIS_STACK_CACHE"
    echo "OLMIS_STACK_RUN=$OLMIS_STACK_RUN"
    echo "OLMIS_STACK_BIN=$OLMIS_STACK_BIN"
    for svc in "${STACK_SERVICES[@]}"; do
      # services started now, plus those already up from an earlier `up`
      if is_selected "$svc" || svc_ready_quiet "$svc"; then
        echo "# $svc"
        out=$("${svc}_env") || stack_die "$svc: ${svc}_env failed"
        printf '%s\n' "$out"
      fi
    done
  } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$envf"
  stack_log "env file: $envf"
}

cmd_install() {
  select_services "$@"
  local svc t0
  mkdir -p "$OLMIS_STACK_CACHE"
  for svc in "${SELECTED[@]}"; do
    t0=$(date +%s%N)
    stack_log "$svc: install"
    "${svc}_install"
    stack_log "$svc: installed ($(elapsed "$t0")s)"
  done
}

cmd_up() {
  select_services "$@"
  local svc timeout_var t0
  mkdir -p "$OLMIS_STACK_RUN" "$OLMIS_STACK_PIDS" "$OLMIS_STACK_BIN"
  for svc in "${SELECTED[@]}"; do
    t0=$(date +%s%N)
    "${svc}_start"
    timeout_var="${svc}_ready_timeout"
    stack_wait "$svc" "${!timeout_var:-120}"
    stack_log "$svc: up ($(elapsed "$t0")s)"
  done
  write_env
}

# A stopped service's last child can still flush a file while rm walks the tree ("Directory not
# empty"); a few tries a moment apart settle it.
wipe_dir() {
  local try
  for try in 1 2 3 4 5; do
    rm -rf "$1" 2>/dev/null && return 0
    sleep 1
  done
  rm -rf "$1"
}

cmd_down() {
  local wipe=0 args=() svc i
  for a in "$@"; do
    case $a in
      --wipe) wipe=1 ;;
      *) args+=("$a") ;;
    esac
  done
  select_services "${args[@]+"${args[@]}"}"
  for ((i = ${#SELECTED[@]} - 1; i >= 0; i--)); do
    svc=${SELECTED[i]}
    if declare -F "${svc}_stop" >/dev/null; then
      "${svc}_stop"
    else
      stack_stop_svc "$svc"
    fi
  done
  if ((${#args[@]} == 0)); then
    # PID files of services whose file is gone (e.g. removed since `up`)
    local f s
    shopt -s nullglob
    for f in "$OLMIS_STACK_PIDS"/*.pid; do
      s=${f##*/}; s=${s%%.*}
      stack_stop_svc "$s"
    done
    shopt -u nullglob
  fi
  if ((wipe)); then
    [[ -n $OLMIS_STACK_RUN && $OLMIS_STACK_RUN != / && $OLMIS_STACK_RUN != "$HOME" ]] ||
      stack_die "refusing to wipe OLMIS_STACK_RUN='$OLMIS_STACK_RUN'"
    if ((${#args[@]} == 0)); then
      stack_log "wipe: $OLMIS_STACK_RUN"
      wipe_dir "$OLMIS_STACK_RUN"
    else
      for svc in "${SELECTED[@]}"; do
        stack_log "wipe: $OLMIS_STACK_RUN/$svc"
        wipe_dir "${OLMIS_STACK_RUN:?}/$svc"
      done
    fi
  fi
}

fmt_mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k / 1024 }'; }

cmd_status() {
  select_services "$@"
  local svc proc procs alive n total=0 rss ready
  printf '%-11s %-16s %-6s %s\n' SERVICE RUNNING READY RSS
  for svc in "${SELECTED[@]}"; do
    procs=$(_stack_svc_procs "$svc")
    n=0; alive=0
    while IFS= read -r proc; do
      [[ -n $proc ]] || continue
      n=$((n + 1))
      stack_pid_alive "$svc" "$proc" && alive=$((alive + 1))
    done <<<"$procs"
    if svc_ready_quiet "$svc"; then ready=yes; else ready=no; fi
    rss=$(stack_svc_rss_kb "$svc")
    total=$((total + rss))
    printf '%-11s %-16s %-6s %s\n' "$svc" "$( ((n)) && echo "$alive/$n procs" || echo "-")" "$ready" "$(fmt_mb "$rss")"
  done
  printf '%-11s %-16s %-6s %s\n' TOTAL "" "" "$(fmt_mb "$total")"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1
  shift
  case $cmd in
    install) cmd_install "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    env) echo "$OLMIS_STACK_RUN/stack.env" ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
