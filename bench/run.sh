#!/usr/bin/env bash
# MacTux benchmark harness: measures the null-syscall cost, start-up time,
# peak RSS, the process model (fork, spawn, daemon round trip, `mactux ps`)
# threads (create + join, futex ping-pong, mutexes) and sockets and epoll
# (ping-pong latency, loopback throughput, a ready epoll_wait) of programs run natively, under `mactux run`, under a bare Syscall User
# Dispatch trap, under proot and under qemu-x86_64, all in one run, and prints
# a Markdown report (also written to bench/results/latest.md).
#
# mactux runs against a daemon of the benchmark's own (a private
# MACTUX_STATE_DIR under /tmp), stopped and removed on exit, so other users of
# the default daemon neither disturb the figures nor show up in `mactux ps`.
# Every process the run starts is gone when it exits (trap EXIT).
#
# Environment (all optional):
#   MACTUX_BIN         mactux binary to measure as is (default: <repo>/target/release/mactux,
#                      first brought up to date with `cargo rustc --release -p mactux-cli`,
#                      linked statically on Linux as scripts/test.sh does)
#   MACTUX_RUN         subcommand words put before the program (default: "run")
#   BENCH_NO_BUILD=1   never invoke cargo; use target/release/mactux as it is (n/a if absent)
#   BENCH_N            getppid calls, native / bare trap / mactux (default 1000000)
#   BENCH_N_QEMU       getppid calls under qemu-x86_64 (default 200000)
#   BENCH_N_PROOT      getppid calls under proot (default 20000)
#   BENCH_REPS         repetitions of each getppid measurement (default 5)
#   BENCH_RUNS         timed runs per start-up figure (default 200)
#   BENCH_WARMUP       untimed warm-up runs per start-up figure (default 10)
#   BENCH_RSS_RUNS     runs per peak-RSS figure, median taken (default 5)
#   BENCH_TIMEOUT      seconds allowed for any single measured command (default 120)
#   BENCH_SECTIONS     report sections to measure, any of "a b c d e f" (default all)
#   BENCH_FORK_N       fork+wait iterations per run (default 200)
#   BENCH_SPAWN_N      posix_spawn(/bin/true) iterations per run (default 200)
#   BENCH_LAT_N        individually timed getppid calls per run (default 20000)
#   BENCH_PROC_REPS    runs per process-model figure, median taken (default 3)
#   BENCH_PS_TASKS     live tasks while `mactux ps` is timed (default 500)
#   BENCH_PS_RUNS      timed `mactux ps` runs (default 10)
#   BENCH_THREAD_N     pthread_create + join iterations per run (default 2000)
#   BENCH_FUTEX_N      futex ping-pong round trips per run (default 10000)
#   BENCH_MUTEX_N      uncontended mutex lock/unlock pairs per run (default 10000000)
#   BENCH_CONTENDED_N  lock/unlock pairs per run, all 4 threads together (default 400000)
#   BENCH_THREAD_REPS  runs per thread figure, median taken (default 3)
#   BENCH_NET_PP_N     socket ping-pong round trips per run (default 5000)
#   BENCH_NET_MB       MiB sent over TCP loopback per run (default 256)
#   BENCH_EPOLL_N      epoll_wait calls on a ready fd per run (default 200000)
#   BENCH_NET_REPS     runs per socket and epoll figure, median taken (default 3)
#   BENCH_HTTP_N       HTTP requests per run, timed after 10% more untimed (default 20000)
#   BENCH_HTTP_C       keep-alive connections the load generator keeps busy (default 8)
#   BENCH_SHARED_DAEMON=1  use the user's own daemon (MACTUX_STATE_DIR as set) instead of a private one
#   BENCH_NO_HYPERFINE=1  use the built-in C timer even if hyperfine exists
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
SRC=$BENCH_DIR/src
BUILD=$BENCH_DIR/build
RESULTS=$BENCH_DIR/results

N=${BENCH_N:-1000000}
N_QEMU=${BENCH_N_QEMU:-200000}
N_PROOT=${BENCH_N_PROOT:-20000}
REPS=${BENCH_REPS:-5}
RUNS=${BENCH_RUNS:-200}
WARMUP=${BENCH_WARMUP:-10}
RSS_RUNS=${BENCH_RSS_RUNS:-5}
TMO=${BENCH_TIMEOUT:-120}
read -r -a MACTUX_RUN_WORDS <<<"${MACTUX_RUN:-run}"
SECTIONS=${BENCH_SECTIONS:-a b c d e f}
FORK_N=${BENCH_FORK_N:-200}
SPAWN_N=${BENCH_SPAWN_N:-200}
LAT_N=${BENCH_LAT_N:-20000}
PROC_REPS=${BENCH_PROC_REPS:-3}
PS_TASKS=${BENCH_PS_TASKS:-500}
PS_RUNS=${BENCH_PS_RUNS:-10}
PS_SLEEP=300 # seconds each `mactux ps` sleeper lives at most, should cleanup fail
THREAD_N=${BENCH_THREAD_N:-2000}
FUTEX_N=${BENCH_FUTEX_N:-10000}
MUTEX_N=${BENCH_MUTEX_N:-10000000}
CONTENDED_N=${BENCH_CONTENDED_N:-400000}
THREAD_REPS=${BENCH_THREAD_REPS:-3}
NET_PP_N=${BENCH_NET_PP_N:-5000}
NET_MB=${BENCH_NET_MB:-256}
EPOLL_N=${BENCH_EPOLL_N:-200000}
NET_REPS=${BENCH_NET_REPS:-3}
HTTP_N=${BENCH_HTTP_N:-20000}
HTTP_C=${BENCH_HTTP_C:-8}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3 || true)

mkdir -p "$BUILD" "$RESULTS"
LOG=$BUILD/run.log
: >"$LOG"
rm -f "$BUILD"/hf-*.json
say() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- build ----
CC=${CC:-gcc}
say "building C helpers into $BUILD"
cc() { "$CC" -O2 -Wall "$@" >>"$LOG" 2>&1 || { say "C build failed: $*"; cat "$LOG" >&2; exit 1; }; }
cc -static -o "$BUILD/getppid_loop" "$SRC/getppid_loop.c"
cc -o "$BUILD/getppid_loop_dynamic" "$SRC/getppid_loop.c"
cc -static -o "$BUILD/bare_sud" "$SRC/bare_sud.c"
cc -static -o "$BUILD/true_static" "$SRC/true.c"
cc -o "$BUILD/true_dynamic" "$SRC/true.c"
cc -static -o "$BUILD/maxrss" "$SRC/maxrss.c"
cc -static -o "$BUILD/timerun" "$SRC/timerun.c"
cc -static -o "$BUILD/fork_wait" "$SRC/fork_wait.c"
cc -static -o "$BUILD/spawn_true" "$SRC/spawn_true.c"
cc -static -o "$BUILD/getppid_lat" "$SRC/getppid_lat.c"
cc -static -o "$BUILD/sock_pingpong" "$SRC/sock_pingpong.c"
cc -static -o "$BUILD/tcp_stream" "$SRC/tcp_stream.c"
cc -static -o "$BUILD/epoll_ready" "$SRC/epoll_ready.c"
cc -static -o "$BUILD/http_server" "$SRC/http_server.c"
cc -o "$BUILD/http_load" "$SRC/http_load.c"
for t in thread_create futex_pingpong mutex_uncontended mutex_contended; do
    cc -static -pthread -o "$BUILD/$t" "$SRC/$t.c"
