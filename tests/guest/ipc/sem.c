/* System V semaphores: semget, semop, semtimedop, semctl; errors, waits
 * across fork, GETNCNT/GETZCNT/GETPID, SEM_UNDO at exit, EIDRM. */
#include "../test.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int op(int id, int num, int delta, int flags)
{
	struct sembuf s = { .sem_num = num, .sem_op = delta, .sem_flg = flags };
	return semop(id, &s, 1);
}

/* Waits (bounded) until `cmd` on semaphore 0 reports `want`. */
static int wait_for(int id, int cmd, int want)
{
	for (int i = 0; i < 2000; i++) {
		if (semctl(id, 0, cmd) == want)
			return 1;
		usleep(5000);
	}
	return 0;
}

int main(void)
{
	T_BEGIN();
	key_t key = 0x4d550000 + (getpid() & 0xffff);
	CHECK_ERR("semget of a missing key", semget(key, 1, 0600), ENOENT);
	CHECK_ERR("semget of 0 semaphores for a new set", semget(key, 0, IPC_CREAT | 0600), EINVAL);
	CHECK_ERR("semget of a negative count", semget(key, -1, IPC_CREAT | 0600), EINVAL);
	int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
	CHECK_OK("semget IPC_CREAT|IPC_EXCL", id);
	CHECK_ERR("IPC_EXCL of an existing key", semget(key, 3, IPC_CREAT | IPC_EXCL), EEXIST);
	CHECK_ERR("more semaphores than the set has", semget(key, 4, 0), EINVAL);
	CHECK_EQ("semget of the key with 0 semaphores", semget(key, 0, 0), id);

	struct semid_ds ds;
	union semun arg = { .buf = &ds };
	CHECK_OK("IPC_STAT", semctl(id, 0, IPC_STAT, arg));
	CHECK_EQ("sem_nsems", ds.sem_nsems, 3);
	CHECK_EQ("sem_otime before any semop", ds.sem_otime, 0);
	CHECK_EQ("mode", ds.sem_perm.mode & 0777, 0600);

	CHECK_EQ("a new semaphore is 0", semctl(id, 1, GETVAL), 0);
	arg.val = 5;
	CHECK_OK("SETVAL", semctl(id, 1, SETVAL, arg));
	CHECK_EQ("GETVAL", semctl(id, 1, GETVAL), 5);
	CHECK_EQ("GETPID after SETVAL", semctl(id, 1, GETPID), getpid());
	arg.val = -1;
	CHECK_ERR("SETVAL below 0", semctl(id, 1, SETVAL, arg), ERANGE);
	arg.val = 32768;
	CHECK_ERR("SETVAL above SEMVMX", semctl(id, 1, SETVAL, arg), ERANGE);
	arg.val = 1;
	CHECK_ERR("SETVAL beyond the set", semctl(id, 3, SETVAL, arg), EINVAL);
	CHECK_ERR("GETVAL beyond the set", semctl(id, 3, GETVAL), EINVAL);
	unsigned short all[3] = { 1, 2, 3 };
	arg.array = all;
	CHECK_OK("SETALL", semctl(id, 0, SETALL, arg));
	unsigned short got[3] = { 0 };
	arg.array = got;
	CHECK_OK("GETALL", semctl(id, 0, GETALL, arg));
	CHECK("GETALL values", got[0] == 1 && got[1] == 2 && got[2] == 3);
	CHECK_ERR("an unknown command", semctl(id, 0, 99), EINVAL);

	/* semop: all or nothing, errors. */
	struct sembuf two[2] = { { 0, -1, 0 }, { 1, -5, IPC_NOWAIT } };
	CHECK_ERR("a blocked operation with IPC_NOWAIT", semop(id, two, 2), EAGAIN);
	CHECK_EQ("nothing was applied", semctl(id, 0, GETVAL), 1);
	struct sembuf ok2[2] = { { 0, -1, 0 }, { 2, 4, 0 } };
	CHECK_OK("two operations at once", semop(id, ok2, 2));
	CHECK("both applied", semctl(id, 0, GETVAL) == 0 && semctl(id, 2, GETVAL) == 7);
	CHECK_ERR("sem_num beyond the set", op(id, 3, 1, 0), EFBIG);
	CHECK_ERR("no operations", semop(id, ok2, 0), EINVAL);
	static struct sembuf many[501];
	CHECK_ERR("more than SEMOPM operations", semop(id, many, 501), E2BIG);
	CHECK_ERR("a result above SEMVMX", op(id, 0, 32767, 0) == 0 ? op(id, 0, 1, 0) : -2, ERANGE);
	arg.val = 0;
	semctl(id, 0, SETVAL, arg);
	int gone = semget(IPC_PRIVATE, 1, 0600);
	CHECK_OK("IPC_RMID of an unused set", semctl(gone, 0, IPC_RMID));
	CHECK_ERR("a removed id", op(gone, 0, 1, 0), EINVAL);
	CHECK_ERR("wait-for-zero with IPC_NOWAIT", op(id, 2, 0, IPC_NOWAIT), EAGAIN);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct sembuf down = { 0, -1, 0 };
	CHECK_ERR("semtimedop times out with EAGAIN", semtimedop(id, &down, 1, &ts), EAGAIN);
	ts.tv_nsec = -1;
	CHECK_ERR("semtimedop with a bad timeout", semtimedop(id, &down, 1, &ts), EINVAL);
	CHECK_OK("IPC_STAT after the semops", semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }));
	CHECK("sem_otime set by a semop", ds.sem_otime != 0);

	/* A child blocks; GETNCNT sees it; the parent's up wakes it. */
	pid_t c = fork();
	if (c == 0)
		_exit(op(id, 0, -1, 0) == 0 ? 0 : 1);
	CHECK("GETNCNT counts the waiting child", wait_for(id, GETNCNT, 1));
	CHECK_OK("up", op(id, 0, 1, 0));
	int st;
	waitpid(c, &st, 0);
	CHECK("the child's down completed", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ("GETPID names the child", semctl(id, 0, GETPID), c);
	CHECK_EQ("GETNCNT after the wake", semctl(id, 0, GETNCNT), 0);

	/* Wait for zero: GETZCNT. */
	c = fork();
	if (c == 0)
		_exit(op(id, 2, 0, 0) == 0 ? 0 : 1);
	for (int i = 0; i < 2000 && semctl(id, 2, GETZCNT) != 1; i++)
		usleep(5000);
	CHECK_EQ("GETZCNT", semctl(id, 2, GETZCNT), 1);
	arg.val = 0;
	CHECK_OK("SETVAL 0 wakes the zero waiter", semctl(id, 2, SETVAL, arg));
	waitpid(c, &st, 0);
	CHECK("the zero wait completed", WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* SEM_UNDO is applied when the process exits. */
	arg.val = 2;
	semctl(id, 1, SETVAL, arg);
	c = fork();
	if (c == 0) {
		if (op(id, 1, -2, SEM_UNDO) != 0 || op(id, 0, 3, SEM_UNDO) != 0)
			_exit(1);
		_exit(0);
	}
	waitpid(c, &st, 0);
	CHECK("the child's operations", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ("SEM_UNDO gave back the decrement", semctl(id, 1, GETVAL), 2);
	CHECK_EQ("SEM_UNDO took back the increment", semctl(id, 0, GETVAL), 0);
	CHECK_EQ("GETPID after the undo names the child", semctl(id, 1, GETPID), c);

	/* IPC_SET, then IPC_RMID wakes a waiter with EIDRM. */
	CHECK_OK("IPC_STAT", semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }));
	ds.sem_perm.mode = 0640;
	CHECK_OK("IPC_SET", semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }));
	CHECK_OK("IPC_STAT after IPC_SET", semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }));
	CHECK_EQ("IPC_SET changed the mode", ds.sem_perm.mode & 0777, 0640);
	c = fork();
	if (c == 0)
		_exit(op(id, 0, -1, 0) == -1 && errno == EIDRM ? 0 : 1);
	CHECK("the child waits", wait_for(id, GETNCNT, 1));
	CHECK_OK("IPC_RMID", semctl(id, 0, IPC_RMID));
	waitpid(c, &st, 0);
	CHECK("the waiter got EIDRM", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_ERR("the id is gone", semctl(id, 0, GETVAL), EINVAL);

	struct seminfo si;
	CHECK("IPC_INFO", semctl(0, 0, IPC_INFO, (union semun){ .buf = (struct semid_ds *)&si }) >= 0);
	CHECK("IPC_INFO semvmx", si.semvmx == 32767);
	T_DONE();
}
