#!/usr/bin/env bash
# MacTux benchmark harness: measures the null-syscall cost, start-up time,
# peak RSS, the process model (fork, spawn, daemon round trip, `mactux ps`)
# threads (create + join, futex ping-pong, mutexes) and sockets and epoll
# (ping-pong latency, loopback throughput, a ready epoll_wait), the rest of
# the micro set (pipe, open+close, stat, mmap, a compute loop) and real
# workloads (gzip, python3, sqlite3, sha256sum, ls -lR, a spawning loop, a bash
# loop, make -j2, git status, tar -x) of programs run natively, under `mactux
# run`, under a bare Syscall User Dispatch trap, under proot and under
# qemu-x86_64, all in one run, and prints a Markdown report (also written to
# bench/results/latest.md) that ends with one table of every row against its
# goal, drawn as a chart in bench/results/latest.svg.
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
#   BENCH_SECTIONS     report sections to measure, any of "a b c d e f g h" (default all)
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
#   BENCH_SCALE        factor on the sizes of sections g and h (default 1; e.g. 0.05 to try them out)
#   BENCH_MICRO_N      operations per run of the (g) micro rows, native and mactux (default 200000;
#                      proot N/10; the compute loop: 2000000 under every runner)
#   BENCH_MICRO_REPS   runs per (g) figure, median taken (default 3)
#   BENCH_WL_RUNS      timed runs per (h) workload and runner after the checked one, median taken (default 3)
#   BENCH_ROW_TIMEOUT  seconds one runner may spend on one (h) row, checked run included (default 45)
#   BENCH_WL           (h) rows to run, any of "gzip python sqlite sha256 lsR spawn bash make git tar" (default all)
#   BENCH_LS_DIR       tree of the `ls -lR` row (default /usr/lib; the Python library when BENCH_SCALE < 1)
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
SECTIONS=${BENCH_SECTIONS:-a b c d e f g h}
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
SCALE=${BENCH_SCALE:-1}
# scaled <n> [min]: n times BENCH_SCALE, rounded, at least min (default 1)
scaled() { awk -v n="$1" -v s="$SCALE" -v m="${2:-1}" 'BEGIN{v=int(n*s+0.5); if(v<m)v=m; print v}'; }
MICRO_N=$(scaled "${BENCH_MICRO_N:-200000}" 100)
MICRO_N_PROOT=$(scaled "$(( ${BENCH_MICRO_N:-200000} / 10 ))" 10)
COMPUTE_N=$(scaled 2000000 1000)
MICRO_REPS=${BENCH_MICRO_REPS:-3}
WL_RUNS=${BENCH_WL_RUNS:-3}
ROW_TMO=${BENCH_ROW_TIMEOUT:-45}
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
cc -static -o "$BUILD/micro" "$SRC/micro.c"
for t in thread_create futex_pingpong mutex_uncontended mutex_contended; do
    cc -static -pthread -o "$BUILD/$t" "$SRC/$t.c"
done

NOTES=()
note() { NOTES+=("$*"); }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
RUN_T0=$SECONDS

# mactux binary
MACTUX=""
if [[ -n ${MACTUX_BIN:-} ]]; then
    if [[ -x $MACTUX_BIN ]]; then MACTUX=$MACTUX_BIN; else note "MACTUX_BIN=$MACTUX_BIN is not executable: mactux rows are n/a."; fi
else
    cand=$REPO/target/release/mactux
    built=""
    LINK_STATIC=()
    [[ $(uname -s) != Linux ]] || LINK_STATIC=(-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs)
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
# Inputs and outputs of sections g and h; removed on exit.
SCRATCH=$(mktemp -d /tmp/mactux-bench-data.XXXXXX)
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
    [[ -z $SCRATCH ]] || rm -rf "$SCRATCH"
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
declare -A PM PM_WHY PM_LAST
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
    PM_LAST[$key]=$out
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
ONE_CPU=""
if command -v taskset >/dev/null; then
    ONE_CPU=$(taskset -pc $$ 2>/dev/null | sed -n 's/.*: *\([0-9]*\).*/\1/p')
