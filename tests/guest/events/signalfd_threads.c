// build: -pthread
/* signalfd and threads: a signal sent to one thread (pthread_kill) is read
 * and seen ready only by that thread, one sent to the process by any; a
 * thread asleep in poll on a signalfd wakes when a signal of its set is
 * sent, though every thread blocks it. The polls that sleep have no
 * timeout: if nothing wakes them, the alarm() watchdog fails the program. */
#include "../test.h"
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>

static int fd;
static pthread_barrier_t bar;
static volatile int step_result[8];

static void *worker(void *arg)
{
	(void)arg;
	struct signalfd_siginfo si;
	struct pollfd p = {fd, POLLIN, 0};
	/* 1: main sent SIGUSR1 to this thread. */
	pthread_barrier_wait(&bar);
	step_result[0] = poll(&p, 1, 0);
	step_result[1] = read(fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1 && si.ssi_code == SI_TKILL;
	pthread_barrier_wait(&bar);
	/* 2: sleep in poll; main sends SIGUSR2 to the process. */
	pthread_barrier_wait(&bar);
	step_result[2] = poll(&p, 1, -1);
	step_result[3] = read(fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR2 && si.ssi_code == SI_USER;
	/* 3: sleep in poll; main sends SIGUSR1 to this thread. */
	pthread_barrier_wait(&bar);
	step_result[4] = poll(&p, 1, -1);
	step_result[5] = read(fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1;
	return NULL;
}

int main(void)
{
	T_BEGIN();
	alarm(30);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	fd = signalfd(-1, &s, SFD_NONBLOCK);
	CHECK_OK("signalfd", fd);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t th;
	CHECK_EQ("pthread_create", pthread_create(&th, NULL, worker, NULL), 0);

	struct signalfd_siginfo si;
	struct pollfd p = {fd, POLLIN, 0};
	/* 1 */
	CHECK_EQ("pthread_kill", pthread_kill(th, SIGUSR1), 0);
	CHECK_EQ("another thread's signal: not ready here", poll(&p, 1, 0), 0);
	CHECK_ERR("another thread's signal: EAGAIN here", read(fd, &si, sizeof si), EAGAIN);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	CHECK_EQ("the target thread sees it ready", step_result[0], 1);
	CHECK_EQ("the target thread reads it (SI_TKILL)", step_result[1], 1);

	/* 2 */
	pthread_barrier_wait(&bar);
	t_pause_ms(30);
	kill(getpid(), SIGUSR2);
	/* 3 */
	pthread_barrier_wait(&bar);
	CHECK_EQ("a process signal wakes the thread's poll", step_result[2], 1);
	CHECK_EQ("the thread reads it (SI_USER)", step_result[3], 1);
	t_pause_ms(30);
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	CHECK_EQ("a thread signal wakes that thread's poll", step_result[4], 1);
	CHECK_EQ("the thread reads it", step_result[5], 1);

	/* A process signal is readable by any thread, here the main one. */
	kill(getpid(), SIGUSR2);
	CHECK_EQ("process signal: ready in main", poll(&p, 1, 0), 1);
	CHECK_EQ("process signal: read in main", read(fd, &si, sizeof si), (long)sizeof si);
	T_DONE();
}
