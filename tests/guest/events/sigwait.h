/* Taking blocked signals one at a time with sigtimedwait, for the tests here that
 * count the signals an event sends (signal-driven I/O, dnotify). The
 * caller blocks the signals first (block_signal). */
#ifndef MACTUX_SIGWAIT_H
#define MACTUX_SIGWAIT_H

#include <signal.h>
#include <string.h>
#include <time.h>

/* Blocks `sig` in the calling thread, so that it waits to be taken. */
static inline void block_signal(int sig)
{
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_BLOCK, &one, NULL);
}

/* The next `sig`, waiting at most 5 s: its number, or -1. */
static inline int take(int sig, siginfo_t *si)
{
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	struct timespec ts = { 5, 0 };
	memset(si, 0, sizeof *si);
	return sigtimedwait(&one, si, &ts);
}

/* Whether another `sig` comes within 0.3 s (taking it). */
static inline int another(int sig)
{
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	siginfo_t si;
	return sigtimedwait(&one, &si, &ts) == sig;
}

/* Takes every `sig` still coming. */
static inline void drain(int sig)
{
	while (another(sig))
		;
}

#endif
