/* A task's new fds show in its /proc/PID/fd also while it never sleeps:
 * the child makes a pipe, moves it to fd 200, then only writes a byte to
 * another pipe of its own and reads it back, in a loop (every read finds
 * data at once). The parent looks for /proc/CHILD/fd/200, every 10 ms for
 * at most 10 s, then tells the child to stop through shared memory (a
 * read that would wait is what the child must not make). */
#include "../test.h"
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define NEW_FD 200

struct shared {
	atomic_int opened;
	atomic_int stop;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int busy_child(struct shared *sh)
{
	int p[2], loop[2];
	if (pipe(p) != 0 || dup2(p[0], NEW_FD) != NEW_FD || pipe(loop) != 0)
		return 2;
	atomic_store(&sh->opened, 1);
	double end = now_s() + 15;
	char c = 'x';
	while (!atomic_load(&sh->stop) && now_s() < end) {
		if (write(loop[1], &c, 1) != 1 || read(loop[0], &c, 1) != 1)
			return 3;
	}
	return atomic_load(&sh->stop) ? 0 : 4;
}

int main(void)
{
	T_BEGIN();
	struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK("shared page", sh != MAP_FAILED);
	if (sh == MAP_FAILED)
		T_DONE();
	pid_t pid = fork();
	if (pid == 0)
		_exit(busy_child(sh));
	CHECK("fork", pid > 0);
	if (pid < 0)
		T_DONE();
	double end = now_s() + 10;
	while (!atomic_load(&sh->opened) && now_s() < end)
		usleep(1000);
	char link[64], target[64];
	snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, NEW_FD);
	ssize_t n = -1;
	while (now_s() < end) {
		n = readlink(link, target, sizeof target - 1);
		if (n > 0)
			break;
		usleep(10000);
	}
	if (n > 0)
		target[n] = 0;
	CHECK("the busy child's new fd shows in /proc", n > 0);
	CHECK("and names a pipe", n > 0 && strncmp(target, "pipe:[", 6) == 0);
	atomic_store(&sh->stop, 1);
	int st = 0;
	CHECK_EQ("waitpid", waitpid(pid, &st, 0), pid);
	CHECK_EQ("the child's exit status", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), 0);
	T_DONE();
}
