/* Single-steps a command and prints, in the order they first run, the
 * addresses of the instructions it executes inside its own executable, as
 * offsets into that file. Only the first process is followed (its fork
 * children are not), across its execve.
 *
 * usage: stepper OUT COMMAND [ARGS...]
 *
 * Used by scripts/text-order.sh to find the runtime code that a task's
 * start-up and common calls run, so that the linker can place it together. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct map {
	unsigned long lo, hi, off;
};
static struct map maps[64];
static int nmaps;

/* The executable mappings of the process's own executable. */
static void load_maps(pid_t pid)
{
	char path[64], exe[4096], line[5000];
	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	ssize_t n = readlink(path, exe, sizeof exe - 1);
	nmaps = 0;
	if (n <= 0)
		return;
	exe[n] = 0;
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi, off;
		char perms[8], name[4096] = "";
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095[^\n]", &lo, &hi, perms, &off, name) >= 4 && perms[2] == 'x' &&
		    strcmp(name, exe) == 0 && nmaps < 64)
			maps[nmaps++] = (struct map){ lo, hi, off };
	}
	if (f)
		fclose(f);
}

#define OFFSET_LIMIT (1ul << 28)
static unsigned char seen[OFFSET_LIMIT / 8];

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: stepper OUT COMMAND [ARGS...]\n");
		return 2;
	}
	FILE *out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st))
		return 1;
	ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
	load_maps(pid);
	long steps = 0;
	int sig = 0;
	for (;;) {
		if (ptrace(PTRACE_SINGLESTEP, pid, 0, (void *)(long)sig) < 0)
			break;
		if (waitpid(pid, &st, 0) < 0 || WIFEXITED(st) || WIFSIGNALED(st))
			break;
		sig = 0;
		if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
			load_maps(pid);
			continue;
		}
		if (WSTOPSIG(st) != SIGTRAP)
			sig = WSTOPSIG(st);
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, pid, 0, &r) < 0)
			break;
		steps++;
		for (int i = 0; i < nmaps; i++) {
			if (r.rip < maps[i].lo || r.rip >= maps[i].hi)
				continue;
			unsigned long o = r.rip - maps[i].lo + maps[i].off;
			if (o < OFFSET_LIMIT && !(seen[o / 8] & (1 << (o % 8)))) {
				seen[o / 8] |= 1 << (o % 8);
				fprintf(out, "%lx\n", o);
			}
		}
	}
	fclose(out);
	fprintf(stderr, "stepper: %ld steps\n", steps);
	return 0;
}