done

NOTES=()
note() { NOTES+=("$*"); }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# mactux binary
MACTUX=""
if [[ -n ${MACTUX_BIN:-} ]]; then
    if [[ -x $MACTUX_BIN ]]; then MACTUX=$MACTUX_BIN; else note "MACTUX_BIN=$MACTUX_BIN is not executable: mactux rows are n/a."; fi
else
    cand=$REPO/target/release/mactux
    built=""
    LINK_STATIC=()
    [[ $(uname -s) != Linux ]] || LINK_STATIC=(-C target-feature=+crt-static)
    if [[ -z ${BENCH_NO_BUILD:-} ]] && command -v cargo >/dev/null; then
        # Always ask cargo (a no-op when up to date) so a stale binary is never
        # measured by accident.
        # Linked statically as scripts/test.sh links it (the start-up figures
        # depend on it); `cargo rustc` passes the flag to the final link alone.
        say "building mactux (cargo rustc --release -p mactux-cli --bin mactux -- ${LINK_STATIC[*]}; log: $BUILD/cargo.log)"
        if (cd "$REPO" && timeout 1200 cargo rustc --release -p mactux-cli --bin mactux -- "${LINK_STATIC[@]}") >"$BUILD/cargo.log" 2>&1; then
            built=1
        elif [[ -x $cand ]]; then
            note "\`cargo rustc --release -p mactux-cli\` failed (see bench/build/cargo.log): mactux figures come from an older binary (see its build time above)."
        else
            note "\`cargo rustc --release -p mactux-cli\` failed (see bench/build/cargo.log): mactux rows are n/a."
        fi
    fi
    if [[ -x $cand ]]; then
        MACTUX=$cand
    elif [[ -n $built || -n ${BENCH_NO_BUILD:-} ]] || ! command -v cargo >/dev/null; then
        note "no mactux binary at target/release/mactux: mactux rows are n/a."
    fi
    unset built
fi

have() { command -v "$1" >/dev/null 2>&1; }
PROOT=""; have proot && PROOT=$(command -v proot) || note "proot not installed (Debian package \`proot\`): proot rows skipped."
QEMU=""; have qemu-x86_64 && QEMU=$(command -v qemu-x86_64) || note "qemu-x86_64 not installed (Debian package \`qemu-user\`): qemu rows skipped."
HYPERFINE=""
if [[ -z ${BENCH_NO_HYPERFINE:-} ]] && have hyperfine && [[ -n $PY ]]; then HYPERFINE=$(command -v hyperfine); fi

# ------------------------------------------- private daemon and cleanup ----
# Host pids of the `mactux ps` sleepers (section d); killed by cleanup if the
# run stops early.
SLEEPERS=()
PRIVATE_STATE=""
DAEMON_PID=""
if [[ -n $MACTUX && -z ${BENCH_SHARED_DAEMON:-} ]]; then
    PRIVATE_STATE=$(mktemp -d /tmp/mactux-bench.XXXXXX)
    export MACTUX_STATE_DIR=$PRIVATE_STATE
