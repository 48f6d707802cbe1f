#!/bin/sh
# Install what the end-to-end tests (tests/) need on Debian: C compilers for glibc and musl
# guests, and the distribution programs the distro tests run. Idempotent: installs only
# what is missing. Needs root (or sudo without a password); otherwise prints what to
# install and exits 1.
set -eu

missing=""
need() { # need <check-command...> -- <package>
	pkg=$1
	shift
	if ! "$@" >/dev/null 2>&1; then
		case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
	fi
}

need build-essential command -v gcc
need build-essential test -e /usr/lib/x86_64-linux-gnu/libc.a
need musl-tools command -v musl-gcc
need busybox-static sh -c 'test -x /bin/busybox && file -L /bin/busybox | grep -q "statically linked"'
need sqlite3 command -v sqlite3
need python3 test -x /usr/bin/python3
need file command -v file
need procps command -v ps
need psmisc command -v pstree
need bsdutils command -v script
need git command -v git
need make command -v make

if [ -z "$missing" ]; then
	echo "test dependencies: all present"
	exit 0
fi

echo "test dependencies missing, Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	run="sudo -n"
else
	echo "run as root: apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$run apt-get update
# shellcheck disable=SC2086
$run apt-get install -y --no-install-recommends $missing
echo "test dependencies: installed$missing"
