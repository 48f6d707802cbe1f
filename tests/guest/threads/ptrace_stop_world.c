// build: -pthread
/* LeakSanitizer's stop-the-world: a CLONE_VM child (not a thread) attaches
 * with ptrace to each thread of its parent, waits for its SIGSTOP stop,
 * reads its registers and a word of memory, and detaches. The main thread
 * spins on sched_yield meanwhile; another thread is blocked in read(),
 * which is restarted after the stop and returns the byte written later,
 * not EINTR. Every wait is bounded. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef NT_PRSTATUS
#define NT_PRSTATUS 1
#endif

static volatile int go, done;
static volatile pid_t reader_tid;
static volatile uintptr_t main_sp;
static uint64_t marker = 0x1122334455667788ull;
static int fds[2];
static volatile long reader_result = -2;
static volatile int reader_errno;
/* What the tracer saw, reported by the parent once it is done. */
static char report[1024];
static int report_len;

static void note(const char *s) {
    size_t n = strlen(s);
    if (report_len + n < sizeof report) {
        memcpy(report + report_len, s, n);
        report_len += n;
    }
}

static long sys(long nr, long a, long b, long c, long d) {
    return syscall(nr, a, b, c, d);
}

/* Runs in the tracer: raw syscalls only (it shares the parent's TLS). */
static int stop_one(pid_t tid, int is_main) {
    if (sys(SYS_ptrace, PTRACE_ATTACH, tid, 0, 0) != 0) {
        note("FAIL attach\n");
        return 0;
    }
    for (;;) {
        int status = 0;
        long r = sys(SYS_wait4, tid, (long)&status, __WALL, 0);
        if (r != tid) {
            note("FAIL wait4 on the tracee\n");
            return 0;
        }
        if (WIFSTOPPED(status) && WSTOPSIG(status) != SIGSTOP) {
            sys(SYS_ptrace, PTRACE_CONT, tid, 0, WSTOPSIG(status));
            continue;
        }
        if (!WIFSTOPPED(status))
            note("FAIL not stopped\n");
        break;
    }
    struct user_regs_struct regs;
    memset(&regs, 0, sizeof regs);
    if (sys(SYS_ptrace, PTRACE_GETREGS, tid, 0, (long)&regs) != 0)
        note("FAIL GETREGS\n");
    if (is_main) {
        uintptr_t d = regs.rsp > main_sp ? regs.rsp - main_sp : main_sp - regs.rsp;
        if (d > 65536)
            note("FAIL the main thread's rsp is not near its stack\n");
    }
    struct user_regs_struct set;
    struct iovec iov = { &set, sizeof set + 64 };
    if (sys(SYS_ptrace, PTRACE_GETREGSET, tid, NT_PRSTATUS, (long)&iov) != 0 || iov.iov_len != sizeof set)
        note("FAIL GETREGSET NT_PRSTATUS\n");
    else if (set.rip != regs.rip || set.rsp != regs.rsp)
        note("FAIL GETREGSET differs from GETREGS\n");
    uint64_t word = 0;
    if (sys(SYS_ptrace, PTRACE_PEEKDATA, tid, (long)&marker, (long)&word) != 0 || word != marker)
        note("FAIL PEEKDATA\n");
    return 1;
}

static int tracer(void *arg) {
    (void)arg;
    while (!go)
        sys(SYS_sched_yield, 0, 0, 0, 0);
    pid_t parent = sys(SYS_getppid, 0, 0, 0, 0);
    int a = stop_one(parent, 1);
    int b = stop_one(reader_tid, 0);
    if (a)
        sys(SYS_ptrace, PTRACE_DETACH, parent, 0, 0);
    if (b)
        sys(SYS_ptrace, PTRACE_DETACH, reader_tid, 0, 0);
    /* Not traced any more: asking for its registers is ESRCH. */
    struct user_regs_struct regs;
    if (sys(SYS_ptrace, PTRACE_GETREGS, parent, 0, (long)&regs) != -1 || errno != ESRCH)
        note("FAIL GETREGS after detach is not ESRCH\n");
    done = 1;
    return 0;
}

static void *reader(void *arg) {
    (void)arg;
    reader_tid = gettid();
    char b;
    long r = read(fds[0], &b, 1);
    reader_errno = errno;
    reader_result = r == 1 ? b : r;
    return NULL;
}

int main(void) {
    if (pipe(fds)) {
        perror("pipe");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    while (!reader_tid)
        usleep(1000);
    usleep(50000); /* into its read */
    size_t size = 256 * 1024;
    char *stack = malloc(size);
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = clone(tracer, stack + size, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        perror("clone");
        return 1;
    }
    prctl(PR_SET_PTRACER, pid, 0, 0, 0);
    int here;
    main_sp = (uintptr_t)&here;
    go = 1;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!done) {
        sched_yield();
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20) {
            printf("FAIL the tracer did not finish\n");
            return 1;
        }
    }
    int status;
    if (waitpid(pid, &status, __WALL) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("FAIL the tracer's exit\n");
    if (write(fds[1], "z", 1) != 1)
        perror("write");
    pthread_join(t, NULL);
    if (reader_result != 'z')
        printf("FAIL the reader's read gave %ld (errno %d), not the byte\n", reader_result, reader_errno);
    fwrite(report, 1, report_len, stdout);
    int failed = report_len != 0 || reader_result != 'z';
    printf("%s\n", failed ? "FAILED" : "ok");
    return failed;
}