fi
# daemon_pid: pid of the daemon mactux talks to, from `mactux daemon status`
daemon_pid() { timeout 10 "$MACTUX" daemon status 2>/dev/null | awk '$1=="pid:"{print $2; exit}' || true; }
# host_pids_of_tasks: host pids of every task the daemon lists (pid 1 has none)
host_pids_of_tasks() {
    timeout 20 "$MACTUX" ps --json 2>/dev/null | sed -n 's/.*"host_pid": *\([0-9][0-9]*\).*/\1/p' | awk '$1>0' || true
}
# proc_alive <pid>: the process exists and is not a zombie (no fork)
proc_alive() {
    local line
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    line=${line##*) }
    [[ ${line%% *} != Z ]]
}
# kill_pids <pid...>: SIGTERM, up to 10 s for them to end (an unreaped child
# counts as ended), then SIGKILL; reaps those that are children of this shell.
kill_pids() {
    [[ $# -gt 0 ]] || return 0
    kill -TERM "$@" 2>/dev/null || true
    local deadline=$((SECONDS + 10)) left p
    while :; do
        left=()
        for p in "$@"; do
            if proc_alive "$p"; then left+=("$p"); fi
        done
        [[ ${#left[@]} -gt 0 && $SECONDS -lt $deadline ]] || break
        sleep 0.2
    done
    [[ ${#left[@]} -eq 0 ]] || kill -KILL "${left[@]}" 2>/dev/null || true
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [[ ${#SLEEPERS[@]} -gt 0 ]]; then
        say "cleanup: stopping ${#SLEEPERS[@]} sleeping tasks"
        kill_pids "${SLEEPERS[@]}"
        SLEEPERS=()
    fi
    if [[ -n $PRIVATE_STATE ]]; then
        # Every task of the private namespace was started by this run.
        local stray=()
        mapfile -t stray < <(host_pids_of_tasks)
        [[ ${#stray[@]} -eq 0 ]] || { say "cleanup: killing ${#stray[@]} leftover task(s): ${stray[*]}"; kill_pids "${stray[@]}"; }
        [[ -n $DAEMON_PID ]] || DAEMON_PID=$(daemon_pid)
        timeout 15 "$MACTUX" daemon stop >>"$LOG" 2>&1
        if [[ -n $DAEMON_PID ]] && kill -0 "$DAEMON_PID" 2>/dev/null &&
            { tr '\0' '\n' <"/proc/$DAEMON_PID/environ"; } 2>/dev/null | grep -qxF "MACTUX_STATE_DIR=$PRIVATE_STATE"; then
            kill_pids "$DAEMON_PID"
        fi
        rm -rf "$PRIVATE_STATE"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# runner prefixes: each is the words put before the program
runner_words() {
    case $1 in
        native) ;;
        mactux) printf '%s\n' "$MACTUX" "${MACTUX_RUN_WORDS[@]}" ;;
        proot) printf '%s\n' "$PROOT" ;;
        qemu) printf '%s\n' "$QEMU" ;;
    esac
}
# A `mactux run` start-up/RSS figure only counts if mactux demonstrably ran a
# guest of the same kind (an exit status of 0 alone proves nothing): before
# timing, a probe of that kind must print its expected output under mactux.
declare -A MACTUX_OK
mactux_probe() { # <prog> <expected regex> <probe cmd...>
    local prog=$1 re=$2 out; shift 2
    MACTUX_OK[$prog]=""
    [[ -n $MACTUX ]] || return 0
    if out=$(timeout "$TMO" "$MACTUX" "${MACTUX_RUN_WORDS[@]}" "$@" 2>>"$LOG") && grep -qE "$re" <<<"$out"; then
        MACTUX_OK[$prog]=1
    else
        local shown="$*"
        note "\`mactux run ${shown//$BUILD/bench/build}\` did not print what it prints natively: mactux rows for $(basename "$prog") are n/a."
    fi
}
runner_available() { # <runner> [prog]
    case $1 in
        native) return 0 ;;
        mactux) [[ -n $MACTUX && ( -z ${2:-} || -n ${MACTUX_OK[${2:-}]:-} ) ]] ;;
        proot) [[ -n $PROOT ]] ;;
        qemu) [[ -n $QEMU ]] ;;
    esac
}
runner_label() {
    case $1 in
        native) echo "native" ;;
        mactux) echo "\`mactux run\`" ;;
        proot) echo "proot" ;;
        qemu) echo "qemu-x86_64" ;;
    esac
}

# median of numbers on stdin (empty if none)
median() { sort -g | awk '{a[NR]=$1} END{if(NR==0)exit; if(NR%2)printf "%.2f\n",a[(NR+1)/2]; else printf "%.2f\n",(a[NR/2]+a[NR/2+1])/2}'; }
# a / b with 2 decimals, or n/a
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN{if(a==""||b==""||a=="n/a"||b=="n/a"||b+0==0){print "n/a"}else{printf "%.2f\n",a/b}}'; }
# a - b with given decimals, or n/a
diff_() { awk -v a="${1:-}" -v b="${2:-}" -v d="${3:-2}" 'BEGIN{if(a==""||b==""||a=="n/a"||b=="n/a"){print "n/a"}else{printf "%+.*f\n",d,a-b}}'; }
# "yes"/"NO" for value <= limit, "n/a" otherwise
meets() { awk -v a="${1:-}" -v l="$2" 'BEGIN{if(a==""||a=="n/a"){print "n/a"}else if(a+0<=l+0){print "yes"}else{print "**NO**"}}'; }
# "yes"/"NO" for value < limit, "n/a" otherwise
under() { awk -v a="${1:-}" -v l="$2" 'BEGIN{if(a==""||a=="n/a"){print "n/a"}else if(a+0<l+0){print "yes"}else{print "**NO**"}}'; }

# --------------------------------------------------- (a) null syscall ------
# ns_per_call <reps> <cmd...>: median ns/call over reps runs, or "n/a"
ns_per_call() {
    local reps=$1; shift
    local vals=() out i
    for ((i = 0; i < reps; i++)); do
        if ! out=$(timeout "$TMO" "$@" 2>>"$LOG"); then
            echo "n/a"; return 0
        fi
        vals+=("$(sed -n 's/.*ns_per_call=\([0-9.]*\).*/\1/p' <<<"$out" | tail -n1)")
    done
    local m
    m=$(printf '%s\n' "${vals[@]}" | grep -E '^[0-9.]+$' | median || true)
    echo "${m:-n/a}"
}

if want a; then
# getppid: under mactux it is answered in-process (the daemon's answer is
# kept while the host parent stays the same), so it shows the trap cost;
# section (d) measures a call that needs the daemon.
say "(a) null syscall: getppid loop"
NS_NATIVE=$(ns_per_call "$REPS" "$BUILD/getppid_loop" "$N" getppid)
NS_ALLOW=$(ns_per_call "$REPS" "$BUILD/bare_sud" "$N" allow)
NS_BARE=$(ns_per_call "$REPS" "$BUILD/bare_sud" "$N")
[[ $NS_BARE != n/a ]] || note "bare SUD trap failed (kernel without Syscall User Dispatch, or the trap count did not match N; see bench/build/run.log)."
NS_MACTUX=n/a
if [[ -n $MACTUX ]]; then
    NS_MACTUX=$(ns_per_call "$REPS" "$MACTUX" "${MACTUX_RUN_WORDS[@]}" "$BUILD/getppid_loop" "$N" getppid)
    [[ $NS_MACTUX != n/a ]] || note "\`mactux run getppid_loop\` failed or printed no figure (see bench/build/run.log)."
fi
NS_PROOT=n/a; [[ -z $PROOT ]] || NS_PROOT=$(ns_per_call 3 "$PROOT" "$BUILD/getppid_loop" "$N_PROOT" getppid)
NS_QEMU=n/a; [[ -z $QEMU ]] || NS_QEMU=$(ns_per_call 3 "$QEMU" "$BUILD/getppid_loop" "$N_QEMU" getppid)
# clock_gettime through libc: the vDSO where there is one, so no trap.
say "(a) clock_gettime through libc"
CLK_NATIVE=$(ns_per_call "$REPS" "$BUILD/getppid_loop" "$N" libc_clock_gettime)
CLK_MACTUX=n/a
[[ -z $MACTUX ]] || CLK_MACTUX=$(ns_per_call "$REPS" "$MACTUX" "${MACTUX_RUN_WORDS[@]}" "$BUILD/getppid_loop" "$N" libc_clock_gettime)
CLK_PROOT=n/a; [[ -z $PROOT ]] || CLK_PROOT=$(ns_per_call 3 "$PROOT" "$BUILD/getppid_loop" "$N_PROOT" libc_clock_gettime)
CLK_QEMU=n/a; [[ -z $QEMU ]] || CLK_QEMU=$(ns_per_call 3 "$QEMU" "$BUILD/getppid_loop" "$N_QEMU" libc_clock_gettime)
fi

# ------------------------------------------------------- (b) start-up ------
# startup_ms <runner> <prog>: median wall time in ms, or "n/a"
startup_ms() {
    local runner=$1 prog=$2
    runner_available "$runner" "$prog" || { echo "n/a"; return 0; }
    local words=()
    mapfile -t words < <(runner_words "$runner")
    local cmd=("${words[@]}" "$prog")
    if [[ -n $HYPERFINE ]]; then
        local json=$BUILD/hf-$runner-$(basename "$prog").json qcmd
        printf -v qcmd '%q ' "${cmd[@]}"
        if timeout "$TMO" "$HYPERFINE" -N --style none --warmup "$WARMUP" --runs "$RUNS" \
            --export-json "$json" "$qcmd" >>"$LOG" 2>&1; then
            "$PY" -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1e3))' "$json"
        else
            echo "n/a"
        fi
    else
        local out
        if out=$(timeout "$TMO" "$BUILD/timerun" "$RUNS" "$WARMUP" "${cmd[@]}" 2>>"$LOG"); then
            sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$out"
        else
            echo "n/a"
        fi
    fi
}

# ------------------------------------------------------- (c) peak RSS ------
# rss_kib <runner> <prog>: median ru_maxrss in KiB, or "n/a"
rss_kib() {
    local runner=$1 prog=$2
    runner_available "$runner" "$prog" || { echo "n/a"; return 0; }
    local words=() vals=() out i
    mapfile -t words < <(runner_words "$runner")
    for ((i = 0; i < RSS_RUNS; i++)); do
        if ! out=$(timeout "$TMO" "$BUILD/maxrss" "${words[@]}" "$prog" 2>>"$LOG"); then
            echo "n/a"; return 0
        fi
        vals+=("$(sed -n 's/.*maxrss_kib=\([0-9]*\).*/\1/p' <<<"$out")")
    done
    printf '%s\n' "${vals[@]}" | median | awk '{printf "%d\n",$1}'
}

PROGS=("$BUILD/true_static" "$BUILD/true_dynamic" /bin/true)
prog_label() {
    case $1 in
        */true_static) echo "true.c, static" ;;
        */true_dynamic) echo "true.c, dynamic" ;;
        *) echo "$1 (dynamic)" ;;
    esac
}
RUNNERS=(native mactux proot qemu)