fi
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
        # The ping-pong again with both threads on one CPU: no idle CPU has
        # to be woken, so the figure shows the cost of the wait and wake
        # themselves. Across two CPUs of a VM a wake-up of an idle CPU
        # costs from 2 to 50 µs from one run to the next, for every runner.
        if [[ -n $ONE_CPU ]]; then
            proc_measure "futex1,$r" "$THREAD_REPS" "ns_per_rt sleeps_per_rt" taskset -c "$ONE_CPU" "${words[@]}" "$BUILD/futex_pingpong" "$FUTEX_N"
        fi
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
        # The Unix ping-pong again on one CPU, as the futex one in (e).
        if [[ -n $ONE_CPU ]]; then
            proc_measure "unixpp1,$r" "$NET_REPS" "p50_us p99_us" taskset -c "$ONE_CPU" "${words[@]}" "$BUILD/sock_pingpong" "$NET_PP_N"
        fi
    done
fi

# ------------------------------------------------ (g) the rest of the micro set ---
# "<key>|<op>": bench/src/micro.c, one operation N times.
MICRO_FIGS=(
    "pipe|pipe"
    "openclose|openclose"
    "stat|stat"
    "mmap|mmap"
    "compute|compute"
)
MICRO_FILE=$SCRATCH/micro-file
declare -A WHY # WHY[key,runner]: why a summary cell is not a figure (timeout, failed, ...)
if want g; then
    say "(g) micro: pipe, open+close, stat, mmap+munmap 64 KiB (N=$MICRO_N, proot $MICRO_N_PROOT), compute loop (N=$COMPUTE_N)"
    printf 'a file for open and stat\n' >"$MICRO_FILE"
    for r in native mactux proot qemu; do
        runner_available "$r" || continue
        words=()
        mapfile -t words < <(runner_words "$r")
        for fig in "${MICRO_FIGS[@]}"; do
            IFS='|' read -r key op <<<"$fig"
            n=$MICRO_N
            [[ $r != proot ]] || n=$MICRO_N_PROOT
            # The compute loop's checksum depends on N: the same N everywhere.
            [[ $op != compute ]] || n=$COMPUTE_N
            proc_measure "$key,$r" "$MICRO_REPS" "ns_per_op" "${words[@]}" "$BUILD/micro" "$op" "$n" "$MICRO_FILE"
            if [[ -n ${PM_WHY[$key,$r]:-} ]]; then
                [[ ${PM_WHY[$key,$r]} == killed* ]] && WHY[$key,$r]=timeout || WHY[$key,$r]=failed
                note "$(runner_label "$r") micro $op failed (${PM_WHY[$key,$r]}; see bench/build/run.log): its (g) figure is ${WHY[$key,$r]}."
                continue
            fi
            if [[ $op == compute ]]; then
                # The same checksum as natively, or the figure does not count.
                sum=$(sed -n 's/.* check=\([0-9a-f]*\).*/\1/p' <<<"${PM_LAST[$key,$r]:-}")
                if [[ $r == native ]]; then
                    COMPUTE_SUM=$sum
                elif [[ -z $sum || $sum != "${COMPUTE_SUM:-}" ]]; then
                    PM[$key,$r,ns_per_op]=n/a
                    WHY[$key,$r]=failed
                    note "$(runner_label "$r") micro compute printed checksum '${sum}', natively '${COMPUTE_SUM:-}': its figure does not count."
                fi
            fi
        done
    done
fi

# ----------------------------------------------------- (h) real workloads ---
# Each row: one command under every runner, its inputs generated once
# (natively, from fixed seeds) in $SCRATCH. Per runner: one checked run (its
# output, or the tree it writes, must equal the native one, else the cell is
# "failed": a fast failure is never a speed-up), which is also the warm-up,
# then BENCH_WL_RUNS timed runs, each after its untimed preparation (a clean
# output directory), median taken. A runner gets BENCH_ROW_TIMEOUT seconds per
# row in all; a checked run that does not finish in it reads "timeout", and
# timed runs that would not fit are left out (the cell says how many ran).
WL_ALL="gzip python sqlite sha256 lsR spawn bash make git tar"
WL_ROWS=${BENCH_WL:-$WL_ALL}
WL_GZIP_BYTES=$(scaled 50000000 100000)
WL_PY_N=$(scaled 1500000 1000)
WL_SQL_ROWS=$(scaled 100000 100)
WL_SHA_BYTES=$(scaled 200000000 100000)
WL_SPAWN_N=$(scaled 2000 10)
WL_BASH_N=$(scaled 200000 100)
WL_MAKE_FILES=$(scaled 20 2)
WL_GIT_FILES=$(scaled 20000 100)
WL_TAR_BYTES=$(scaled 100000000 100000)
# ls -lR: /usr/lib (73k entries here) at full scale; a smaller tree when scaled down.
if [[ -n ${BENCH_LS_DIR:-} ]]; then
    WL_LS_DIR=$BENCH_LS_DIR
