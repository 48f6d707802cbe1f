//! The process model end to end: bash scripts with pipelines, subshells,
//! background jobs and traps, exit statuses of killed children, xargs,
//! find -exec, make, python3's subprocess, procps `ps`, and kill between
//! tasks — each compared with its native run.

use mactux_tests::*;

fn same(argv: &[&str]) -> (Outcome, Outcome) {
    check_same(&argv.join(" "), &Run::cmd(argv))
}

fn bash(script: &str) -> (Outcome, Outcome) {
    same(&["/bin/bash", "-c", script])
}

#[test]
fn pipelines() {
    let (native, _) = bash("seq 1 1000 | sort -rn | head -3; echo ${PIPESTATUS[@]}");
    assert_eq!(native.stdout_str(), "1000\n999\n998\n0 0 0\n");
}

#[test]
fn command_substitution_and_subshells() {
    bash("x=$(echo hi; echo there); echo \"got $x\"; (cd /usr && pwd); pwd; y=$( (exit 7) ); echo $?");
}

#[test]
fn exit_status_of_a_script() {
    let (native, _) = bash("echo out; exit 3");
    assert_eq!(native.status, Termination::Exit(3));
}

#[test]
fn background_jobs_and_wait() {
    let (native, _) = bash("sleep 0.2 & p=$!; (exit 5) & q=$!; wait $q; echo q=$?; wait $p; echo p=$?; wait; echo all");
    assert_eq!(native.stdout_str(), "q=5\np=0\nall\n");
}

#[test]
fn trap_on_exit() {
    let (native, _) = bash("trap 'echo bye' EXIT; echo hi; exit 4");
    assert_eq!(native.stdout_str(), "hi\nbye\n");
}

#[test]
fn killed_children_report_128_plus_signal() {
    let (native, _) = bash("sleep 5 & kill -9 $!; wait $!; echo $?; sleep 5 & kill -TERM $!; wait $!; echo $?");
    assert_eq!(native.stdout_str(), "137\n143\n");
}

#[test]
fn xargs_and_find_exec() {
    let dir = ScratchDir::new("findexec");
    for (n, body) in [("a.txt", "alpha\n"), ("b.txt", "beta\n"), ("c.log", "gamma\n")] {
        std::fs::write(dir.join(n), body).unwrap();
    }
    let d = dir.path().to_string_lossy().into_owned();
    bash(&format!("find {d} -name '*.txt' -exec cat {{}} \\; | sort; printf 'one\\ntwo\\n' | xargs -n1 echo item"));
}

#[test]
fn make_builds_a_small_makefile() {
    let dir = ScratchDir::new("make");
    std::fs::write(
        dir.join("Makefile"),
        "all: out.txt\n\t@cat out.txt\n\nout.txt: in.txt\n\t@tr a-z A-Z < in.txt > out.txt\n\t@echo built\n",
    )
    .unwrap();
    std::fs::write(dir.join("in.txt"), "hello make\n").unwrap();
    let d = dir.path().to_string_lossy().into_owned();
    // Native first builds out.txt; remove it so the emulated run builds it too.
    let run = Run::cmd(&["/bin/bash", "-c", &format!("rm -f {d}/out.txt; make -s -C {d}")]);
    let (native, _) = check_same("make", &run);
    assert_eq!(native.stdout_str(), "built\nHELLO MAKE\n");
}

