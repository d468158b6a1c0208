# shellcheck shell=bash
# tests/stack/lib.sh: shared helpers of the real-service test stack. Sourced by stack.sh;
# service files (tests/stack/services/<svc>.sh) are sourced after it and use these helpers.
#
# ============================== CONTRACT ==============================
# Locations (each overridable by env):
#   OLMIS_STACK_CACHE  default $HOME/.cache/olmisctl-stack. Installs that survive runs: venvs
#                      venv-<svc>, Maven jars, downloaded things.
#   OLMIS_STACK_RUN    default $OLMIS_STACK_CACHE/run. Per-service data and logs in
#                      $OLMIS_STACK_RUN/<svc>/, PID files $OLMIS_STACK_RUN/pids/<svc>.<proc>.pid,
#                      secrets $OLMIS_STACK_RUN/secrets/<name>, env file $OLMIS_STACK_RUN/stack.env.
#   OLMIS_STACK_BIN    $OLMIS_STACK_RUN/bin: helper executables for tests (psql, kcat, kafka-topics,
#                      kafka-consumer-groups, kafka-run-class), made by the services' _start.
#   OLMIS_REPO         the repository root (derived from this file's location).
# Ports (127.0.0.1 only; defaults chosen not to clash with a developer's own services):
#   OLMIS_STACK_PG_PORT=25432  OLMIS_STACK_KAFKA_PORT=29092  OLMIS_STACK_KAFKA_CONTROLLER_PORT=29093
#   OLMIS_STACK_CONNECT_PORT=28083  OLMIS_STACK_CH_HTTP_PORT=28123  OLMIS_STACK_CH_TCP_PORT=29000
#   OLMIS_STACK_SUPERSET_PORT=28088  OLMIS_STACK_AIRFLOW_PORT=28080
#
# Helpers:
#   stack_log MSG...              message to stderr, prefixed "[stack HH:MM:SS]"
#   stack_die MSG...              stack_log then exit 1
#   stack_record_pid SVC PROC PID record PID (+ its start time and cmdline) in pids/SVC.PROC.pid.
#                                 File format: line 1 PID, line 2 start time (field 22 of
#                                 /proc/PID/stat), line 3 cmdline (NULs as spaces).
#   stack_pid_alive SVC PROC      0 if the recorded PID is alive AND is still the recorded process:
#                                 its start time matches and its /proc/PID/cmdline matches the
#                                 recorded one. (A process that retitles itself, e.g. airflow or
#                                 gunicorn via setproctitle, still counts when its start time matches,
#                                 which already excludes PID reuse.)
#   stack_pid SVC PROC            print the recorded PID (whether alive or not); 1 if none
#   stack_start_bg SVC PROC LOGFILE CMD...
#                                 no-op (return 0) if SVC/PROC is alive; otherwise start CMD detached
#                                 (setsid, stdin /dev/null, stdout+stderr appended to LOGFILE) and
#                                 record the PID of CMD itself (after its exec).
#   stack_stop_svc SVC [SIGNAL]   the default <svc>_stop: SIGNAL (default TERM) to each recorded live
#                                 PID of SVC, wait up to 20 s (OLMIS_STACK_STOP_TIMEOUT), then KILL the
#                                 PID (and its own process group, which stack_start_bg created).
#                                 Only recorded PIDs, never by name. Removes the PID files.
#   stack_svc_rss_kb SVC          sum of RSS (KiB) of the process trees of SVC's live recorded PIDs
#   stack_wait SVC TIMEOUT_S      call <svc>_ready every 0.5 s until it succeeds; on timeout (or when
#                                 every recorded process of SVC has died) print the last 40 lines of
#                                 the service's logs ($OLMIS_STACK_RUN/<svc>/**/*.log) and fail
#                                 naming the service.
#   stack_http_ok URL [CURL_ARGS...]    one quick GET (2 s timeout); 0 on HTTP 2xx
#   stack_wait_http URL [TIMEOUT_S=60]  poll stack_http_ok every 0.5 s
#   stack_secret NAME             print a random alphanumeric secret (24 chars), generated once and
#                                 kept in $OLMIS_STACK_RUN/secrets/NAME (mode 600), so restarts keep
#                                 credentials (--wipe forgets them along with the data).
#   stack_link_bin NAME TARGET    symlink $OLMIS_STACK_BIN/NAME -> TARGET
#   stack_apt_install PKG...      apt-get install (root), waiting for the dpkg lock; update on failure
#   stack_mvn_copy PROFILE DEST [MVN_ARGS...]  jars of a tests/stack/maven/pom.xml profile into DEST
#   stack_java_ok                 make sure Java 17+ is there
#
# Service files: tests/stack/services/<svc>.sh, services in this order:
#   postgres kafka connect clickhouse dbt superset airflow docker
# (stack.sh sources only the files that exist). Each defines:
#   <svc>_install   idempotent, registries only, pinned versions, fast no-op when installed
#   <svc>_start     start processes with stack_start_bg; idempotent
#   <svc>_ready     one quick health check, return 0/1
#   <svc>_env       print KEY=VALUE lines for stack.env
#   <svc>_stop      optional; default stack_stop_svc <svc>
#   <svc>_ready_timeout   optional variable: seconds `up` waits for ready (default 120)
# stack.sh: install|up [SVC...]; down [--wipe] [SVC...]; status; env.
#   up: per service start, stack_wait, then stack.env is rewritten atomically with the _env output
#   of every service that is up, plus OLMIS_RUNTIME=external (and the OLMIS_STACK_* locations).
#   down: stops services in reverse order; --wipe then deletes their $OLMIS_STACK_RUN data
#   (everything, including secrets and stack.env, when no SVC is named).
# ======================================================================