elif awk -v s="$SCALE" 'BEGIN{exit !(s < 1)}'; then
    WL_LS_DIR=$(ls -d /usr/lib/python3.* 2>/dev/null | head -n1)
    WL_LS_DIR=${WL_LS_DIR:-/usr/lib}
else
    WL_LS_DIR=/usr/lib
fi
wl_want() { [[ " $WL_ROWS " == *" $1 "* ]]; }
wl_label() {
    case $1 in
        gzip) echo "gzip -6 of $(awk -v b="$WL_GZIP_BYTES" 'BEGIN{printf "%g", b/1e6}') MB of text" ;;
        python) echo "python3: dicts, strings, a sort (N = $WL_PY_N)" ;;
        sqlite) echo "sqlite3: $WL_SQL_ROWS inserts in one transaction" ;;
        sha256) echo "sha256sum of $(awk -v b="$WL_SHA_BYTES" 'BEGIN{printf "%g", b/1e6}') MB" ;;
        lsR) echo "ls -lR $WL_LS_DIR" ;;
        spawn) echo "busybox sh spawning $WL_SPAWN_N × /bin/true" ;;
        bash) echo "bash loop: $WL_BASH_N × arithmetic and substrings" ;;
        make) echo "make -j2 of $WL_MAKE_FILES + 1 C files" ;;
        git) echo "git status, $WL_GIT_FILES files" ;;
        tar) echo "tar -x of $(awk -v b="$WL_TAR_BYTES" 'BEGIN{printf "%g", b/1e6}') MB, $(cat "$SCRATCH/tar-files" 2>/dev/null || echo "?") files" ;;
    esac
}
tool() { command -v "$1" 2>/dev/null || echo "/usr/bin/$1"; }
# wl_setup <row>: generates the row's inputs (natively, untimed)
wl_setup() {
    local gen=("$PY" "$SRC/gen_data.py")
    case $1 in
        gzip) "${gen[@]}" text "$WL_GZIP_BYTES" "$SCRATCH/text" ;;
        sqlite) "${gen[@]}" sql "$WL_SQL_ROWS" "$SCRATCH/insert.sql" ;;
        sha256) "${gen[@]}" bytes "$WL_SHA_BYTES" "$SCRATCH/random" ;;
        make) "${gen[@]}" cproj "$WL_MAKE_FILES" "$SCRATCH/cproj" ;;
        git)
            "${gen[@]}" gittree "$WL_GIT_FILES" "$SCRATCH/repo" &&
                git -C "$SCRATCH/repo" init -q &&
                git -C "$SCRATCH/repo" add -A &&
                git -C "$SCRATCH/repo" -c user.name=bench -c user.email=bench@localhost commit -q -m tree
            ;;
        tar)
            "${gen[@]}" tree "$WL_TAR_BYTES" "$SCRATCH/tree" &&
                tar -cf "$SCRATCH/tree.tar" -C "$SCRATCH/tree" . &&
                find "$SCRATCH/tree" -type f | wc -l >"$SCRATCH/tar-files" &&
                rm -rf "$SCRATCH/tree"
            ;;
    esac
}
# wl_cmd <row>: WL_CMD = the program (absolute path) and its arguments
wl_cmd() {
    case $1 in
        gzip) WL_CMD=("$(tool gzip)" -c -n -6 "$SCRATCH/text") ;;
        python) WL_CMD=("$PY" -I "$SRC/py_work.py" "$WL_PY_N") ;;
        sqlite) WL_CMD=("$(tool sqlite3)" "$SCRATCH/db.sqlite" ".read $SCRATCH/insert.sql") ;;
        sha256) WL_CMD=("$(tool sha256sum)" "$SCRATCH/random") ;;
        lsR) WL_CMD=("$(tool ls)" -lR --color=never "$WL_LS_DIR") ;;
        # /bin/true by path: `true` alone is a shell builtin.
        spawn) WL_CMD=("$(tool busybox)" sh -c "i=0; while [ \$i -lt $WL_SPAWN_N ]; do /bin/true; i=\$((i + 1)); done; echo \$i") ;;
        bash) WL_CMD=("$(tool bash)" --norc --noprofile -c "x=0; s=abcdefghijklmnopqrst; for ((i = 0; i < $WL_BASH_N; i++)); do x=\$(( (x * 31 + i) % 1000003 )); s=\${s:1}\${i: -1}; done; echo \$x \$s") ;;
        make) WL_CMD=("$(tool make)" -j2 -C "$SCRATCH/cproj") ;;
        git) WL_CMD=("$(tool git)" -C "$SCRATCH/repo" status) ;;
        tar) WL_CMD=("$(tool tar)" -xf "$SCRATCH/tree.tar" -C "$SCRATCH/untar" --no-same-owner) ;;
    esac
}
# wl_prep <row>: untimed, before every run: what the last run wrote goes
wl_prep() {
    case $1 in
        sqlite) rm -f "$SCRATCH/db.sqlite" "$SCRATCH/db.sqlite-journal" ;;
        make) make -s -C "$SCRATCH/cproj" clean >>"$LOG" 2>&1 ;;
        tar) rm -rf "$SCRATCH/untar" && mkdir "$SCRATCH/untar" ;;
    esac
}
# wl_digest <row> <stdout file>: what must be the same under every runner
wl_digest() {
    case $1 in
        make) sort "$2" | sha256sum ;; # -j2: two jobs' lines may swap
        tar)
            sha256sum <"$2"
            (cd "$SCRATCH/untar" && find . -printf '%y %p %s %m %T@\n' | sort | sha256sum &&
                find . -type f -print0 | sort -z | xargs -0 -r cat | sha256sum)
            ;;
        *) sha256sum <"$2" ;;
    esac
}
# timed_ms <limit s> <cmd...>: wall ms of one run with stdio on /dev/null;
# status 124 if it outlived the limit, non-zero if it failed
timed_ms() {
    local lim=$1 out rc=0; shift
    if [[ -n $HYPERFINE ]]; then
        local json=$BUILD/hf-wl.json qcmd
        printf -v qcmd '%q ' "$@"
        timeout -k 5 "$lim" "$HYPERFINE" -N --style none --runs 1 --export-json "$json" "$qcmd" >>"$LOG" 2>&1 || return $?
        "$PY" -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1e3))' "$json"
    else
        out=$(timeout -k 5 "$lim" "$BUILD/timerun" 1 0 "$@" 2>>"$LOG") || return $?
        sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$out"
    fi
}
declare -A WL WL_NRUNS
if want h; then
    say "(h) real workloads ($WL_ROWS; scale $SCALE, $WL_RUNS timed runs, ${ROW_TMO} s per row and runner)"
    export LC_ALL=C TZ=UTC GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$SCRATCH/gitconfig
    : >"$SCRATCH/gitconfig"
    for w in $WL_ROWS; do
        [[ " $WL_ALL " == *" $w "* ]] || { note "unknown workload \`$w\` in BENCH_WL: skipped."; continue; }
        say "(h) $w: generating the inputs"
        if ! wl_setup "$w" >>"$LOG" 2>&1; then
            note "generating the inputs of $w failed (see bench/build/run.log): its row is n/a."
            for r in native mactux proot qemu; do WHY[$w,$r]=n/a; done
            continue
        fi
        wl_cmd "$w"
        ref=""
        for r in native mactux proot qemu; do
            runner_available "$r" || continue
            [[ $r == native || -n $ref ]] || { WHY[$w,$r]=n/a; continue; }
            words=()
            mapfile -t words < <(runner_words "$r")
            say "(h) $w under $r"
            t0=$(now_s)
            wl_prep "$w" || true
            outf=$SCRATCH/out-$w-$r
            printf '== %s\n' "${r}: ${WL_CMD[*]}" >>"$LOG"
            rc=0
            timeout -k 5 "$ROW_TMO" "${words[@]}" "${WL_CMD[@]}" >"$outf" 2>"$BUILD/last-stderr" </dev/null || rc=$?
            checked_ms=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN{printf "%.1f", (b-a)*1e3}')
            cat "$BUILD/last-stderr" >>"$LOG"
            if ((rc == 124 || rc == 137)); then
                WHY[$w,$r]=timeout
                note "$(runner_label "$r") $w: the checked run outlived BENCH_ROW_TIMEOUT=$ROW_TMO s: its cell reads timeout."
                continue
            elif ((rc != 0)); then
                WHY[$w,$r]=failed
                last=$(grep -v '^[[:space:]]*$' "$BUILD/last-stderr" | tail -n1 | cut -c1-160 | tr '|`' '/'"'" || true)
                note "$(runner_label "$r") $w failed (exit $rc: ${last:-nothing on stderr}; see bench/build/run.log)."
                continue
            fi
            dig=$(wl_digest "$w" "$outf" 2>>"$LOG" || echo "digest failed")
            if [[ $r == native ]]; then
                ref=$dig
            elif [[ $dig != "$ref" ]]; then
                WHY[$w,$r]=failed
                note "$(runner_label "$r") $w wrote other output than natively (bench/build/run.log has the first differing lines): its cell reads failed."
                diff "$SCRATCH/out-$w-native" "$outf" 2>&1 | head -n 20 >>"$LOG" || true
                continue
            fi
            # Timed runs, while the budget allows another run at the checked run's pace.
            times=()
            while ((${#times[@]} < WL_RUNS)); do
                left=$(awk -v a="$t0" -v b="$(now_s)" -v l="$ROW_TMO" -v c="$checked_ms" 'BEGIN{x=l-(b-a); if(x < 1.2*c/1e3) x=0; printf "%d", x}')
                ((left > 0)) || break
                wl_prep "$w" || true
                if ms=$(timed_ms "$left" "${words[@]}" "${WL_CMD[@]}"); then
                    times+=("$ms")
                else
                    rc=$?
                    ((rc == 124 || rc == 137)) || { WHY[$w,$r]=failed; note "$(runner_label "$r") $w failed in a timed run (status $rc; see bench/build/run.log)."; }
                    break
                fi
            done
            [[ -z ${WHY[$w,$r]:-} ]] || continue
            if ((${#times[@]} == 0)); then
                # Only the checked run fitted in the budget: its time stands.
                times=("$checked_ms")
            fi
            WL[$w,$r]=$(printf '%s\n' "${times[@]}" | median)
            WL_NRUNS[$w,$r]=${#times[@]}
            say "    $(secs_since "$t0") s in all; median of ${#times[@]} run(s): ${WL[$w,$r]} ms"
        done
        if [[ -z $ref ]]; then
            note "$w failed natively (see bench/build/run.log): no runner is measured on it."
        fi
        # The row's inputs and outputs go as soon as it is done (a full run
        # would otherwise keep about 700 MB in /tmp to the end).
        rm -rf "$SCRATCH/untar" "$SCRATCH/out-$w-"* "$SCRATCH/db.sqlite" "$SCRATCH/text" "$SCRATCH/random" \
            "$SCRATCH/insert.sql" "$SCRATCH/cproj" "$SCRATCH/repo" "$SCRATCH/tree.tar"
    done
fi

# ------------------------------------------------------------- summary ----
# One table of every measured row against its goal, and the same as a chart.
# SUM_ROWS: "group<TAB>label<TAB>unit<TAB>goal<TAB>native<TAB>mactux<TAB>proot<TAB>qemu";
# a goal is ratio:X (mactux ≤ X × native), abs:X (mactux ≤ X in the row's
# unit), plus:X (mactux ≤ native + X) or none; a cell is a number or one of
# timeout, failed, n/a, — (not measured for that runner).
SUM_ROWS=()
is_num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
# sum_cell <runner> <value> [why]: the value, the reason it is missing, or —
sum_cell() {
    local r=$1 v=${2:-n/a} why=${3:-}
    if ! runner_available "$r"; then echo "—"; return; fi
    if [[ -n $why ]]; then echo "$why"; return; fi
    if is_num "$v"; then echo "$v"; return; fi
    echo "n/a"
}
sum_add() { # <group> <label> <unit> <goal> <native> <mactux> <proot> <qemu>
    local IFS=$'\t'
    SUM_ROWS+=("$*")
}
# sum_pm <group> <label> <unit> <goal> <key> <field> [runners without the row]
sum_pm() {
    local g=$1 l=$2 u=$3 goal=$4 key=$5 f=$6 skip=" ${7:-} " r cells=() why
    for r in native mactux proot qemu; do
        if [[ $skip == *" $r "* ]]; then cells+=("—"); continue; fi
        why=${WHY[$key,$r]:-}
        if [[ -z $why && -n ${PM_WHY[$key,$r]:-} ]]; then
            [[ ${PM_WHY[$key,$r]} == killed* ]] && why=timeout || why=failed
        fi
        cells+=("$(sum_cell "$r" "$(pm "$key,$r" "$f")" "$why")")
    done
    sum_add "$g" "$l" "$u" "$goal" "${cells[@]}"
}
if want a; then
    sum_add micro "null syscall (getppid)" "ns" ratio:1.5 "$(sum_cell native "$NS_NATIVE")" "$(sum_cell mactux "$NS_MACTUX")" "$(sum_cell proot "$NS_PROOT")" "$(sum_cell qemu "$NS_QEMU")"
fi
if want g; then
    sum_pm micro "pipe: 1-byte write + read" ns ratio:1.5 pipe ns_per_op
    sum_pm micro "open + close" ns ratio:1.5 openclose ns_per_op
    sum_pm micro "stat" ns ratio:1.5 stat ns_per_op
    sum_pm micro "mmap + munmap 64 KiB (one page touched)" ns ratio:1.5 mmap ns_per_op
fi
if want a; then
    sum_add micro "clock_gettime through libc" "ns" ratio:1.5 "$(sum_cell native "$CLK_NATIVE")" "$(sum_cell mactux "$CLK_MACTUX")" "$(sum_cell proot "$CLK_PROOT")" "$(sum_cell qemu "$CLK_QEMU")"
fi
if want d; then
    sum_pm micro "fork + wait, p50" µs ratio:2 fork p50_us
    sum_pm micro "posix_spawn /bin/true + wait, p50" ms ratio:2 spawn p50_ms qemu
fi
if want e; then
    sum_pm micro "pthread create + join, p50" µs ratio:1.5 tcreate p50_us
    sum_pm micro "futex ping-pong, per round trip" ns ratio:1.5 futex ns_per_rt
    sum_pm micro "futex ping-pong on one CPU, per round trip" ns ratio:1.5 futex1 ns_per_rt
fi
if want f; then
    sum_pm micro "Unix-socket ping-pong, p50" µs ratio:1.5 unixpp p50_us
    sum_pm micro "Unix-socket ping-pong on one CPU, p50" µs ratio:1.5 unixpp1 p50_us
fi
if want g; then
    sum_pm micro "compute loop (no system call)" ns ratio:1.03 compute ns_per_op
fi
if want h; then
    for w in $WL_ROWS; do
        [[ " $WL_ALL " == *" $w "* ]] || continue
        case $w in
            gzip | python | sqlite | sha256 | bash) goal=ratio:1.03 ;;
            lsR | spawn) goal=ratio:1.5 ;;
            *) goal=none ;;
        esac
        cells=()
        for r in native mactux proot qemu; do
            v=${WL[$w,$r]:-n/a}
            if is_num "$v" && ((${WL_NRUNS[$w,$r]:-0} < WL_RUNS)); then
                note "$(runner_label "$r") $w: only ${WL_NRUNS[$w,$r]} run(s) fitted in BENCH_ROW_TIMEOUT=$ROW_TMO s (median of those)."
            fi
            cells+=("$(sum_cell "$r" "$v" "${WHY[$w,$r]:-}")")
        done
        sum_add real "$(wl_label "$w")" ms "$goal" "${cells[@]}"
    done
fi
if want b; then
    sum_add startup "start-up: true.c, static" ms abs:1.0 "$(sum_cell native "${ST[native,$BUILD/true_static]:-}")" "$(sum_cell mactux "${ST[mactux,$BUILD/true_static]:-}")" "$(sum_cell proot "${ST[proot,$BUILD/true_static]:-}")" "$(sum_cell qemu "${ST[qemu,$BUILD/true_static]:-}")"
    sum_add startup "start-up: /bin/true (dynamic)" ms abs:1.5 "$(sum_cell native "${ST[native,/bin/true]:-}")" "$(sum_cell mactux "${ST[mactux,/bin/true]:-}")" "$(sum_cell proot "${ST[proot,/bin/true]:-}")" "$(sum_cell qemu "${ST[qemu,/bin/true]:-}")"
fi
if want c; then
    sum_add startup "peak RSS: /bin/true" KiB plus:2048 "$(sum_cell native "${RSS[native,/bin/true]:-}")" "$(sum_cell mactux "${RSS[mactux,/bin/true]:-}")" "$(sum_cell proot "${RSS[proot,/bin/true]:-}")" "$(sum_cell qemu "${RSS[qemu,/bin/true]:-}")"
fi
# goal_text <goal>
goal_text() {
    case $1 in
        ratio:*) echo "≤ ${1#ratio:}×" ;;
        abs:*) echo "≤ ${1#abs:}" ;;
        plus:*) echo "≤ native + $(awk -v k="${1#plus:}" 'BEGIN{printf "%g MiB", k/1024}')" ;;
        *) echo "ahead of both" ;;
    esac
}
# goal_met <goal> <native> <mactux>: yes, **NO** or n/a (a mactux timeout or
# failure misses the goal)
goal_met() {
    if [[ $3 == timeout || $3 == failed ]]; then
        [[ $1 == none ]] && echo "—" || echo "**NO**"
        return
    fi
    is_num "$3" || { echo "n/a"; return; }
    case $1 in
        ratio:*) is_num "$2" && meets "$(ratio "$3" "$2")" "${1#ratio:}" || echo "n/a" ;;
        abs:*) meets "$3" "${1#abs:}" ;;
        plus:*) is_num "$2" && meets "$(awk -v a="$3" -v b="$2" 'BEGIN{print a-b}')" "${1#plus:}" || echo "n/a" ;;
        *) echo "—" ;;
    esac
}
# ahead <mactux> <proot> <qemu>: mactux faster than each runner with a figure
# (a timeout counts as slower; failed, n/a and — are left out); a mactux
# failure is behind, and so is a mactux timeout unless the others timed out too
ahead() {
    if [[ $1 == failed ]]; then echo "**NO**"; return; fi
    if [[ $1 == timeout ]]; then
        is_num "$2" || is_num "$3" && echo "**NO**" || echo "n/a"
        return
    fi
    is_num "$1" || { echo "n/a"; return; }
    local other n=0
    for other in "$2" "$3"; do
        if [[ $other == timeout ]]; then n=$((n + 1)); continue; fi
        is_num "$other" || continue
        awk -v a="$1" -v b="$other" 'BEGIN{exit !(a < b)}' || { echo "**NO**"; return; }
        n=$((n + 1))
    done
    ((n > 0)) && echo "yes" || echo "n/a"
}
# sum_fmt <value> <native>: "value (×ratio)"
sum_fmt() {
    if is_num "$1" && is_num "$2"; then echo "$1 (×$(ratio "$1" "$2"))"; else echo "$1"; fi
}
SUM_TSV=$BUILD/summary.tsv
printf '%s\n' "${SUM_ROWS[@]}" >"$SUM_TSV"

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
    echo "- Run time: $(( (SECONDS - RUN_T0) / 60 )) min $(( (SECONDS - RUN_T0) % 60 )) s"
    echo "- Sections: $SECTIONS$( [[ $SCALE != 1 ]] && echo "; **sizes of (g) and (h) scaled by BENCH_SCALE=$SCALE**")"
    echo
    if [[ ${#SUM_ROWS[@]} -gt 0 ]]; then
    echo "## Summary: every row against its goal"
    echo
    echo "Value under each runner and, in brackets, × native (lower is better everywhere); the same as a chart in \`bench/results/latest.svg\`. \"timeout\": the runner outlived its time limit; \"failed\": it exited non-zero or its output differed from the native one (the notes say which); —: not measured for that runner. Goals from issue 11: syscall-bound micro rows ≤ 1.5× native, fork and spawn ≤ 2×, compute-bound work ≤ 1.03×, \`ls -lR\` and the spawning loop ≤ 1.5×, start-up ≤ 1.0 ms static and ≤ 1.5 ms dynamic, peak RSS ≤ native + 2 MiB; on every row, ahead of both proot and qemu-x86_64."
    echo
    echo "| Row | unit | native | \`mactux run\` | proot | qemu-x86_64 | goal | mactux meets it | ahead of proot and qemu |"
    echo "|---|---|---:|---:|---:|---:|---|:-:|:-:|"
    grp=""
    for line in "${SUM_ROWS[@]}"; do
        IFS=$'\t' read -r g l u goal cn cm cp cq <<<"$line"
        if [[ $g != "$grp" ]]; then
            grp=$g
            case $g in micro) gl="Micro" ;; real) gl="Real workloads" ;; *) gl="Start-up and memory" ;; esac
            echo "| **$gl** | | | | | | | | |"
        fi
        qmark=""
        [[ ! ( $l == busybox* || $l == make* ) ]] || ! is_num "$cq" || qmark=" †"
        echo "| $l | $u | $cn | $(sum_fmt "$cm" "$cn") | $(sum_fmt "$cp" "$cn") | $(sum_fmt "$cq" "$cn")$qmark | $(goal_text "$goal") | $(goal_met "$goal" "$cn" "$cm") | $(ahead "$cm" "$cp" "$cq") |"
    done
    echo
    if want h && { wl_want spawn || wl_want make; }; then
    echo "† qemu-user hands \`execve\` to the host kernel (no binfmt_misc here), so the programs these spawn (\`/bin/true\`, gcc) ran natively under qemu: its figure flatters it."
    echo
    fi
    fi
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
    trow "futex ping-pong with both threads on one CPU (\`taskset -c $ONE_CPU\`), ns per round trip" futex1 ns_per_rt
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
    echo "- The ping-pong rows across two CPUs time this machine's wake-ups of an idle CPU as much as the runner: on a VM that costs 2 to 50 µs per wake-up, from one run to the next of the same binary. The one-CPU rows (here and in (f)) leave no CPU idle, so they compare the runners' own cost of a wait and a wake-up."
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
    trow "Unix-socket ping-pong with both processes on one CPU (\`taskset -c $ONE_CPU\`), p50 µs" unixpp1 p50_us
    trow "TCP loopback ping-pong, p50 µs (N = $NET_PP_N)" tcppp p50_us
    trow "TCP loopback ping-pong, p99 µs" tcppp p99_us
    trow "TCP loopback throughput, MiB/s, higher is better ($NET_MB MiB)" stream mb_per_s
    trow "epoll_wait on a ready fd, ns per call (N = $EPOLL_N)" epready ns_per_call
    trow "HTTP requests per second, higher is better (N = $HTTP_N, $HTTP_C keep-alive connections)" http req_per_s
    echo
    fi
    if want g; then
    echo "## (g) The rest of the micro set"
    echo
    echo "\`bench/src/micro.c OP N\`: one operation N times (N = $MICRO_N; proot $MICRO_N_PROOT; compute loop $COMPUTE_N under every runner), timed as a whole in the program after N/10 untimed; each figure the median of $MICRO_REPS runs, shown as value (× native). Every call's result is checked; the compute loop's checksum must equal the native one."
    echo
    echo "| Figure | native | \`mactux run\` | proot | qemu-x86_64 |"
    echo "|---|---:|---:|---:|---:|"
    trow "pipe: write 1 byte + read it back, ns" pipe ns_per_op
    trow "open + close of a file, ns" openclose ns_per_op
    trow "stat of a file, ns" stat ns_per_op
    trow "mmap 64 KiB + touch one page + munmap, ns" mmap ns_per_op
    trow "compute: 64 rounds of xorshift64*, ns (no system call)" compute ns_per_op
    echo
    fi
    if want h; then
    echo "## (h) Real workloads"
    echo
    echo "Wall time of the whole command in ms ($( [[ -n $HYPERFINE ]] && echo "hyperfine -N, one run at a time" || echo "bench/src/timerun.c")), median of $WL_RUNS runs after one checked run whose output (or written tree) must equal the native one; BENCH_ROW_TIMEOUT = $ROW_TMO s per runner and row. Inputs are generated by \`bench/src/gen_data.py\` from fixed seeds$( [[ $SCALE != 1 ]] && echo ", **scaled by $SCALE**")."
    echo
    echo "| Workload | native | \`mactux run\` | proot | qemu-x86_64 | runs |"
    echo "|---|---:|---:|---:|---:|---|"
    for w in $WL_ROWS; do
        [[ " $WL_ALL " == *" $w "* ]] || continue
        cells=() nr=""
        for r in native mactux proot qemu; do
            if ! runner_available "$r"; then cells+=("—"); continue; fi
            v=$(sum_cell "$r" "${WL[$w,$r]:-}" "${WHY[$w,$r]:-}")
            cells+=("$( [[ $r == native ]] && echo "$v" || sum_fmt "$v" "${WL[$w,native]:-}")")
            nr+="${nr:+/}${WL_NRUNS[$w,$r]:-0}"
        done
        echo "| $(wl_label "$w") | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} | $nr |"
    done
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
if [[ ${#SUM_ROWS[@]} -gt 0 && -n $PY ]]; then
    if "$PY" "$SRC/chart.py" "$SUM_TSV" "$BUILD/report.svg" \
        "MacTux, proot and qemu-x86_64 against native ($(date -u '+%Y-%m-%d %H:%M UTC'))" \
        "$(cpu_model), $(nproc) CPUs, $(uname -sr); load $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?") at the end$( [[ $SCALE != 1 ]] && echo "; sizes scaled by $SCALE")" \
        2>>"$LOG"; then
        cp "$BUILD/report.svg" "$RESULTS/latest.svg"
        say "chart written to $RESULTS/latest.svg"
    else
        say "drawing the chart failed (see bench/build/run.log)"
    fi
fi
