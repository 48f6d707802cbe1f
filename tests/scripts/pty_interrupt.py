"""Runs a command on a new pseudo-terminal as its foreground process group,
waits (20 s at most) for a line starting with "ready", types ^C, and
prints everything the command wrote (CR LF as LF) once it ends. Exits with
the command's exit status, or 128 + the signal that killed it; 124 if it
was not ready or had not ended in time (then it is killed).

Usage: pty_interrupt.py PROGRAM [ARG...]
"""
import os
import pty
import re
import select
import signal
import sys
import time

DEADLINE = 20.0


def main():
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    out = b""
    end = time.monotonic() + DEADLINE
    sent = False
    status = None
    while time.monotonic() < end:
        if not sent and re.search(rb"(^|\n)ready[^\n]*\n", out):
            time.sleep(0.3)
            os.write(fd, b"\x03")
            sent = True
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if data:
                out += data
                continue
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
        sys.exit(124)
    try:
        while True:
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                break
            data = os.read(fd, 4096)
            if not data:
                break
            out += data
    except OSError:
        pass
    sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
    code = os.waitstatus_to_exitcode(status)
    sys.exit(code if code >= 0 else 128 - code)


main()