#[test]
fn python3_subprocess() {
    let script = r#"
import subprocess, sys
r = subprocess.run(["/bin/echo", "from child"], capture_output=True, text=True)
print(repr(r.stdout), r.returncode)
print(subprocess.check_output("echo piped | tr a-z A-Z", shell=True).decode().strip())
p = subprocess.Popen(["/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out, _ = p.communicate(b"through cat\n")
print(out.decode().strip(), p.returncode)
k = subprocess.Popen(["/bin/sleep", "5"])
k.kill()
print("killed", k.wait())
print("exit", subprocess.call(["/bin/sh", "-c", "exit 9"]))
"#;
    let (native, _) = same(&["/usr/bin/python3", "-c", script]);
    assert!(native.stdout_str().contains("killed -9"), "{}", native.stdout_str());
}

#[test]
fn execve_errors_leave_the_task_alive() {
    let (native, _) = bash("/nonexistent/prog; echo $?; /etc/passwd; echo $?; /tmp; echo $?");
    assert_eq!(native.stdout_str(), "127\n126\n126\n");
}

#[test]
fn kill_between_tasks() {
    let (native, _) = bash("sleep 10 & pid=$!; kill -USR1 $pid; wait $pid; echo $?; kill -0 $$ && echo alive");
    assert_eq!(native.stdout_str(), "138\nalive\n");
}

/// procps `ps` inside mactux sees the tasks of the daemon's namespace with
/// their parent links: the shell, its background sleep and ps itself. The
/// background child is `bash` until its exec of sleep is done (natively
/// too, for a shorter while): the script waits for that first, bounded.
#[test]
fn procps_ps_sees_the_task_tree() {
    let script = "sleep 3 & for i in $(seq 100); do [ \"$(ps -o comm= -p $!)\" = sleep ] && break; sleep 0.05; done; \
                  ps -o pid=,ppid=,comm= -p $$ --ppid $$; kill $!";
    let o = run_mactux(&Run::cmd(&["/bin/bash", "-c", script]));
    assert!(o.is_success(), "{}", o.stderr_str());
    let rows: Vec<(i32, i32, String)> = o
        .stdout_str()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.first()?.parse().ok()?, f.get(1)?.parse().ok()?, f.get(2)?.to_string()))
        })
        .collect();
    let find = |c: &str| rows.iter().find(|r| r.2 == c).cloned();
    let (bash_pid, _, _) = find("bash").unwrap_or_else(|| panic!("no bash in ps output:\n{}", o.stdout_str()));
    let (_, sleep_ppid, _) = find("sleep").expect("sleep listed");
    let (_, ps_ppid, _) = find("ps").expect("ps listed");
    assert_eq!(sleep_ppid, bash_pid);
    assert_eq!(ps_ppid, bash_pid);
}

/// The thread view of a single-threaded task, as procps and glibc read it:
/// `ps -L` and `ps -T` (which list /proc/PID/task and read each thread's
/// stat, status and cmdline), the task directory itself, `Threads:` and
/// num_threads (stat field 20), and a write to a thread's comm (what
/// pthread_setname_np does for another thread) — the same output as natively.
#[test]
fn procps_threads_view_of_a_task() {
    let script = r#"p=$$
ps -L -o pid=,lwp=,nlwp=,comm= -p $p | while read a b c d; do [ "$a" = "$b" ] && echo "ps -L: lwp is pid, nlwp $c, $d"; done
ps -T -o pid=,spid=,comm= -p $p | while read a b c; do [ "$a" = "$b" ] && echo "ps -T: spid is pid, $c"; done
for t in /proc/$p/task/*; do [ "${t##*/}" = "$p" ] && echo "task dir: the leader"; done
grep '^Threads:' /proc/$p/status
read -r s < /proc/$p/task/$p/stat; set -- ${s#*) }; shift 17; echo "num_threads $1"
grep -c '^Pid:' /proc/$p/task/$p/status
printf renamed > /proc/$p/task/$p/comm; read -r c < /proc/$p/comm; echo "comm $c"
printf 'a-name-longer-than-fifteen' > /proc/$p/comm; read -r c < /proc/$p/task/$p/comm; echo "comm $c"
ls -l /proc/$p/task/$p/comm | cut -c1-10"#;
    let (native, _) = bash(script);
    assert!(native.stdout_str().contains("ps -L: lwp is pid, nlwp 1, bash"), "{}", native.stdout_str());
    assert!(native.stdout_str().contains("comm a-name-longer-"), "{}", native.stdout_str());
}

/// A writer into a closed pipe dies of SIGPIPE, as by default on Linux
/// (the runtime must not leak its own host disposition into the guest).
#[test]
fn sigpipe_ends_a_writer_quietly() {
    let (native, emulated) = bash("yes | head -2; echo ${PIPESTATUS[@]}");
    assert_eq!(native.stdout_str(), "y\ny\n141 0\n");
    assert!(emulated.stderr.is_empty(), "{}", emulated.stderr_str());
}

