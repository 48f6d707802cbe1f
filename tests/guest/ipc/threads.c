// build: -pthread
/* A thread blocked in semop or msgrcv holds up no other thread of its
 * process: the main thread's IPC calls go through while it waits, and
 * wake it. */
#include "../test.h"
#include <pthread.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

static int sem, q;

static void *down(void *arg)
{
	(void)arg;
	struct sembuf s = { 0, -1, 0 };
	return (void *)(long)semop(sem, &s, 1);
}

static void *receive(void *arg)
{
	(void)arg;
	struct { long t; char b[8]; } m;
	long n = msgrcv(q, &m, sizeof m.b, 3, 0);
	return (void *)(n == 3 && m.t == 3 && strcmp(m.b, "hi") == 0 ? 0L : -1L);
}

int main(void)
{
	T_BEGIN();
	sem = semget(IPC_PRIVATE, 1, 0600);
	q = msgget(IPC_PRIVATE, 0600);
	CHECK("objects", sem >= 0 && q >= 0);
	pthread_t t1, t2;
	CHECK_EQ("a thread waits in semop", pthread_create(&t1, NULL, down, NULL), 0);
	int waiting = 0;
	for (int i = 0; i < 2000 && !waiting; i++) {
		waiting = semctl(sem, 0, GETNCNT) == 1;
		if (!waiting)
			usleep(5000);
	}
	CHECK("another thread's semctl sees it waiting", waiting);
	CHECK_EQ("a thread waits in msgrcv", pthread_create(&t2, NULL, receive, NULL), 0);
	usleep(50000);
	struct { long t; char b[8]; } m = { 3, "hi" };
	CHECK_OK("msgsnd while two threads wait", msgsnd(q, &m, 3, 0));
	struct sembuf up = { 0, 1, 0 };
	CHECK_OK("semop up while a thread waits", semop(sem, &up, 1));
	void *r1, *r2;
	pthread_join(t1, &r1);
	pthread_join(t2, &r2);
	CHECK_EQ("the semop thread was woken", (long)r1, 0);
	CHECK_EQ("the msgrcv thread got the message", (long)r2, 0);
	CHECK_OK("semctl IPC_RMID", semctl(sem, 0, IPC_RMID));
	CHECK_OK("msgctl IPC_RMID", msgctl(q, IPC_RMID, NULL));
	T_DONE();
}