mactux_probe "$BUILD/true_static" 'ns_per_call=' "$BUILD/getppid_loop" 1
mactux_probe "$BUILD/true_dynamic" 'ns_per_call=' "$BUILD/getppid_loop_dynamic" 1
mactux_probe /bin/true '^mactux-probe$' /bin/echo mactux-probe

declare -A ST RSS
if want b; then
say "(b) start-up ($( [[ -n $HYPERFINE ]] && echo "hyperfine" || echo "built-in timer"), $RUNS runs, $WARMUP warm-up)"
for p in "${PROGS[@]}"; do
    for r in "${RUNNERS[@]}"; do
        ST[$r,$p]=$(startup_ms "$r" "$p")
    done
done
fi
if want c; then
say "(c) peak RSS"
for p in "${PROGS[@]}"; do
    for r in "${RUNNERS[@]}"; do
        RSS[$r,$p]=$(rss_kib "$r" "$p")
    done
done
fi
for p in "${PROGS[@]}"; do
    [[ -n ${MACTUX_OK[$p]:-} ]] || continue
    if { want b && [[ ${ST[mactux,$p]} == n/a ]]; } || { want c && [[ ${RSS[mactux,$p]} == n/a ]]; }; then
        note "\`mactux run $(basename "$p")\` failed (see bench/build/run.log)."
    fi
done

# -------------------------------------------------- (d) process model ------
declare -A PM PM_WHY
# proc_measure <key> <reps> <fields> <cmd...>: runs cmd reps times and sets
# PM[key,field] to the median of each "field=<number>" it printed; all n/a if
# any run fails (the programs check their own results and exit non-zero), and
# PM_WHY[key] says why: the status and the last line the program printed on
# stderr, or the timeout.
proc_measure() {
    local key=$1 reps=$2 fields=$3; shift 3
    local outs=() out i f v rc err=$BUILD/last-stderr
    for ((i = 0; i < reps; i++)); do
        printf '== %s\n' "${*//$BUILD/bench/build}" >>"$LOG"
        if out=$(timeout "$TMO" "$@" 2>"$err"); then
            cat "$err" >>"$LOG"
            outs+=("$out")
        else
            rc=$?
            cat "$err" >>"$LOG"
            printf '== failed with status %s\n' "$rc" >>"$LOG"
            if ((rc == 124)); then
                PM_WHY[$key]="killed after $TMO s (BENCH_TIMEOUT)"
            else
                PM_WHY[$key]="exit $rc: $(grep -v '^[[:space:]]*$' "$err" | tail -n1 | cut -c1-160 | tr '|`' '/'"'")"
            fi
            for f in $fields; do PM[$key,$f]=n/a; done
            return 0
        fi
    done
    for f in $fields; do
        v=$(printf '%s\n' "${outs[@]}" | sed -n "s/.* $f=\([0-9.]*\).*/\1/p" | median || true)
        PM[$key,$f]=${v:-n/a}
    done
}
# pm <key> <field>: PM value or n/a
pm() { echo "${PM[$1,$2]:-n/a}"; }
# ps_count: tasks other than pid 1 in `mactux ps --json`; empty if it fails
ps_count() {
    local j
    j=$(timeout 30 "$MACTUX" ps --json 2>>"$LOG") || return 0
    if [[ -n $PY ]]; then
        "$PY" -c 'import json,sys; print(sum(1 for t in json.load(sys.stdin) if t.get("pid") != 1))' <<<"$j" 2>>"$LOG" || true
    else
        grep -c '"ppid":' <<<"$j" | awk '{print $1 - 1}'
    fi
}
# time_ms <tag> <runs> <warmup> <cmd...>: "median min max" wall ms, or "n/a n/a n/a"
time_ms() {
    local tag=$1 runs=$2 warm=$3; shift 3
    if [[ -n $HYPERFINE ]]; then
        local json=$BUILD/hf-$tag.json qcmd
        printf -v qcmd '%q ' "$@"
        if timeout "$TMO" "$HYPERFINE" -N --style none --warmup "$warm" --runs "$runs" \
            --export-json "$json" "$qcmd" >>"$LOG" 2>&1; then
            "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f %.2f %.2f" % (r["median"]*1e3, r["min"]*1e3, r["max"]*1e3))' "$json"
            return 0
        fi
    else
        local out
        if out=$(timeout "$TMO" "$BUILD/timerun" "$runs" "$warm" "$@" 2>>"$LOG"); then
            sed -n 's/.*median_ms=\([0-9.]*\).*min_ms=\([0-9.]*\) max_ms=\([0-9.]*\).*/\1 \2 \3/p' <<<"$out"
            return 0
        fi
    fi
    echo "n/a n/a n/a"
}
now_s() { if [[ -n ${EPOCHREALTIME:-} ]]; then echo "${EPOCHREALTIME/,/.}"; else date +%s; fi; }
secs_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN{printf "%.1f\n", b-a}'; }