/// A task keeps running when the daemon dies, and re-registers under its
/// old pid with the next daemon.
#[test]
fn tasks_survive_a_daemon_restart() {
    let script = "echo $$ > \"$1\"; sleep 1.5; echo $$ $(cut -d' ' -f1 /proc/self/stat | head -c0)$(awk '{print $1}' /proc/$$/stat)";
    let dir = ScratchDir::new("daemon-restart");
    let pidfile = dir.join("pid");
    // A daemon of this test's own (MACTUX_STATE_DIR), so other tests keep theirs.
    let state = dir.join("state");
    let mactux = |args: &[&str]| {
        let mut c = std::process::Command::new(mactux_bin());
        c.args(args).env("MACTUX_STATE_DIR", &state);
        c
    };
    // A pipe and a scratch file, never the terminal or the files the test
    // itself inherited.
    let stderr = std::fs::File::create(dir.join("stderr")).expect("create the task's stderr file");
    let child = mactux(&["run", "/bin/bash", "-c", script, "bash"])
        .arg(&pidfile)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start mactux");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let stop = mactux(&["daemon", "stop"]).output().expect("daemon stop");
    assert!(stop.status.success(), "{}", String::from_utf8_lossy(&stop.stderr));
    let out = child.wait_with_output().expect("wait");
    // The task started a new daemon from inside its syscall trap, where every
    // signal is blocked; that daemon must still stop on SIGTERM.
    let restarted: i32 = std::fs::read_to_string(state.join("mactuxd.lock"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .expect("the restarted daemon's pid in its lock file");
    // SAFETY: sending a signal to a process of our own test.
    unsafe { libc::kill(restarted, libc::SIGTERM) };
    let gone = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |s| s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !gone(restarted) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let stopped_by_sigterm = gone(restarted);
    let _ = mactux(&["daemon", "stop"]).output();
    assert!(stopped_by_sigterm, "the restarted daemon (pid {restarted}) ignored SIGTERM");
    assert!(out.status.success());
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields, vec![pid.trim(), pid.trim()], "after the restart: {line}");
}

/// procps `ps -e` inside a task and `mactux ps` from the host list the same
/// tasks (in a namespace of the test's own, so other tests do not interfere).
#[test]
fn procps_ps_and_mactux_ps_agree() {
    let dir = ScratchDir::new("ps-agree");
    let state = dir.join("state");
    let inside = dir.join("inside");
    let mactux = |args: &[&str]| {
        let mut c = std::process::Command::new(mactux_bin());
        c.args(args).env("MACTUX_STATE_DIR", &state);
        c
    };
    // Only builtins run after ps: `echo END` marks the listing complete and
    // `read` waits on a FIFO until the test has taken its own listing.
    let script = "mkfifo \"$1.fifo\"; sleep 5 & s=$!; { ps -e -o pid=,comm=; echo END; } > \"$1\"; read x < \"$1.fifo\"; kill $s; wait";
    // A pipe and scratch files, never the terminal or the files the test
    // itself inherited.
    let output = |name: &str| std::fs::File::create(dir.join(name)).expect("create the task's output file");
    let mut child = mactux(&["run", "/bin/bash", "-c", script, "bash"])
        .arg(&inside)
        .stdin(std::process::Stdio::piped())
        .stdout(output("stdout"))
        .stderr(output("stderr"))
        .spawn()
        .expect("start mactux");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let complete = || std::fs::read_to_string(&inside).is_ok_and(|t| t.ends_with("END\n"));
    while !complete() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let outside = mactux(&["ps", "--json"]).output().expect("mactux ps");
    std::fs::write(dir.join("inside.fifo"), b"go\n").expect("release the script");
    let _ = child.wait();
    let _ = mactux(&["daemon", "stop"]).output();
    let parse_inside: std::collections::BTreeSet<(i64, String)> = std::fs::read_to_string(&inside)
        .expect("ps output")
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.parse().ok()?, f.next()?.to_string()))
        })
        .filter(|(_, comm)| comm != "ps" && comm != "END")
        .collect();
    let json: serde_json::Value = serde_json::from_slice(&outside.stdout).expect("mactux ps --json");
    let parse_outside: std::collections::BTreeSet<(i64, String)> = json
        .as_array()
        .expect("a list of tasks")
        .iter()
        .filter_map(|t| Some((t["pid"].as_i64()?, t["comm"].as_str()?.to_string())))
        .collect();
    assert_eq!(parse_inside, parse_outside, "ps -e inside vs mactux ps outside");
    assert!(parse_inside.iter().any(|(_, c)| c == "sleep"), "{parse_inside:?}");
}

