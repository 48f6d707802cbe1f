#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (docs/fuzzing.md):
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS] [libFuzzer options...]
#
# Each target runs for SECONDS (default 60; 0 for no time limit, e.g. with
# -runs=N), at the lowest CPU priority, with debug assertions on (an integer
# overflow is a crash) and without AddressSanitizer: the code under test is
# safe Rust, and ASan's bookkeeping of every allocation made the decoders
# 5 to 10 times slower (MACTUX_FUZZ_SANITIZER=address brings it back). It starts from the seeds in fuzz/corpus/TARGET and
# keeps what it finds in fuzz/work/TARGET (not committed); a crash leaves
# its input in fuzz/artifacts/TARGET and fails the script.
# cargo-fuzz is installed from crates.io when missing; libFuzzer needs
# nightly compiler flags, which the stable toolchain allows with
# RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

targets=(frame_decode elf_check syscall_args path_resolve)
which=${1:-all}
seconds=${2:-60}
shift $(( $# > 2 ? 2 : $# ))

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1

if [ "$which" != all ]; then
    if ! printf '%s\n' "${targets[@]}" | grep -qx "$which"; then
        echo "unknown target $which; the targets are: ${targets[*]}" >&2
        exit 2
    fi
    targets=("$which")
fi

for t in "${targets[@]}"; do
    mkdir -p "work/$t" "corpus/$t"
    echo "== $t for ${seconds}s $*" >&2
    nice -n 19 cargo fuzz run --sanitizer "${MACTUX_FUZZ_SANITIZER:-none}" --debug-assertions "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 "$@"
done