PS_EMPTY=(n/a n/a n/a); PS_FULL=(n/a n/a n/a)
PS_BASE=n/a; PS_LISTED=n/a; PS_UP_S=n/a; PS_RSS_KIB=n/a; PS_DAEMON_KIB=n/a; PS_AFTER=n/a; PS_CLEAN_S=n/a
if want d; then
    say "(d) process model: fork+wait (N=$FORK_N), posix_spawn /bin/true (N=$SPAWN_N), getppid latency (N=$LAT_N)"
    proc_measure "pingpong" "$PROC_REPS" "mean_us p50_us p90_us p99_us p999_us" "$BUILD/sock_pingpong" "$LAT_N"
    # The daemon's own share: the same request from a plain client, no trap.
    [[ -z $MACTUX ]] || proc_measure "dping" "$PROC_REPS" "mean_us p50_us p90_us p99_us p999_us" "$MACTUX" daemon ping -n "$LAT_N"
    for r in native mactux proot qemu; do
        runner_available "$r" || continue
        words=()
        mapfile -t words < <(runner_words "$r")
        proc_measure "fork,$r" "$PROC_REPS" "mean_us p50_us p99_us" "${words[@]}" "$BUILD/fork_wait" "$FORK_N"
        [[ $(pm "fork,$r" p50_us) != n/a ]] || note "$(runner_label "$r") fork_wait failed (see bench/build/run.log): its fork+wait row is n/a."
        # qemu-user hands execve to the host kernel (no binfmt_misc here), so
        # a spawned /bin/true would run natively: no qemu spawn row.
        [[ $r != qemu ]] || continue
        proc_measure "spawn,$r" "$PROC_REPS" "mean_ms p50_ms p99_ms" "${words[@]}" "$BUILD/spawn_true" "$SPAWN_N" /bin/true
        [[ $(pm "spawn,$r" p50_ms) != n/a ]] || note "$(runner_label "$r") spawn_true failed (see bench/build/run.log): its spawn row is n/a."
        for c in getpgrp getppid getpid; do
            [[ $r != proot || $c == getpgrp ]] || continue
            proc_measure "lat,$r,$c" "$PROC_REPS" "mean_us p50_us p90_us p99_us p999_us timer_p50_us" \
                "${words[@]}" "$BUILD/getppid_lat" "$LAT_N" "$c"
            [[ $(pm "lat,$r,$c" p99_us) != n/a ]] || note "$(runner_label "$r") getppid_lat $c failed (see bench/build/run.log): its latency row is n/a."
        done
    done

    if [[ -n $MACTUX ]]; then
        say "(d) \`mactux ps\` with $PS_TASKS live tasks"
        PS_BASE=$(ps_count)
        if [[ -z $PS_BASE ]]; then
            PS_BASE=n/a
            note "\`mactux ps --json\` failed (see bench/build/run.log): the \`mactux ps\` figures are n/a."
        else
            read -r -a PS_EMPTY <<<"$(time_ms ps-empty "$PS_RUNS" 2 "$MACTUX" ps)"
            t0=$(now_s)
            for ((i = 0; i < PS_TASKS; i++)); do
                "$MACTUX" "${MACTUX_RUN_WORDS[@]}" /bin/sleep "$PS_SLEEP" </dev/null >/dev/null 2>>"$LOG" &
                SLEEPERS+=("$!")
            done
            # Poll until the daemon lists them all: at most 120 s, and not
            # once a sleeper has died (then they never all show up).
            deadline=$((SECONDS + 120))
            while :; do
                n=$(ps_count); n=${n:-0}
                ((n - PS_BASE < PS_TASKS && SECONDS < deadline)) || break
                alive=0
                for p in "${SLEEPERS[@]}"; do
                    if proc_alive "$p"; then alive=$((alive + 1)); fi
                done
                ((alive == PS_TASKS)) || { note "$((PS_TASKS - alive)) of the $PS_TASKS \`mactux run /bin/sleep\` processes exited early (see bench/build/run.log)."; break; }
                sleep 0.5
            done
            PS_UP_S=$(secs_since "$t0")
            PS_LISTED=$((n - PS_BASE))
            if ((PS_LISTED >= PS_TASKS)); then
                read -r -a PS_FULL <<<"$(time_ms ps-full "$PS_RUNS" 2 "$MACTUX" ps)"
                [[ ${PS_FULL[0]} != n/a ]] || note "\`mactux ps\` failed with $PS_TASKS tasks (see bench/build/run.log)."
                PS_RSS_KIB=$(ps -o rss= -p "$(IFS=,; echo "${SLEEPERS[*]}")" 2>/dev/null | awk '{s+=$1} END{print s+0}')
                DAEMON_PID=$(daemon_pid)
                [[ -z $DAEMON_PID ]] || PS_DAEMON_KIB=$(ps -o rss= -p "$DAEMON_PID" 2>/dev/null | awk '{print $1+0}')
            else
                note "only $PS_LISTED of $PS_TASKS sleeping tasks appeared in \`mactux ps\` within ${PS_UP_S} s: \`mactux ps\` with $PS_TASKS tasks is n/a."
            fi
            kill_pids "${SLEEPERS[@]}"
            SLEEPERS=()
            t0=$(now_s)
            deadline=$((SECONDS + 30))
            while :; do
                PS_AFTER=$(ps_count)
                [[ ${PS_AFTER:-x} != "$PS_BASE" && $SECONDS -lt $deadline ]] || break
                sleep 0.2
            done
            PS_CLEAN_S=$(secs_since "$t0")
            PS_AFTER=${PS_AFTER:-n/a}
            [[ $PS_AFTER == "$PS_BASE" ]] || note "after the sleepers were killed, \`mactux ps\` still listed $PS_AFTER tasks 30 s later (before: $PS_BASE): tasks leaked in the daemon."
        fi
    fi
fi