/// busybox's shell runs its applets by executing /proc/self/exe, a path
/// that only means something to the process that executes it.
#[test]
fn busybox_sh_runs_applets_through_proc_self_exe() {
    let (native, _) = same(&["/bin/busybox", "sh", "-c", "echo a | busybox tr a b; x=$(busybox echo hi); echo $x; busybox true && echo ok"]);
    assert_eq!(native.stdout_str(), "b\nhi\nok\n");
}

/// flock(1) takes a whole-file lock and runs a command under it; `ls`
/// lists /proc/self/fd including the descriptor it reads the listing from
/// and the descriptors inherited from the process that started mactux.
#[test]
fn flock_and_proc_self_fd_listing() {
    let dir = ScratchDir::new("flock");
    let lockfile = dir.join("lock");
    let l = lockfile.to_string_lossy().into_owned();
    let (native, _) = bash(&format!("flock {l} -c 'echo locked'; flock -n {l} true && echo free; ls /proc/self/fd"));
    // Besides 0-3, the listing holds whatever the test process passed down:
    // the comparison with the native run covers those too.
    assert!(native.stdout_str().starts_with("locked\nfree\n0\n1\n"), "{}", native.stdout_str());
    assert!(native.stdout_str().lines().any(|l| l == "3"));
}

/// gcc under mactux drives cc1, as and ld (fork, execve, pipes, temp
/// files); the program it builds runs the same natively and under mactux.
#[test]
fn gcc_builds_a_program() {
    let dir = ScratchDir::new("gcc");
    std::fs::write(dir.join("hello.c"), "#include <stdio.h>\nint main(void) { puts(\"built under mactux\"); return 3; }\n").unwrap();
    let out = dir.join("hello");
    let src = dir.join("hello.c");
    let build = run_mactux(&Run::cmd(&["/usr/bin/gcc", "-O2", "-o", &out.to_string_lossy(), &src.to_string_lossy()]));
    assert!(build.is_success(), "gcc under mactux failed: {}", build.stderr_str());
    let (native, _) = check_same("hello", &Run::new(&out));
    assert_eq!(native.stdout_str(), "built under mactux\n");
    assert_eq!(native.status, Termination::Exit(3));
}

/// git creates a repository, commits and reads its log.
#[test]
fn git_commits_and_logs() {
    let dir = ScratchDir::new("git");
    let d = dir.path().to_string_lossy().into_owned();
    let script = format!(
        "cd {d} && git init -q . && echo hi > f && git add f && git -c user.email=a@b -c user.name=n commit -qm first && git log --format=%s && git status --short | wc -l"
    );
    let o = run_mactux(&Run::cmd(&["/bin/bash", "-c", &script]));
    assert!(o.is_success(), "{}", o.stderr_str());
    assert_eq!(o.stdout_str(), "first\n0\n");
}

/// /proc/PID/{cmdline,environ,comm,fd,maps} of another (sleeping) task, read
/// through redirections that survive the reader's execve.
#[test]
fn proc_of_another_task() {
    let script = "exec 7</etc/hostname; MARK=here sleep 2 & p=$!; sleep 0.3; tr '\\0' ' ' < /proc/$p/cmdline; echo; \
                  tr '\\0' '\\n' < /proc/$p/environ | grep '^MARK='; cat /proc/$p/comm; readlink /proc/$p/fd/7; \
                  grep -c ' /usr/bin/sleep$' /proc/$p/maps; grep -c ' \\[vdso\\]$' /proc/$p/maps; kill $p";
    let o = run_mactux(&Run::cmd(&["/bin/bash", "-c", script]));
    let out = o.stdout_str();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..4], ["sleep 2 ", "MARK=here", "sleep", "/etc/hostname"], "{out}{}", o.stderr_str());
    // The sleeping task's memory map names its program's segments.
    assert!(lines.get(4).and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n >= 2), "{out}");
    // And its vDSO, as Linux shows it.
    assert_eq!(lines.get(5), Some(&"1"), "no [vdso] line in another task's maps:\n{out}");
}

