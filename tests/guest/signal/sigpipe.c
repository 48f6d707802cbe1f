// expect: signal 13
/* Writing to a pipe without readers: EPIPE when SIGPIPE is ignored or handled, and
 * death by SIGPIPE under the default action. */
#include "../test.h"
#include <signal.h>

static volatile int caught;
static void on_pipe(int sig) { caught = sig; }

int main(void)
{
	T_BEGIN();
	int fds[2];
	CHECK_OK("pipe", pipe(fds));
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_ERR("ignored SIGPIPE: write fails with EPIPE", write(fds[1], "x", 1), EPIPE);
	signal(SIGPIPE, on_pipe);
	CHECK_ERR("handled SIGPIPE: EPIPE", write(fds[1], "x", 1), EPIPE);
	CHECK_EQ("handler saw SIGPIPE", caught, SIGPIPE);
	signal(SIGPIPE, SIG_DFL);
	fflush(stdout);
	ssize_t r = write(fds[1], "x", 1);
	printf("FAIL still alive after write returned %zd\n", r);
	return 1;
}
