/* A signal handler interrupts a blocked semop and msgrcv with EINTR, with
 * and without SA_RESTART (these calls are never restarted, signal(7)). */
#include "../test.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>

static volatile sig_atomic_t caught;
static void on_usr1(int sig) { caught = sig; }

/* Runs `wait` in a child with a SIGUSR1 handler (flags `sa_flags`); the
 * parent signals it once `is_waiting` says it waits. Returns the child's status. */
static int interrupt(int (*wait)(int), int id, int (*is_waiting)(int), int sa_flags)
{
	pid_t c = fork();
	if (c == 0) {
		struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = sa_flags };
		sigaction(SIGUSR1, &sa, NULL);
		alarm(20); /* bounds the wait should the signal come too early */
		int r = wait(id);
		_exit(r == -1 && errno == EINTR && caught == SIGUSR1 ? 0 : 1);
	}
	for (int i = 0; i < 2000 && !is_waiting(id); i++)
		usleep(5000);
	usleep(10000);
	kill(c, SIGUSR1);
	int st;
	waitpid(c, &st, 0);
	return st;
}

static int sem_down(int id)
{
	struct sembuf s = { 0, -1, 0 };
	return semop(id, &s, 1);
}
static int sem_waits(int id) { return semctl(id, 0, GETNCNT) == 1; }

static int msg_wait(int id)
{
	struct { long t; char b[8]; } m;
	return msgrcv(id, &m, sizeof m.b, 0, 0);
}
static int msg_waits(int id)
{
	/* Linux counts no receivers: give the child time to block. */
	(void)id;
	usleep(100000);
	return 1;
}

int main(void)
{
	T_BEGIN();
	int s = semget(IPC_PRIVATE, 1, 0600);
	CHECK_OK("semget", s);
	int st = interrupt(sem_down, s, sem_waits, 0);
	CHECK("semop interrupted: EINTR", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = interrupt(sem_down, s, sem_waits, SA_RESTART);
	CHECK("semop with SA_RESTART: still EINTR", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ("no waiter is left", semctl(s, 0, GETNCNT), 0);
	CHECK_EQ("the semaphore is untouched", semctl(s, 0, GETVAL), 0);
	CHECK_OK("semctl IPC_RMID", semctl(s, 0, IPC_RMID));

	int q = msgget(IPC_PRIVATE, 0600);
	CHECK_OK("msgget", q);
	st = interrupt(msg_wait, q, msg_waits, 0);
	CHECK("msgrcv interrupted: EINTR", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = interrupt(msg_wait, q, msg_waits, SA_RESTART);
	CHECK("msgrcv with SA_RESTART: still EINTR", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct msqid_ds ds;
	CHECK_OK("IPC_STAT", msgctl(q, IPC_STAT, &ds));
	CHECK_EQ("the queue is empty", ds.msg_qnum, 0);
	CHECK_OK("msgctl IPC_RMID", msgctl(q, IPC_RMID, NULL));
	T_DONE();
}