/// The other procps tools find the namespace's tasks and read live host
/// figures: pgrep and pstree see the shell's background job, top lists it,
/// and vmstat's second sample is a fresh one (a zero-interrupt sample was
/// the sign of a /proc/stat read once and replayed).
#[test]
fn procps_tools_see_tasks_and_live_figures() {
    let script = "sleep 30 & p=$!; \
        [ \"$(pgrep -P $$ -x sleep)\" = \"$p\" ] && echo pgrep-ok; \
        pstree -p $$ | grep -q \"sleep($p)\" && echo pstree-ok; \
        top -b -n1 -p $p | grep -q ' sleep *$' && echo top-ok; \
        vmstat 1 2 | tail -1 | awk '{ print (NF == 17 && $11 > 0) ? \"vmstat-ok\" : \"vmstat: \" $0 }'; \
        free | grep -q '^Mem:' && echo free-ok; \
        kill $p";
    let o = run_mactux(&Run::cmd(&["/bin/bash", "-c", script]));
    assert!(o.is_success(), "{}", o.stderr_str());
    assert_eq!(o.stdout_str(), "pgrep-ok\npstree-ok\ntop-ok\nvmstat-ok\nfree-ok\n", "stderr: {}", o.stderr_str());
}

/// A program joins the session and process group it was started in, as
/// under a shell natively: not leading them, it may call setsid() or
/// setpgid(0, 0); two `mactux run` in one host pipeline share a group.
#[test]
fn a_program_joins_the_session_it_was_started_in() {
    same(&[
        "python3",
        "-c",
        "import os\nprint(os.getpgrp() != os.getpid(), os.getsid(0) != os.getpid())\n\
         os.setsid()\nprint(os.getsid(0) == os.getpid() == os.getpgrp())",
    ]);
    same(&["python3", "-c", "import os\nos.setpgid(0, 0)\nprint(os.getpgrp() == os.getpid(), os.getsid(0) != os.getpid())"]);
    let m = mactux_bin();
    let left = "import os; print(os.getpgrp())";
    let right = "import os, sys; print(sys.stdin.read().strip() == str(os.getpgrp()))";
    let pipeline = format!("{m} run python3 -c '{left}' | {m} run python3 -c '{right}'", m = m.display());
    let o = run_native(&Run::cmd(&["/bin/sh", "-c", &pipeline]));
    assert_eq!(o.stdout_str(), "True\n", "stderr: {}", o.stderr_str());
}

/// The normal scheduling policies are kept across execve (chrt -b/-i run
/// their program), setgroups with the groups a process has succeeds, and
/// an fd of an unlinked file reads " (deleted)" in /proc/self/fd.
#[test]
fn scheduling_groups_and_deleted_files() {
    if !have_program("chrt") {
        assert!(!require_all(), "chrt comes with util-linux");
        return;
    }
    // The temporary file goes to a private directory (TMPDIR), not to /tmp itself.
    let dir = ScratchDir::new("deleted");
    let script = "chrt -b 0 python3 -c 'import os; print(os.sched_getscheduler(0) == os.SCHED_BATCH)'; \
         chrt -i 0 /bin/true && echo idle-ok; \
         python3 -c 'import os; os.setgroups(os.getgroups()); print(\"setgroups ok\")'; \
         python3 -c 'import os, tempfile; f = tempfile.NamedTemporaryFile(); os.unlink(f.name); \
         print(os.readlink(\"/proc/self/fd/%d\" % f.fileno()).endswith(\" (deleted)\"))'";
    check_same("scheduling, setgroups, a deleted file", &Run::cmd(&["/bin/bash", "-c", script]).env("TMPDIR", dir.path()));
}

/// Low resource limits bound the guest, never the runtime: `ulimit -f`
/// (the file size limit, SIGXFSZ and a truncated file) and `ulimit -v`
/// (MemoryError in python, while small programs still start) across exec.
#[test]
fn low_limits_bound_the_guest_only() {
    let dir = ScratchDir::new("limits");
    let out = dir.join("out");
    let script = format!(
        "ulimit -f 1; /bin/echo small; head -c 5000 /dev/zero > {o}; echo status=$?; wc -c < {o}; \
         ulimit -v 1000000; /bin/true && echo true-runs; \
         python3 -c 'import sys\ntry:\n  bytearray(2000 << 20)\nexcept MemoryError:\n  sys.exit(7)'; echo python=$?",
        o = out.display()
    );
    let (native, _) = bash(&script);
    assert_eq!(native.stdout_str(), "small\nstatus=153\n1024\ntrue-runs\npython=7\n");
}

