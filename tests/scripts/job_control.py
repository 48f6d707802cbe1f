"""Drives an interactive shell on a pseudo-terminal through job control, the
way a user at a terminal would, and prints what happened as stable lines.

usage: job_control.py SHELL-ARGV...   (e.g. /bin/bash --norc -i)

Each step waits for its effect instead of sleeping: a key typed for a job is
sent only once the job's process group owns the terminal (tcgetpgrp on the
master), and each answer is awaited by the text it must contain. Exits 1,
naming the step, when something does not happen within the deadline.
"""
import os, pty, select, sys, time

DEADLINE = 20.0

pid, fd = pty.fork()
if pid == 0:
    os.environ["PS1"] = "$ "
    os.execv(sys.argv[1], sys.argv[1:])

seen = b""


def fail(what):
    sys.stdout.write("FAILED waiting for %s; the terminal showed:\n%s\n" % (what, seen.decode(errors="replace")))
    sys.stdout.flush()
    os.kill(pid, 9)
    sys.exit(1)


def wait_until(done, what):
    """Collects the terminal's output until done() holds; fails at the deadline."""
    global seen
    end = time.time() + DEADLINE
    while not done():
        if time.time() > end:
            fail(what)
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                fail(what)


def wait_for(text, what):
    """Until `text` appears after the current mark."""
    global seen
    wait_until(lambda: text in seen, what)
    # Keep only what came after, so the next step looks at new output.
    seen = seen[seen.index(text) + len(text):]


def wait_foreground_job(what):
    """Until a group other than the shell's owns the terminal."""
    wait_until(lambda: os.tcgetpgrp(fd) != pid, what)


def say(line):
    print(line, flush=True)


wait_for(b"$ ", "the first prompt")
os.write(fd, b"sleep 60\n")
wait_foreground_job("sleep in the foreground")
os.write(fd, b"\x1a")
wait_for(b"Stopped", "^Z to stop the job")
say("^Z stopped the foreground job")
os.write(fd, b"jobs -l > /dev/null; jobs\n")
wait_for(b"Stopped", "jobs to list it as stopped")
say("jobs lists it as stopped")
os.write(fd, b"bg\n")
wait_for(b"$ ", "bg")
os.write(fd, b"jobs\n")
wait_for(b"Running", "jobs to list it as running")
say("bg resumed it")
os.write(fd, b"kill %1; wait %1; echo status=$?\n")
wait_for(b"status=143", "kill %1 and the status of the job")
say("kill %1 ended it with status 143")
os.write(fd, b"sleep 60\n")
wait_foreground_job("a second sleep in the foreground")
os.write(fd, b"\x03")
wait_for(b"$ ", "the prompt after ^C")
os.write(fd, b"echo rc=$?\n")
wait_for(b"rc=130", "the status after ^C")
say("^C interrupted the foreground job: 130")
os.write(fd, b"exit 0\n")
_, st = os.waitpid(pid, 0)
say("shell exited with %d" % os.waitstatus_to_exitcode(st))
