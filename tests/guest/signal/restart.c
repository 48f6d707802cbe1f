/* A read on an empty pipe interrupted by a timer signal: restarted with SA_RESTART,
 * EINTR without it; nanosleep and pause return EINTR; alarm and getitimer report time. */
#include "../test.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>

static int fds[2];
static volatile int fired;

static void on_alarm(int sig)
{
	(void)sig;
	fired++;
	if (write(fds[1], "x", 1) != 1)
		fired = -100;
}

static void on_alarm_quiet(int sig) { (void)sig; fired++; }

static void arm_ms(int ms)
{
	struct itimerval it = { { 0, 0 }, { 0, ms * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
	T_BEGIN();
	CHECK_OK("pipe", pipe(fds));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	char c = 0;
	arm_ms(50);
	CHECK_EQ("SA_RESTART: the read restarts and gets the handler's byte", read(fds[0], &c, 1), 1);
	CHECK_EQ("handler ran once", fired, 1);

	sa.sa_handler = on_alarm_quiet;
	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);
	fired = 0;
	arm_ms(50);
	CHECK_ERR("no SA_RESTART: read fails with EINTR", read(fds[0], &c, 1), EINTR);
	CHECK_EQ("handler ran", fired, 1);

	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	fired = 0;
	arm_ms(50);
	struct timespec ts = { 5, 0 }, rem = { 0, 0 };
	CHECK_ERR("nanosleep returns EINTR even with SA_RESTART", nanosleep(&ts, &rem), EINTR);
	CHECK("nanosleep reports the time left", rem.tv_sec >= 3 && rem.tv_sec <= 5);

	fired = 0;
	arm_ms(50);
	CHECK_ERR("pause returns EINTR", pause(), EINTR);
	CHECK_EQ("pause: handler ran", fired, 1);

	CHECK_EQ("alarm with none armed returns 0", alarm(100), 0);
	CHECK_EQ("alarm returns the seconds left", alarm(0), 100);
	struct itimerval it = { { 0, 0 }, { 30, 0 } }, cur;
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_OK("getitimer", getitimer(ITIMER_REAL, &cur));
	CHECK("getitimer shows the armed timer", cur.it_value.tv_sec >= 29 && cur.it_value.tv_sec <= 30);
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, &cur);
	CHECK("setitimer returns the old value", cur.it_value.tv_sec >= 29);
	CHECK_ERR("setitimer bad which -> EINVAL", setitimer(7, &it, NULL), EINVAL);
	T_DONE();
}
