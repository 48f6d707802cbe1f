/*
 * A forked child is a task from its first instruction, and a reaped one is
 * gone at once: its getpid is what fork returned, its parent sees it in
 * /proc and can signal it while it runs, and right after waitpid the pid
 * names nothing (kill, getpgid, /proc, a second wait). Repeated, since the
 * runtime tells the daemon of a fork, an exit and a reap in the background.
 */
#include "../test.h"
#include <signal.h>
#include <sys/wait.h>

#define ROUNDS 30

int main(void)
{
	T_BEGIN();
	pid_t me = getpid();
	int pid_ok = 1, ppid_ok = 1, alive_ok = 1, proc_ok = 1, status_ok = 1;
	int kill_gone = 1, pgid_gone = 1, proc_gone = 1, rewait_gone = 1, vfork_ok = 1;
	for (int i = 0; i < ROUNDS; i++) {
		int info[2], go[2];
		if (pipe(info) || pipe(go)) {
			printf("FAIL pipe\n");
			return 1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			printf("FAIL fork\n");
			return 1;
		}
		if (pid == 0) {
			pid_t ids[2] = { getpid(), getppid() };
			char c;
			if (write(info[1], ids, sizeof ids) != sizeof ids || read(go[0], &c, 1) != 1)
				_exit(100);
			_exit(i);
		}
		close(info[1]);
		close(go[0]);
		pid_t ids[2] = { 0, 0 };
		if (read(info[0], ids, sizeof ids) != sizeof ids)
			pid_ok = 0;
		pid_ok &= ids[0] == pid;
		ppid_ok &= ids[1] == me;
		alive_ok &= kill(pid, 0) == 0;
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "r");
		int ppid = -1;
		if (!f || fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1)
			proc_ok = 0;
		if (f)
			fclose(f);
		proc_ok &= ppid == me;
		if (write(go[1], "x", 1) != 1)
			status_ok = 0;
		int st = -1;
		status_ok &= waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == i;
		errno = 0;
		kill_gone &= kill(pid, 0) == -1 && errno == ESRCH;
		errno = 0;
		pgid_gone &= getpgid(pid) == -1 && errno == ESRCH;
		snprintf(path, sizeof path, "/proc/%d", (int)pid);
		errno = 0;
		proc_gone &= access(path, F_OK) == -1 && errno == ENOENT;
		errno = 0;
		rewait_gone &= waitpid(pid, &st, WNOHANG) == -1 && errno == ECHILD;
		close(info[0]);
		close(go[1]);

		/* vfork + _exit: what posix_spawn does when the exec fails. */
		pid_t v = vfork();
		if (v == 0)
			_exit(3);
		st = -1;
		vfork_ok &= v > 0 && waitpid(v, &st, 0) == v && WIFEXITED(st) && WEXITSTATUS(st) == 3;
		errno = 0;
		vfork_ok &= kill(v, 0) == -1 && errno == ESRCH;
	}
	CHECK("the child's getpid is what fork returned", pid_ok);
	CHECK("the child's getppid is the parent", ppid_ok);
	CHECK("a running child can be signalled", alive_ok);
	CHECK("a running child is in /proc with its parent", proc_ok);
	CHECK("waitpid returns the child's exit status", status_ok);
	CHECK("a reaped child: kill -> ESRCH", kill_gone);
	CHECK("a reaped child: getpgid -> ESRCH", pgid_gone);
	CHECK("a reaped child: /proc/PID is gone", proc_gone);
	CHECK("a reaped child: waitpid again -> ECHILD", rewait_gone);
	CHECK("a vfork child's exit is reaped and gone", vfork_ok);
	T_DONE();
}
