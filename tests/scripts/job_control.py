"""Drives an interactive shell on a pseudo-terminal through job control, the
way a user at a terminal would, and prints what happened as stable lines.

usage: job_control.py SHELL-ARGV...   (e.g. /bin/bash --norc -i)

Each step waits for its effect instead of sleeping: a key typed for a job is
sent only once the job has said it started (after the shell has made it a
job) and its process group owns the terminal (tcgetpgrp on the master), and
each answer is awaited by the text it must contain. Exits 1, naming the
step, when something does not happen within the deadline.
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


def collect(done, until):
    """Collects the terminal's output until done() holds or time `until`;
    says whether done() held."""
    global seen
    while not done():
        if time.time() > until:
            return False
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                return False
    return True


def wait_until(done, what):
    """Until done() holds; fails at the deadline."""
    if not collect(done, time.time() + DEADLINE):
        fail(what)


def mark(text):
    """Keeps only what came after `text`, so the next step looks at new output."""
    global seen
    seen = seen[seen.index(text) + len(text):]


def wait_for(text, what):
    """Until `text` appears after the current mark."""
    wait_until(lambda: text in seen, what)
    mark(text)


def press(key, text, what):
    """Types `key` until `text` appears: like a user, type it again when
    nothing happened within a second."""
    end = time.time() + DEADLINE
    while True:
        os.write(fd, key)
        if collect(lambda: text in seen, min(time.time() + 1.0, end)):
            mark(text)
            return
        if time.time() >= end:
            fail(what)


# The job says it started once it runs the command: bash's child waits on a
# pipe until its parent has done with making it (PGRP_PIPE), and only then
# execs. A key typed earlier may stop or kill the child before bash has made
# it a job: bash then reports it ("[1]   Stopped", not the current job "+"),
# so a later `bg` finds no current job. That race is bash's, natively too; a
# user never types ^Z within milliseconds of starting a command.
JOB = b"sh -c 'echo job started; exec sleep 60'\n"


def start_foreground_job(what):
    """Starts JOB and waits until it runs and its group owns the terminal."""
    os.write(fd, JOB)
    wait_for(b"job started\r\n", what)
    wait_until(lambda: os.tcgetpgrp(fd) != pid, what + " to own the terminal")


def say(line):
    print(line, flush=True)


def command(line, text, what):
    """Types a command line, waits for `text` in its output, then for the next
    prompt, so that no step can match what an earlier one printed."""
    os.write(fd, line)
    wait_for(text, what)
    wait_for(b"$ ", "the prompt after " + what)


wait_for(b"$ ", "the first prompt")
start_foreground_job("a job in the foreground")
press(b"\x1a", b"Stopped", "^Z to stop the job")
wait_for(b"$ ", "the prompt after ^Z")
say("^Z stopped the foreground job")
command(b"jobs -l > /dev/null; jobs\n", b"Stopped", "jobs to list it as stopped")
say("jobs lists it as stopped")
command(b"bg\n", b"sleep 60' &", "bg")
command(b"jobs\n", b"Running", "jobs to list it as running")
say("bg resumed it")
command(b"kill %1; wait %1; echo status=$?\n", b"status=143", "kill %1 and the status of the job")
say("kill %1 ended it with status 143")
start_foreground_job("a second job in the foreground")
press(b"\x03", b"$ ", "the prompt after ^C")
command(b"echo rc=$?\n", b"rc=130", "the status after ^C")
say("^C interrupted the foreground job: 130")
os.write(fd, b"exit 0\n")
_, st = os.waitpid(pid, 0)
say("shell exited with %d" % os.waitstatus_to_exitcode(st))