OLMIS_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OLMIS_STACK_DIR="$OLMIS_REPO/tests/stack"
: "${OLMIS_STACK_CACHE:=${HOME:-/root}/.cache/olmisctl-stack}"
: "${OLMIS_STACK_RUN:=$OLMIS_STACK_CACHE/run}"
OLMIS_STACK_BIN="$OLMIS_STACK_RUN/bin"
: "${OLMIS_STACK_PG_PORT:=25432}"
: "${OLMIS_STACK_KAFKA_PORT:=29092}"
: "${OLMIS_STACK_KAFKA_CONTROLLER_PORT:=29093}"
: "${OLMIS_STACK_CONNECT_PORT:=28083}"
: "${OLMIS_STACK_CH_HTTP_PORT:=28123}"
: "${OLMIS_STACK_CH_TCP_PORT:=29000}"
: "${OLMIS_STACK_SUPERSET_PORT:=28088}"
: "${OLMIS_STACK_AIRFLOW_PORT:=28080}"
: "${OLMIS_STACK_STOP_TIMEOUT:=20}"
export OLMIS_REPO OLMIS_STACK_DIR OLMIS_STACK_CACHE OLMIS_STACK_RUN OLMIS_STACK_BIN \
  OLMIS_STACK_PG_PORT OLMIS_STACK_KAFKA_PORT OLMIS_STACK_KAFKA_CONTROLLER_PORT \
  OLMIS_STACK_CONNECT_PORT OLMIS_STACK_CH_HTTP_PORT OLMIS_STACK_CH_TCP_PORT \
  OLMIS_STACK_SUPERSET_PORT OLMIS_STACK_AIRFLOW_PORT
OLMIS_STACK_PIDS="$OLMIS_STACK_RUN/pids"

stack_log() { printf '[stack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
stack_die() { stack_log "ERROR: $*"; exit 1; }

_stack_pidfile() { printf '%s/%s.%s.pid' "$OLMIS_STACK_PIDS" "$1" "$2"; }
_stack_starttime() { # field 22 of /proc/PID/stat (comm may contain spaces: cut after ')')
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # after "comm) " the fields start at field 3 (state): field 22 is the 20th here
  awk '{print $20}' <<<"$s"
}
_stack_cmdline() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | sed 's/ $//'; }

stack_record_pid() {
  local svc=$1 proc=$2 pid=$3 st cmd f
  mkdir -p "$OLMIS_STACK_PIDS"
  st=$(_stack_starttime "$pid") || stack_die "stack_record_pid: process $pid ($svc/$proc) is not running"
  cmd=$(_stack_cmdline "$pid")
  f=$(_stack_pidfile "$svc" "$proc")
  printf '%s\n%s\n%s\n' "$pid" "$st" "$cmd" >"$f.tmp" && mv -f "$f.tmp" "$f"
}

stack_pid() {
  local f
  f=$(_stack_pidfile "$1" "$2")
  [[ -s $f ]] || return 1
  head -n1 "$f"
}

