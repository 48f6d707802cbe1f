/* Bare Syscall User Dispatch trap: the floor for any SUD-based design.
 *
 * The program arms SUD (prctl PR_SET_SYSCALL_USER_DISPATCH) with a selector
 * byte, then calls syscall(SYS_getpid) N times with the selector at BLOCK.
 * Every call raises SIGSYS; the handler does nothing but set rax = 0 in the
 * ucontext and return with an rt_sigreturn issued from the one region SUD
 * lets through. The cost per call is the cost of trap + signal delivery +
 * the minimal handler + rt_sigreturn, i.e. what a trap-based runtime can
 * never go below.
 *
 * Handler entry/exit is an assembly trampoline (sud_entry):
 *   entry:  selector = ALLOW (0)          -- the handler may now make syscalls
 *           push %rdx; call C part        -- rdi/rsi/rdx = sig, siginfo, ucontext
 *           pop  %rdx
 *           selector = BLOCK (1)          -- re-arm before returning to guest
 *           lea 8(%rsp),%rsp              -- skip the restorer return address;
 *                                            rsp now points at the ucontext,
 *                                            as rt_sigreturn expects
 *           mov $15,%eax; syscall         -- rt_sigreturn, inside the allowed
 *                                            region [sud_allow_start, sud_allow_end)
 * The kernel tests the address *after* the syscall instruction against the
 * region, so the region must extend past the instruction (a ud2 follows it).
 *
 * usage: bare_sud [N] [allow]
 *   default: trap mode. Verifies that the handler ran exactly N times and
 *            that every call returned the handler's 0 (not the real pid).
 *   "allow": SUD armed but selector left at ALLOW the whole time: syscalls
 *            pass straight to the kernel; shows the cost SUD adds to a
 *            syscall that is not trapped.
 * output: "bare_sud: mode=<m> N=<n> total_ns=<t> ns_per_call=<x> traps=<k>"
 * Exit status 0 only if the trap count matches the mode.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "timing.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#endif
#ifndef PR_SYS_DISPATCH_OFF
#define PR_SYS_DISPATCH_OFF 0
#endif
#ifndef PR_SYS_DISPATCH_ON
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#endif
#ifndef SYSCALL_DISPATCH_FILTER_BLOCK
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2 /* si_code of a SUD SIGSYS */
#endif

/* Read and written by the trampoline; the kernel reads it on every syscall. */
volatile unsigned char sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
volatile unsigned long sud_traps;     /* SUD SIGSYS for getpid */
volatile unsigned long sud_unexpected; /* any other SIGSYS */

void sud_entry(int, siginfo_t *, void *);
extern const char sud_allow_start[], sud_allow_end[];

__asm__(
    "    .text\n"
    "    .globl sud_entry\n"
    "    .type  sud_entry,@function\n"
    "sud_entry:\n"
    "    movb $0, sud_selector(%rip)\n"   /* ALLOW */
    "    push %rdx\n"                     /* keeps rsp 16-byte aligned for the call */
    "    call sud_handler_c\n"
    "    pop  %rdx\n"
    "    movb $1, sud_selector(%rip)\n"   /* BLOCK */
    "    lea  8(%rsp), %rsp\n"            /* past pretcode: rsp = &ucontext */
    "    mov  $15, %eax\n"                /* __NR_rt_sigreturn */
    "    .globl sud_allow_start\n"
    "sud_allow_start:\n"
    "    syscall\n"
    "    ud2\n"                           /* never reached; keeps the address after syscall in the region */
    "    .globl sud_allow_end\n"
    "sud_allow_end:\n"
    "    .size sud_entry, .-sud_entry\n");

/* The C part: the whole "emulation" is rax = 0. */
__attribute__((used)) void sud_handler_c(int sig, siginfo_t *info, ucontext_t *uc)
{
    (void)sig;
    if (info->si_code == SYS_USER_DISPATCH && info->si_syscall == SYS_getpid)
        sud_traps++;
    else
        sud_unexpected++;
    uc->uc_mcontext.gregs[REG_RAX] = 0;
}

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 1000000L, "bare_sud");
    int allow_mode = argc > 2 && strcmp(argv[2], "allow") == 0;

    static char altstack[1 << 16] __attribute__((aligned(64)));
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0) {
        perror("sigaltstack");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sud_entry;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0) {
        perror("sigaction");
        return 1;
    }

    unsigned long off = (unsigned long)sud_allow_start;
    unsigned long len = (unsigned long)(sud_allow_end - sud_allow_start);
    sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
    if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, off, len,
              &sud_selector) != 0) {
        perror("prctl(PR_SET_SYSCALL_USER_DISPATCH)");
        return 1;
    }

    long sink = 0;
    long long t0 = now_ns(); /* vDSO: no syscall, but ALLOW anyway */
    if (!allow_mode)
        sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
    for (long i = 0; i < n; i++)
        sink += syscall(SYS_getpid);
    sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
    long long t1 = now_ns();

    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);

    unsigned long want = allow_mode ? 0 : (unsigned long)n;
    int ok = sud_traps == want && sud_unexpected == 0 &&
             (allow_mode ? sink == (long)getpid() * n : sink == 0);
    printf("bare_sud: mode=%s N=%ld total_ns=%lld ns_per_call=%.2f traps=%lu\n",
           allow_mode ? "allow" : "trap", n, t1 - t0,
           (double)(t1 - t0) / (double)n, sud_traps);
    if (!ok) {
        fprintf(stderr, "bare_sud: FAILED: traps=%lu (want %lu) unexpected=%lu sink=%ld\n",
                sud_traps, want, sud_unexpected, sink);
        return 1;
    }
    return 0;
}