/// Calls that name another task by its pid reach it (renice, taskset,
/// prlimit, chrt), and ps shows its nice value and that it is stopped.
#[test]
fn tools_that_act_on_another_task() {
    if !have_program("prlimit") || !have_program("chrt") {
        assert!(!require_all(), "prlimit and chrt come with util-linux");
        return;
    }
    bash(
        "sleep 5 & p=$!; renice -n 5 -p $p > /dev/null && echo reniced; \
         taskset -p $p | sed 's/[0-9]*.s current/PID current/'; \
         prlimit --pid $p --nofile --noheadings; chrt -p $p | sed 's/[0-9]*.s current/PID current/'; \
         kill -STOP $p; sleep 0.2; ps -o stat=,ni= -p $p; \
         kill -CONT $p; sleep 0.2; ps -o stat=,ni= -p $p; \
         nice -n 3 sh -c 'ps -o ni= -p $$'; kill $p; wait $p; echo $?",
    );
}

/// On a terminal (a pty from `script`), a task's controlling terminal is
/// the host's: `tty` names it under /dev/pts, ps shows it with the `+` of
/// the foreground group, /proc/PID/stat has its device number and the
/// foreground group, and a new session (setsid) has no terminal. (The
/// `N` of a positive nice value is dropped: the suite may run under nice.)
#[test]
fn controlling_terminal_under_a_pty() {
    if !require_tool("/usr/bin/script", "bsdutils") {
        return;
    }
    let dir = ScratchDir::new("ctty");
    let body = "tty | sed 's/[0-9]*$/N/'\n\
        ps -o tty=,stat= -p $$ | sed 's/[0-9][0-9]*/N/; s/ \\([A-Z]\\)N/ \\1/' | tr -s ' '\n\
        set -- $(cut -d' ' -f5,7,8 /proc/$$/stat)\n\
        echo major $(( $2 >> 8 ))\n\
        [ \"$1\" = \"$3\" ] && echo foreground\n\
        setsid sh -c 'cut -d\" \" -f7,8 /proc/self/stat'\n\
        exit 3\n";
    let script = dir.join("t.sh");
    std::fs::write(&script, body).expect("write the script");
    // exec: the program is the session leader script made, as mactux makes
    // its first task the leader of a session in the namespace.
    let inner_native = format!("exec sh {}", script.display());
    let inner_mactux = format!("exec {} run /bin/sh {}", mactux_bin().display(), script.display());
    // The typescripts go to scratch files, not to the host's /dev/null.
    let (ts_native, ts_mactux) = (dir.join("typescript-native"), dir.join("typescript-mactux"));
    let native = run_native(&Run::cmd(&["script", "-qec", &inner_native]).arg(&ts_native));
    let emulated = run_native(&Run::cmd(&["script", "-qec", &inner_mactux]).arg(&ts_mactux));
    assert_eq!(native.stdout_str(), "/dev/pts/N\r\npts/N Ss+\r\nmajor 136\r\nforeground\r\n0 -1\r\n", "native: {}", native.stderr_str());
    assert_same("controlling terminal under script", &native, &emulated, Compare::STDOUT_STATUS);
    assert!(ts_native.exists() && ts_mactux.exists(), "script wrote its typescripts elsewhere");
}

/// python3's pty module: openpty, the line discipline between the ends,
/// ttyname, and pty.fork (forkpty: setsid, TIOCSCTTY, the child's output
/// read through the master), compared with the native run.
#[test]
fn python3_pty_module() {
    let script = r#"
import os, pty
m, s = os.openpty()
print("replica under /dev/pts:", os.ttyname(s).startswith("/dev/pts/"))
print("both ends are terminals:", os.isatty(s), os.isatty(m))
os.write(m, b"hello\n")
print("replica read:", os.read(s, 100))
os.write(s, b"back\n")
# The echo of "hello" and the replica's "back" may arrive in separate reads.
got = b""
while b"back\r\n" not in got:
    got += os.read(m, 100)
print("master read:", got, flush=True)
pid, fd = pty.fork()
if pid == 0:
    print("child on a pty:", os.ttyname(0).startswith("/dev/pts/"), "session leader:", os.getsid(0) == os.getpid(), flush=True)
    os._exit(7)
out = b""
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
print("child said:", out.decode().strip(), "exit:", os.waitstatus_to_exitcode(st))
"#;
    let (native, _) = same(&["/usr/bin/python3", "-c", script]);
    assert!(native.stdout_str().contains("child said: child on a pty: True session leader: True exit: 7"), "{}", native.stdout_str());
}
