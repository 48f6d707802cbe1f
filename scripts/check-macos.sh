#!/usr/bin/env bash
# Type-checks the whole workspace for x86_64-apple-darwin on a Linux machine,
# with Debian's rustc-web (a compiler that ships its standard library's source,
# so std can be built for the Mac target). Nothing is linked: this proves the
# macOS host layer compiles, not that it works. See docs/macos.md.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q . || need+=(rustc-web)
[ -x /usr/bin/cargo ] || need+=(cargo-web)
[ -d /usr/lib/rustlib/src/rust/library ] || need+=(rust-web-src)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y rustc-web cargo-web rust-web-src
    else
        echo "check-macos: missing ${need[*]}; install them with: sudo apt-get install -y rustc-web cargo-web rust-web-src" >&2
        exit 1
    fi
fi

export RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-darwin}"
echo "check-macos: $(/usr/bin/rustc --version), target dir $CARGO_TARGET_DIR" >&2
/usr/bin/cargo check -Zbuild-std=std,panic_abort --target x86_64-apple-darwin --workspace "$@"
