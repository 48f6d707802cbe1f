#!/usr/bin/env bash
# MacTux benchmark harness: measures the null-syscall cost, start-up time and
# peak RSS of programs run natively, under `mactux run`, under a bare Syscall
# User Dispatch trap, under proot and under qemu-x86_64, all in one run, and
# prints a Markdown report (also written to bench/results/latest.md).
#
# Environment (all optional):
#   MACTUX_BIN         mactux binary to measure as is (default: <repo>/target/release/mactux,
#                      first brought up to date with `cargo build --release -p mactux-cli`)
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

NOTES=()
note() { NOTES+=("$*"); }

# mactux binary
MACTUX=""
if [[ -n ${MACTUX_BIN:-} ]]; then
    if [[ -x $MACTUX_BIN ]]; then MACTUX=$MACTUX_BIN; else note "MACTUX_BIN=$MACTUX_BIN is not executable: mactux rows are n/a."; fi
else
    cand=$REPO/target/release/mactux
    built=""
    if [[ -z ${BENCH_NO_BUILD:-} ]] && command -v cargo >/dev/null; then
        # Always ask cargo (a no-op when up to date) so a stale binary is never
        # measured by accident.
        say "building mactux (cargo build --release -p mactux-cli; log: $BUILD/cargo.log)"
        if (cd "$REPO" && timeout 1200 cargo build --release -p mactux-cli) >"$BUILD/cargo.log" 2>&1; then
            built=1
        elif [[ -x $cand ]]; then
            note "\`cargo build --release -p mactux-cli\` failed (see bench/build/cargo.log): mactux figures come from an older binary (see its build time above)."
        else
            note "\`cargo build --release -p mactux-cli\` failed (see bench/build/cargo.log): mactux rows are n/a."
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

say "(a) null syscall: getppid loop"
NS_NATIVE=$(ns_per_call "$REPS" "$BUILD/getppid_loop" "$N")
NS_ALLOW=$(ns_per_call "$REPS" "$BUILD/bare_sud" "$N" allow)
NS_BARE=$(ns_per_call "$REPS" "$BUILD/bare_sud" "$N")
[[ $NS_BARE != n/a ]] || note "bare SUD trap failed (kernel without Syscall User Dispatch, or the trap count did not match N; see bench/build/run.log)."
NS_MACTUX=n/a
if [[ -n $MACTUX ]]; then
    NS_MACTUX=$(ns_per_call "$REPS" "$MACTUX" "${MACTUX_RUN_WORDS[@]}" "$BUILD/getppid_loop" "$N")
    [[ $NS_MACTUX != n/a ]] || note "\`mactux run getppid_loop\` failed or printed no figure (see bench/build/run.log)."
fi
NS_PROOT=n/a; [[ -z $PROOT ]] || NS_PROOT=$(ns_per_call 3 "$PROOT" "$BUILD/getppid_loop" "$N_PROOT")
NS_QEMU=n/a; [[ -z $QEMU ]] || NS_QEMU=$(ns_per_call 3 "$QEMU" "$BUILD/getppid_loop" "$N_QEMU")

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
say "(b) start-up ($( [[ -n $HYPERFINE ]] && echo "hyperfine" || echo "built-in timer"), $RUNS runs, $WARMUP warm-up)"
for p in "${PROGS[@]}"; do
    for r in "${RUNNERS[@]}"; do
        ST[$r,$p]=$(startup_ms "$r" "$p")
    done
done
say "(c) peak RSS"
for p in "${PROGS[@]}"; do
    for r in "${RUNNERS[@]}"; do
        RSS[$r,$p]=$(rss_kib "$r" "$p")
    done
done
for p in "${PROGS[@]}"; do
    if [[ -n ${MACTUX_OK[$p]:-} && ( ${ST[mactux,$p]} == n/a || ${RSS[mactux,$p]} == n/a ) ]]; then
        note "\`mactux run $(basename "$p")\` failed (see bench/build/run.log)."
    fi
done

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
    echo "- mactux: $(mactux_desc)"
    echo "- proot: $PROOT_VER"
    echo "- qemu: $QEMU_VER"
    echo "- Timer: $( [[ -n $HYPERFINE ]] && tool_version "$HYPERFINE" --version || echo "bench/src/timerun.c (hyperfine not used)")"
    echo
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
    if [[ ${#NOTES[@]} -gt 0 ]]; then
        echo
        echo "## Notes"
        echo
        for n in "${NOTES[@]}"; do echo "- $n"; done
    fi
} >"$REPORT"

cp "$REPORT" "$RESULTS/latest.md"
cat "$REPORT"
say "report written to $RESULTS/latest.md"
