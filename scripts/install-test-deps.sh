#!/bin/sh
# Install what the end-to-end tests (tests/) need on Debian: C compilers for glibc and musl
# guests, the distribution programs the distro tests run, and the multi-threaded programs
# and toolchains of the thread tests (tests/tests/threads.rs). Idempotent: installs only
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
# CPython's own regression tests of the system interfaces (tests/tests/cpython.rs).
need libpython3.11-testsuite test -e /usr/lib/python3.11/test/test_epoll.py
# The socket tests (tests/tests/net.rs): curl, netcat and socat as clients and servers.
need curl command -v curl
need netcat-openbsd test -x /usr/bin/nc.openbsd
need socat command -v socat
# The netlink tests (tests/tests/net.rs): ip and hostname -I ask NETLINK_ROUTE.
need iproute2 test -x /bin/ip
need hostname test -x /bin/hostname
need file command -v file
need procps command -v ps
need psmisc command -v pstree
need bsdutils command -v script
need inotify-tools command -v inotifywait
# Debian's git by its path: the tests run /usr/bin/git, and another git earlier in
# PATH (/usr/local/bin) would hide a missing package.
need git test -x /usr/bin/git
need make command -v make
# The thread tests: parallel compressors, Debian's Go (its default build uses cgo) and
# Debian's default JDK, found at /usr/lib/jvm/default-java whichever version that is.
need xz-utils command -v xz
need zstd command -v zstd
need pigz command -v pigz
need golang-go test -x /usr/bin/go
need default-jdk-headless test -x /usr/lib/jvm/default-java/bin/javac
# The event-loop and server tests (tests/tests/servers.rs). Debian starts no service
# when these are installed in a container without an init system, and the tests run
# the servers themselves on scratch sockets.
need nodejs test -x /usr/bin/node
need redis-server test -x /usr/bin/redis-server
need redis-tools test -x /usr/bin/redis-cli
need openssh-client test -x /usr/bin/ssh-keygen
# The client and server tests (tests/tests/clients.rs): openssl's s_server and
# s_client, git daemon (git, above) and Node's fetch (nodejs, above).
need openssl test -x /usr/bin/openssl
# nginx, run by tests/tests/servers.rs with its own configuration on a scratch port; the
# package's service is kept from starting (policy-rc.d below).
need nginx-light test -x /usr/sbin/nginx

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
# Daemons such as nginx must not be started by their packages' scripts (a machine with
# a plain init script would start them): invoke-rc.d asks policy-rc.d first, and 101
# means "not allowed". A policy-rc.d already there is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $run tee "$policy" >/dev/null
	$run chmod 755 "$policy"
	trap '$run rm -f "$policy"' EXIT
fi
# shellcheck disable=SC2086
$run apt-get update
# shellcheck disable=SC2086
$run apt-get install -y --no-install-recommends $missing
echo "test dependencies: installed$missing"