# --------------------------------------------------------------- (e) threads ---
# Each figure under every runner; a runner whose program fails (mactux until
# it runs threads) gets n/a cells and a note with the program's own reason,
# and the run carries on.
THREAD_FIGS=(
    "tcreate|thread_create|$THREAD_N|mean_us p50_us p99_us"
    "futex|futex_pingpong|$FUTEX_N|ns_per_rt rt_per_s sleeps_per_rt"
    "mutex|mutex_uncontended|$MUTEX_N|ns_per_op"
    "contended|mutex_contended|$CONTENDED_N|ns_per_op sleeps_per_kop"
)
if want e; then
    say "(e) threads: create+join (N=$THREAD_N), futex ping-pong (N=$FUTEX_N), uncontended mutex (N=$MUTEX_N), 4-thread contended mutex (N=$CONTENDED_N)"
    for r in native mactux proot qemu; do
        runner_available "$r" || continue
        words=()
        mapfile -t words < <(runner_words "$r")
        for fig in "${THREAD_FIGS[@]}"; do
            IFS='|' read -r key prog n fields <<<"$fig"
            proc_measure "$key,$r" "$THREAD_REPS" "$fields" "${words[@]}" "$BUILD/$prog" "$n"
            if [[ -n ${PM_WHY[$key,$r]:-} ]]; then
                note "$(runner_label "$r") $prog failed (${PM_WHY[$key,$r]}; see bench/build/run.log): its (e) figures are n/a."
            fi
        done
    done
fi

# ------------------------------------------------------- (f) sockets, epoll ---
# The fields of each figure, as (e): "<key>|<program>|<arguments>|<fields>".
NET_FIGS=(
    "unixpp|sock_pingpong|$NET_PP_N|p50_us p99_us mean_us"
    "tcppp|sock_pingpong|$NET_PP_N tcp|p50_us p99_us mean_us"
    "stream|tcp_stream|$NET_MB|mb_per_s"
    "epready|epoll_ready|$EPOLL_N|ns_per_call"
)
if want f; then
    say "(f) sockets and epoll: Unix and TCP ping-pong (N=$NET_PP_N), TCP loopback throughput ($NET_MB MiB), epoll_wait on a ready fd (N=$EPOLL_N), HTTP requests per second (N=$HTTP_N, $HTTP_C connections)"
    for r in native mactux proot qemu; do
        runner_available "$r" || continue
        words=()
        mapfile -t words < <(runner_words "$r")
        for fig in "${NET_FIGS[@]}"; do
            IFS='|' read -r key prog nargs fields <<<"$fig"
            read -r -a nwords <<<"$nargs"
            proc_measure "$key,$r" "$NET_REPS" "$fields" "${words[@]}" "$BUILD/$prog" "${nwords[@]}"
            if [[ -n ${PM_WHY[$key,$r]:-} ]]; then
                note "$(runner_label "$r") $prog $nargs failed (${PM_WHY[$key,$r]}; see bench/build/run.log): its (f) figure is n/a."
            fi
        done
        # The HTTP server runs under the launcher; its load generator always
        # runs natively and starts it.
        proc_measure "http,$r" "$NET_REPS" "req_per_s us_per_req" "$BUILD/http_load" "$HTTP_N" "$HTTP_C" "${words[@]}" "$BUILD/http_server"
        if [[ -n ${PM_WHY[http,$r]:-} ]]; then
            note "$(runner_label "$r") http_server failed (${PM_WHY[http,$r]}; see bench/build/run.log): its (f) figure is n/a."
        fi
    done
fi

# --------------------------------------------------------------- report ----
cpu_model() { awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null || true; }
tool_version() { "$@" 2>/dev/null | head -n1 || true; }
mactux_desc() {
    [[ -n $MACTUX ]] || { echo "n/a"; return; }
    local when commit
    when=$(date -u -r "$MACTUX" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo "?")
    commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "no commit yet")
    echo "\`$MACTUX\` (built $when; tree at $commit)"
}
PROOT_VER="not installed"
if [[ -n $PROOT ]]; then
    PROOT_VER=$("$PROOT" --version 2>/dev/null | grep -m1 -oE '[0-9]+\.[0-9]+\.[0-9]+' || true)
    acc=$("$PROOT" --version 2>/dev/null | grep -m1 'accelerators' | sed 's/^ *//' || true)
    PROOT_VER="${PROOT_VER:-present}${acc:+ ($acc)}"