stack_pid_alive() {
  local f pid st cmd
  f=$(_stack_pidfile "$1" "$2")
  [[ -s $f ]] || return 1
  { read -r pid; read -r st; IFS= read -r cmd; } <"$f" || true
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # a zombie is not alive
  [[ $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $1}') != Z ]] || return 1
  if [[ -n $st ]]; then
    [[ $(_stack_starttime "$pid") == "$st" ]] || return 1
    return 0
  fi
  [[ $(_stack_cmdline "$pid") == "$cmd" ]]
}

# PROC names recorded for SVC (from the PID files)
_stack_svc_procs() {
  local f
  shopt -s nullglob
  for f in "$OLMIS_STACK_PIDS/$1".*.pid; do
    f=${f##*/}; f=${f#"$1".}; printf '%s\n' "${f%.pid}"
  done
  shopt -u nullglob
}

stack_start_bg() {
  local svc=$1 proc=$2 log=$3 pid="" i cmd
  shift 3
  if stack_pid_alive "$svc" "$proc"; then
    return 0
  fi
  mkdir -p "$(dirname "$log")" "$OLMIS_STACK_PIDS"
  local pf="$OLMIS_STACK_PIDS/.$svc.$proc.launch"
  rm -f "$pf"
  # setsid -f: always a new session/process group, detached from our terminal and shell.
  # shellcheck disable=SC2016 # $$ and "$@" are for the inner bash
  # The bash -c writes its own PID, then execs CMD, so the PID recorded is CMD's.
  setsid -f bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pf" "$@" \
    </dev/null >>"$log" 2>&1
  for ((i = 0; i < 100; i++)); do
    [[ -s $pf ]] && { pid=$(<"$pf"); break; }
    sleep 0.05
  done
  rm -f "$pf"
  [[ -n $pid ]] || stack_die "$svc/$proc: could not start: $*"
  # wait for the exec (cmdline no longer the launcher's)
  for ((i = 0; i < 100; i++)); do
    cmd=$(_stack_cmdline "$pid") || break
    [[ $cmd == "bash -c echo \$\$"* ]] || break
    sleep 0.02
  done
  kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2 || true; stack_die "$svc/$proc exited at once: $*"; }
  stack_record_pid "$svc" "$proc" "$pid"
  stack_log "$svc: started $proc (pid $pid), log $log"
}

stack_stop_svc() {
  local svc=$1 sig=${2:-TERM} proc pid pids=() procs=() i alive
  while IFS= read -r proc; do
    [[ -n $proc ]] || continue
    if stack_pid_alive "$svc" "$proc"; then
      pid=$(stack_pid "$svc" "$proc")
      kill "-$sig" "$pid" 2>/dev/null || true
      pids+=("$pid"); procs+=("$proc")
      stack_log "$svc: sent $sig to $proc (pid $pid)"
    else
      rm -f "$(_stack_pidfile "$svc" "$proc")"
    fi
  done < <(_stack_svc_procs "$svc")
  ((${#procs[@]})) || return 0
  for ((i = 0; i < OLMIS_STACK_STOP_TIMEOUT * 4; i++)); do
    alive=0
    for proc in "${procs[@]}"; do stack_pid_alive "$svc" "$proc" && alive=1; done
    ((alive)) || break
    sleep 0.25
  done
  for proc in "${procs[@]}"; do
    if stack_pid_alive "$svc" "$proc"; then
      pid=$(stack_pid "$svc" "$proc")
      stack_log "$svc: $proc (pid $pid) still running after ${OLMIS_STACK_STOP_TIMEOUT}s: KILL"
      # its own process group (stack_start_bg made it a group leader), then the PID itself
      if [[ $(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') == "$pid" ]]; then
        kill -KILL -- "-$pid" 2>/dev/null || true
      fi
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(_stack_pidfile "$svc" "$proc")"
  done
}

# RSS (KiB) of PID and all its descendants
_stack_tree_rss_kb() {
  ps -e -o pid=,ppid=,rss= | awk -v root="$1" '
    { pp[$1] = $2; rss[$1] = $3 }
    END {
      total = 0
      for (p in rss) {
        q = p; n = 0
        while (q != "" && q != 0 && n < 100) { if (q == root) { total += rss[p]; break } q = pp[q]; n++ }
      }
      print total
    }'
}

stack_svc_rss_kb() {
  local svc=$1 proc total=0
  while IFS= read -r proc; do
    [[ -n $proc ]] || continue
    stack_pid_alive "$svc" "$proc" || continue
    total=$((total + $(_stack_tree_rss_kb "$(stack_pid "$svc" "$proc")")))
  done < <(_stack_svc_procs "$svc")
  echo "$total"
}

_stack_svc_logs_tail() {
  local svc=$1 d="$OLMIS_STACK_RUN/$1" f
  [[ -d $d ]] || return 0
  while IFS= read -r f; do
    echo "----- last 40 lines of $f -----" >&2
    tail -n 40 "$f" >&2 || true
  done < <(find "$d" -maxdepth 3 -type f -name '*.log' -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -n 3 | cut -d' ' -f2-)
}

stack_wait() {
  local svc=$1 timeout=$2 start now procs proc any_alive
  start=$(date +%s)
  while true; do
    if "${svc}_ready" >/dev/null 2>&1; then
      stack_log "$svc: ready after $(($(date +%s) - start))s"
      return 0
    fi
    now=$(date +%s)
    procs=$(_stack_svc_procs "$svc")
    if [[ -n $procs ]]; then
      any_alive=0
      while IFS= read -r proc; do stack_pid_alive "$svc" "$proc" && any_alive=1; done <<<"$procs"
      if ((!any_alive)); then
        _stack_svc_logs_tail "$svc"
        stack_die "$svc: its processes died before it was ready (logs above)"
      fi
    fi
    if ((now - start >= timeout)); then
      _stack_svc_logs_tail "$svc"
      stack_die "$svc: not ready after ${timeout}s (logs above)"
    fi
    sleep 0.5
  done
}

stack_http_ok() {
  local url=$1
  shift
  curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null
}

stack_wait_http() {
  local url=$1 timeout=${2:-60} i
  for ((i = 0; i < timeout * 2; i++)); do
    stack_http_ok "$url" && return 0
    sleep 0.5
  done
  stack_log "no answer from $url after ${timeout}s"
  return 1
}

stack_secret() {
  local name=$1 d="$OLMIS_STACK_RUN/secrets" f s
  [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || stack_die "stack_secret: bad name '$name'"
  f="$d/$name"
  if [[ ! -s $f ]]; then
    (umask 077 && mkdir -p "$d")
    chmod 700 "$d"
    s=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24) || true
    (umask 077 && printf '%s\n' "$s" >"$f.tmp.$$" && mv -f "$f.tmp.$$" "$f")
  fi
  head -n1 "$f"
}

stack_link_bin() {
  mkdir -p "$OLMIS_STACK_BIN"
  ln -sfn "$2" "$OLMIS_STACK_BIN/$1"
}

# Run a command as the unprivileged stack user when we are root (PostgreSQL refuses root).
OLMIS_STACK_USER=olmisstack
stack_as_user() {
  if ((EUID == 0)); then
    setpriv --reuid="$OLMIS_STACK_USER" --regid="$OLMIS_STACK_USER" --init-groups -- "$@"
  else
    "$@"
  fi
}

# stack_apt_install PKG...: install Debian packages (root only); waits for the dpkg lock (another
# install may be running) and runs `apt-get update` once if the first try fails.
stack_apt_install() {
  ((EUID == 0)) || stack_die "need root to apt-get install $*"
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -y)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$@" ||
    { "${apt[@]}" update && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$@"; } ||
    stack_die "apt-get install $* failed"
}

# stack_mvn_copy PROFILE DEST [MVN_ARGS...]: copy the runtime jars of profile PROFILE of
# tests/stack/maven/pom.xml into DEST (replaced atomically). Fast no-op when DEST/.olmis-installed
# already records the same pom and arguments.
stack_mvn_copy() {
  local profile=$1 dest=$2 stamp tmp
  shift 2
  command -v mvn >/dev/null || stack_apt_install maven
  stamp="$profile $* $(sha256sum <"$OLMIS_STACK_DIR/maven/pom.xml" | cut -c1-64)"
  if [[ -f $dest/.olmis-installed && $(<"$dest/.olmis-installed") == "$stamp" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp -d "$dest.tmp.XXXXXX")
  stack_log "maven: profile $profile -> $dest"
  mvn -B -Dstyle.color=never -f "$OLMIS_STACK_DIR/maven/pom.xml" -P "$profile" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime "$@" >"$tmp.log" 2>&1 ||
    { grep -E "ERROR|BUILD" "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; stack_die "maven: could not collect the jars of profile $profile"; }
  rm -f "$tmp.log"
  printf '%s\n' "$stamp" >"$tmp/.olmis-installed"
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

# stack_java_ok: Java 17+ present (Kafka 4 needs it); installs Debian's JRE 17 if not.
stack_java_ok() {
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}') || true
  if [[ -z $v || ${v%%.*} -lt 17 ]]; then
    stack_apt_install openjdk-17-jre-headless
  fi
}
