#!/usr/bin/env bash
# The whole test suite, as README.md shows it: installs what the tests need
# (Debian packages), builds mactux, runs unit and end-to-end tests, and checks
# that docs/compat.md matches the syscall table.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh

# The binary under test, and below the tests, share one build of every
# dependency: the `suite` profile (Cargo.toml) is the release profile with
# panic=unwind, which is what `cargo test` builds test harnesses and their
# dependencies with anyway. The binary itself is linked with panic=abort
# (`cargo rustc` passes the flag to it alone), so a panic aborts as in a
# release build. (`cargo build --release` then `cargo test --release` built
# the 52 dependencies twice, once per panic strategy: 69 + 57 crates from a
# clean target dir; now 69 + 5, the workspace's own test harnesses.)
# On a Linux host it is linked statically (static-pie): every `mactux run`
# and every guest execve starts this binary, and the dynamic loader's work
# for it (libc, libm, libgcc_s, 8,000 relocations) was half of its start-up
# (docs/architecture.md, "Start-up"). Only the final link can ask for it:
# `crt-static` in RUSTFLAGS would reach the proc-macro crates too, which
# cannot be built so. Its relative relocations are packed (DT_RELR, which
# the static glibc 2.36 applies): 3 KiB instead of a 250 KiB table that
# every start read, 0.6 MiB less peak RSS.
LINK_STATIC=()
[ "$(uname -s)" = Linux ] && LINK_STATIC=(-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs)
cargo rustc --profile suite -p mactux-cli --bin mactux -- -C panic=abort "${LINK_STATIC[@]}"
export MACTUX_BIN="$PWD/target/suite/mactux"
export MACTUX_REQUIRE_ALL=1

# The tests get a daemon and a pid namespace of their own, so they neither
# disturb nor depend on a daemon the user already runs.
MACTUX_STATE_DIR=$(mktemp -d /tmp/mactux-test-state.XXXXXX)
export MACTUX_STATE_DIR
cleanup() {
    "$MACTUX_BIN" daemon stop >/dev/null 2>&1 || true
    rm -rf "$MACTUX_STATE_DIR"
}
trap cleanup EXIT

# docs/compat.md is generated from the syscall table; a stale copy fails the run.
if ! diff -u docs/compat.md <("$MACTUX_BIN" syscalls --markdown) >/dev/null; then
    echo "docs/compat.md is stale: regenerate it with" >&2
    echo "    $MACTUX_BIN syscalls --markdown > docs/compat.md" >&2
    exit 1
fi

# --no-fail-fast: one failing test binary must not hide the others.
suite=0
cargo test --profile suite --workspace --no-fail-fast || suite=$?
# The suite runs with syscall-site rewriting on (the default); every test
# that runs programs under mactux runs again with every site trapping, so
# that rewriting never changes what a program computes and both entries
# stay checked.
echo "== again with syscall-site rewriting off (MACTUX_REWRITE=0)"
MACTUX_REWRITE=0 cargo test --profile suite -p mactux-tests --no-fail-fast || suite=$?
[ "$suite" = 0 ] || exit "$suite"

# No task, pid or zombie may outlive the tests: the daemon's namespace must
# be back to its init entry (it cleans up tasks whose host process is gone
# every two seconds, so allow a little time).
for _ in $(seq 1 30); do
    left=$("$MACTUX_BIN" ps --json | python3 -c 'import json,sys; print(len([t for t in json.load(sys.stdin) if t["pid"] != 1]))')
    [ "$left" = 0 ] && break
    sleep 0.5
done
if [ "$left" != 0 ]; then
    echo "tasks left behind after the tests:" >&2
    "$MACTUX_BIN" ps >&2
    exit 1
fi
echo "no tasks left behind"