fi
QEMU_VER="not installed"
if [[ -n $QEMU ]]; then QEMU_VER=$(tool_version "$QEMU" --version); fi
REPORT=$BUILD/report.md
{
    echo "# MacTux benchmark report"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- CPU: $(cpu_model) ($(nproc) online CPUs)"
    echo "- Kernel: $(uname -srm)"
    echo "- Load average at start / at the end: $LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?") (other work on the machine inflates every figure)"
    echo "- mactux: $(mactux_desc)"
    echo "- proot: $PROOT_VER"
    echo "- qemu: $QEMU_VER"
    echo "- Timer: $( [[ -n $HYPERFINE ]] && tool_version "$HYPERFINE" --version || echo "bench/src/timerun.c (hyperfine not used)")"
    echo
    if want a; then
    echo "## (a) Null syscall: \`syscall(SYS_getppid)\` in a loop"
    echo
    echo "ns per call, timed inside the program around the loop (start-up excluded); median of $REPS runs (3 for proot and qemu)."
    echo
    echo "| Runner | N | ns/call | × native | × bare trap |"
    echo "|---|---:|---:|---:|---:|"
    row() { echo "| $1 | $2 | $3 | $(ratio "$3" "$NS_NATIVE") | $(ratio "$3" "$NS_BARE") |"; }
    row "native" "$N" "$NS_NATIVE"
    row "native, SUD armed, selector ALLOW" "$N" "$NS_ALLOW"
    row "bare SUD trap (bench/src/bare_sud.c)" "$N" "$NS_BARE"
    row "\`mactux run\`" "$N" "$NS_MACTUX"
    if [[ -n $PROOT ]]; then row "proot" "$N_PROOT" "$NS_PROOT"; fi
    if [[ -n $QEMU ]]; then row "qemu-x86_64" "$N_QEMU" "$NS_QEMU"; fi
    echo
    R_BARE=$(ratio "$NS_MACTUX" "$NS_BARE")
    echo "- mactux / bare trap: **$R_BARE** (target ≤ 1.30: $(meets "$R_BARE" 1.30))"
    echo "- mactux / native: **$(ratio "$NS_MACTUX" "$NS_NATIVE")**"
    echo
    echo "### \`clock_gettime(CLOCK_MONOTONIC)\` through libc in a loop"
    echo
    echo "glibc calls the vDSO's \`__vdso_clock_gettime\`; under mactux that is our vDSO, which jumps to the host's (no trap). Timed as above."
    echo
    echo "| Runner | N | ns/call | × native |"
    echo "|---|---:|---:|---:|"
    echo "| native | $N | $CLK_NATIVE | 1.00 |"
    echo "| \`mactux run\` | $N | $CLK_MACTUX | $(ratio "$CLK_MACTUX" "$CLK_NATIVE") |"
    if [[ -n $PROOT ]]; then echo "| proot | $N_PROOT | $CLK_PROOT | $(ratio "$CLK_PROOT" "$CLK_NATIVE") |"; fi
    if [[ -n $QEMU ]]; then echo "| qemu-x86_64 | $N_QEMU | $CLK_QEMU | $(ratio "$CLK_QEMU" "$CLK_NATIVE") |"; fi
    echo
    fi
    if want b; then
    echo "## (b) Start-up: wall time of a program that only returns 0"
    echo
    echo "Median ms over $RUNS runs after $WARMUP warm-up runs."
    echo
    echo "| Program | native | \`mactux run\` | mactux − native | ≤ +5 ms | proot | qemu-x86_64 |"
    echo "|---|---:|---:|---:|:-:|---:|---:|"
    for p in "${PROGS[@]}"; do
        d=$(diff_ "${ST[mactux,$p]}" "${ST[native,$p]}" 3)
        echo "| $(prog_label "$p") | ${ST[native,$p]} | ${ST[mactux,$p]} | $d | $(meets "$d" 5) | ${ST[proot,$p]} | ${ST[qemu,$p]} |"
    done
    echo
    fi
    if want c; then
    echo "## (c) Peak RSS (ru_maxrss, KiB)"
    echo
    echo "Median of $RSS_RUNS runs of \`bench/src/maxrss.c\` (wait4 ru_maxrss)."
    echo
    echo "| Program | native | \`mactux run\` | mactux − native | ≤ +10 MiB | proot | qemu-x86_64 |"
    echo "|---|---:|---:|---:|:-:|---:|---:|"
    for p in "${PROGS[@]}"; do
        d=$(diff_ "${RSS[mactux,$p]}" "${RSS[native,$p]}" 0)
        echo "| $(prog_label "$p") | ${RSS[native,$p]} | ${RSS[mactux,$p]} | $d | $(meets "$d" 10240) | ${RSS[proot,$p]} | ${RSS[qemu,$p]} |"
    done
    echo
    fi
    if want d; then
    echo "## (d) Process model"
    echo
    echo "The programs time every iteration themselves with \`CLOCK_MONOTONIC\` (start-up excluded); each figure is the median over $PROC_REPS runs."
    echo
    echo "### fork + waitpid (\`bench/src/fork_wait.c\`, N = $FORK_N)"
    echo
    echo "Child calls \`_exit(0)\` at once; µs per fork + waitpid."
    echo
    echo "| Runner | mean µs | p50 µs | p99 µs | × native (p50) |"
    echo "|---|---:|---:|---:|---:|"
    for r in native mactux proot qemu; do
        runner_available "$r" || continue
        echo "| $(runner_label "$r") | $(pm "fork,$r" mean_us) | $(pm "fork,$r" p50_us) | $(pm "fork,$r" p99_us) | $(ratio "$(pm "fork,$r" p50_us)" "$(pm fork,native p50_us)") |"
    done
    echo
    echo "### posix_spawn(\`/bin/true\`) + waitpid (\`bench/src/spawn_true.c\`, N = $SPAWN_N)"
    echo
    echo "glibc's posix_spawn: clone(CLONE_VM | CLONE_VFORK), then execve of a dynamic program; ms per spawn + run + wait. No qemu row: qemu-user hands execve to the host kernel, so the child would run natively."
    echo
    echo "| Runner | mean ms | p50 ms | p99 ms | × native (p50) |"
    echo "|---|---:|---:|---:|---:|"
    for r in native mactux proot; do
        runner_available "$r" || continue
        echo "| $(runner_label "$r") | $(pm "spawn,$r" mean_ms) | $(pm "spawn,$r" p50_ms) | $(pm "spawn,$r" p99_ms) | $(ratio "$(pm "spawn,$r" p50_ms)" "$(pm spawn,native p50_ms)") |"
    done
    echo
    echo "### Daemon round trip: \`syscall(SYS_getpgrp)\` timed call by call (\`bench/src/getppid_lat.c\`, N = $LAT_N)"
    echo
    echo "Under mactux getpgrp asks the daemon (a process group can change under the task); getppid is answered from a cache checked against the host parent, and getpid from the runtime's own cache, so those two show the trap and timer cost without the round trip. Each figure includes one \`clock_gettime\` pair (last column: the median of such a pair alone; under mactux our vDSO answers it without a trap). The native ping-pong row is a 16-byte echo over a socketpair between two native processes, timed the same way; the last row is the same daemon request sent by \`mactux daemon ping\` outside any guest."
    echo
    echo "| Runner | call | p50 µs | p90 µs | p99 µs | p99.9 µs | mean µs | timer pair µs |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    for r in native mactux proot; do
        runner_available "$r" || continue
        for c in getpgrp getppid getpid; do
            [[ $r != proot || $c == getpgrp ]] || continue
            k="lat,$r,$c"
            echo "| $(runner_label "$r") | $c | $(pm "$k" p50_us) | $(pm "$k" p90_us) | $(pm "$k" p99_us) | $(pm "$k" p999_us) | $(pm "$k" mean_us) | $(pm "$k" timer_p50_us) |"
        done
    done
    echo "| native | Unix-socket ping-pong, 2 processes (\`bench/src/sock_pingpong.c\`) | $(pm pingpong p50_us) | $(pm pingpong p90_us) | $(pm pingpong p99_us) | $(pm pingpong p999_us) | $(pm pingpong mean_us) | $(pm lat,native,getppid timer_p50_us) |"
    echo "| \`mactux daemon ping\` | getpgid(1) from a plain client, no trap | $(pm dping p50_us) | $(pm dping p90_us) | $(pm dping p99_us) | $(pm dping p999_us) | $(pm dping mean_us) | — |"
    echo
    P99=$(pm lat,mactux,getpgrp p99_us)
    echo "- mactux getpgrp (a call that needs the daemon) p99: **$P99 µs** (target < 30 µs: $(under "$P99" 30)); getppid p99: $(pm lat,mactux,getppid p99_us) µs"
    echo "- round trip alone (mactux getpgrp − getpid): p50 $(diff_ "$(pm lat,mactux,getpgrp p50_us)" "$(pm lat,mactux,getpid p50_us)" 2 | tr -d +) µs, p99 $(diff_ "$P99" "$(pm lat,mactux,getpid p99_us)" 2 | tr -d +) µs; the native socket ping-pong (the floor for any round trip between two processes on this machine): p50 $(pm pingpong p50_us) µs, p99 $(pm pingpong p99_us) µs"
    echo "- the daemon's own share, from a plain client without the trap (\`mactux daemon ping\`): p50 $(pm dping p50_us) µs, p99 $(pm dping p99_us) µs; what the round trip costs beyond that is the runtime's client side: the trap and its path run again after each sleep on the socket."
    echo
    echo "### \`mactux ps\` with $PS_TASKS live tasks"
    echo
    echo "$PS_TASKS × \`mactux run /bin/sleep $PS_SLEEP\` in the background; once \`mactux ps --json\` lists them all, \`mactux ps\` is timed ($( [[ -n $HYPERFINE ]] && echo "hyperfine -N" || echo "bench/src/timerun.c"), $PS_RUNS runs after 2 warm-up runs); then they are killed."
    echo
    echo "| Namespace | tasks listed | median ms | min ms | max ms |"
    echo "|---|---:|---:|---:|---:|"
    echo "| before the sleepers start | $PS_BASE | ${PS_EMPTY[0]} | ${PS_EMPTY[1]} | ${PS_EMPTY[2]} |"
    echo "| with $PS_TASKS sleeping tasks | $( [[ $PS_LISTED == n/a || $PS_BASE == n/a ]] && echo n/a || echo $((PS_LISTED + PS_BASE)) ) | ${PS_FULL[0]} | ${PS_FULL[1]} | ${PS_FULL[2]} |"
    echo
    echo "- \`mactux ps\` with $PS_TASKS tasks: **${PS_FULL[0]} ms** (target < 100 ms: $(under "${PS_FULL[0]}" 100))"
    echo "- $( [[ $PS_LISTED != n/a ]] && ((PS_LISTED >= PS_TASKS)) && echo "all $PS_TASKS" || echo "only $PS_LISTED") listed after ${PS_UP_S} s; RSS of the $PS_TASKS \`mactux run\` processes: $(awk -v k="$PS_RSS_KIB" -v n="$PS_TASKS" 'BEGIN{if(k=="n/a")print "n/a"; else printf "%.0f MiB (%.1f MiB each)", k/1024, k/1024/n}'); daemon RSS: $(awk -v k="$PS_DAEMON_KIB" 'BEGIN{if(k=="n/a")print "n/a"; else printf "%.1f MiB", k/1024}')"
    echo "- after killing them: \`mactux ps\` lists $PS_AFTER tasks (before: $PS_BASE), $( [[ $PS_AFTER == "$PS_BASE" && $PS_AFTER != n/a ]] && echo "back after ${PS_CLEAN_S} s" || echo "**not back** after ${PS_CLEAN_S} s")"
    echo
    fi
    # tcell <key> <field> <runner>: "value (×ratio)", n/a, or — (runner absent)
    tcell() {
        runner_available "$3" || { echo "—"; return; }
        local v; v=$(pm "$1,$3" "$2")
        if [[ $v == n/a || $3 == native ]]; then echo "$v"; else echo "$v (×$(ratio "$v" "$(pm "$1,native" "$2")"))"; fi
    }
    trow() { # <label> <key> <field>
        echo "| $1 | $(tcell "$2" "$3" native) | $(tcell "$2" "$3" mactux) | $(tcell "$2" "$3" proot) | $(tcell "$2" "$3" qemu) |"
    }
    if want e; then
    echo "## (e) Threads"
    echo
    echo "The programs time themselves with \`CLOCK_MONOTONIC\` (start-up excluded) and check their own results; each figure is the median over $THREAD_REPS runs, shown as value (× native)."
    echo
    echo "| Figure | native | \`mactux run\` | proot | qemu-x86_64 |"
    echo "|---|---:|---:|---:|---:|"
    trow "pthread_create + join, p50 µs (\`thread_create.c\`, N = $THREAD_N)" tcreate p50_us
    trow "pthread_create + join, mean µs" tcreate mean_us
    trow "pthread_create + join, p99 µs" tcreate p99_us
    trow "futex ping-pong, ns per round trip (\`futex_pingpong.c\`, N = $FUTEX_N)" futex ns_per_rt
    trow "uncontended mutex, ns per lock + unlock (\`mutex_uncontended.c\`, N = $MUTEX_N)" mutex ns_per_op
    trow "4 threads on one mutex, ns per lock + unlock (\`mutex_contended.c\`, N = $CONTENDED_N)" contended ns_per_op
    echo
    tlist() { # <key> <field>: "native X, `mactux run` Y, ..." over the available runners
        local r out=""
        for r in native mactux proot qemu; do
            runner_available "$r" || continue
            out+="${out:+, }$(runner_label "$r") $(pm "$1,$r" "$2")"
        done
        echo "$out"
    }
    echo "- futex round trips per second: $(tlist futex rt_per_s)"
    echo "- futex waits that slept, per round trip (a waiter that finds the word already set does not sleep): $(tlist futex sleeps_per_rt)"
    echo "- contended mutex, voluntary context switches per 1000 lock + unlock (how often a thread slept on the mutex): $(tlist contended sleeps_per_kop)"
    echo
    fi
    if want f; then
    echo "## (f) Sockets and epoll"
    echo
    echo "Two processes of one program on a Unix socketpair or a TCP connection on 127.0.0.1 (\`sock_pingpong.c\`, 16-byte messages), a bulk TCP transfer (\`tcp_stream.c\`), \`epoll_wait\` on a ready eventfd (\`epoll_ready.c\`) and an epoll HTTP server (\`http_server.c\`) driven by a native load generator (\`http_load.c\`); each figure is the median over $NET_REPS runs, shown as value (× native). Targets before syscall-site rewriting: throughput within 1.3× native; latency and requests per second ahead of proot."
    echo
    echo "| Figure | native | \`mactux run\` | proot | qemu-x86_64 |"
    echo "|---|---:|---:|---:|---:|"
    trow "Unix-socket ping-pong, p50 µs (N = $NET_PP_N)" unixpp p50_us
    trow "Unix-socket ping-pong, p99 µs" unixpp p99_us
    trow "TCP loopback ping-pong, p50 µs (N = $NET_PP_N)" tcppp p50_us
    trow "TCP loopback ping-pong, p99 µs" tcppp p99_us
    trow "TCP loopback throughput, MiB/s, higher is better ($NET_MB MiB)" stream mb_per_s
    trow "epoll_wait on a ready fd, ns per call (N = $EPOLL_N)" epready ns_per_call
    trow "HTTP requests per second, higher is better (N = $HTTP_N, $HTTP_C keep-alive connections)" http req_per_s
    echo
    fi
    if [[ ${#NOTES[@]} -gt 0 ]]; then
        echo "## Notes"
        echo
        for n in "${NOTES[@]}"; do echo "- $n"; done
    fi
} >"$REPORT"

cp "$REPORT" "$RESULTS/latest.md"
cat "$REPORT"
say "report written to $RESULTS/latest.md"
