/* System V message queues: msgget, msgsnd, msgrcv, msgctl; message types,
 * MSG_EXCEPT, MSG_NOERROR, errors, waits across fork, EIDRM. */
#include "../test.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>

#ifndef MSG_EXCEPT
#define MSG_EXCEPT 020000
#endif

struct m {
	long mtype;
	char text[64];
};

static int snd(int q, long type, const char *s, int flags)
{
	struct m b = { .mtype = type };
	strcpy(b.text, s);
	return msgsnd(q, &b, strlen(s) + 1, flags);
}

/* Receives into a fresh buffer; returns the length or -1, the type in *type. */
static long rcv(int q, long want, int flags, size_t room, long *type, char *out)
{
	struct m b = { 0 };
	long n = msgrcv(q, &b, room, want, flags);
	if (n >= 0) {
		*type = b.mtype;
		memcpy(out, b.text, n);
		out[n] = 0;
	}
	return n;
}

int main(void)
{
	T_BEGIN();
	key_t key = 0x4d560000 + (getpid() & 0xffff);
	CHECK_ERR("msgget of a missing key", msgget(key, 0600), ENOENT);
	int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	CHECK_OK("msgget IPC_CREAT|IPC_EXCL", q);
	CHECK_ERR("IPC_EXCL of an existing key", msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	CHECK_EQ("msgget finds the key", msgget(key, 0), q);

	CHECK_OK("send type 3", snd(q, 3, "three", 0));
	CHECK_OK("send type 1", snd(q, 1, "one", 0));
	CHECK_OK("send type 2", snd(q, 2, "two", 0));
	CHECK_OK("send type 1 again", snd(q, 1, "uno", 0));
	struct msqid_ds ds;
	CHECK_OK("IPC_STAT", msgctl(q, IPC_STAT, &ds));
	CHECK_EQ("msg_qnum", ds.msg_qnum, 4);
	CHECK_EQ("msg_cbytes", ds.msg_cbytes, 6 + 4 + 4 + 4);
	CHECK_EQ("msg_lspid", ds.msg_lspid, getpid());
	CHECK_EQ("msg_lrpid before any receive", ds.msg_lrpid, 0);
	CHECK_EQ("msg_qbytes", ds.msg_qbytes, 16384);

	long type;
	char text[64];
	CHECK_EQ("msgtyp 2 takes the first of type 2", rcv(q, 2, 0, 64, &type, text), 4);
	CHECK_STR("its text", text, "two");
	CHECK_EQ("msgtyp -3 takes the lowest type first", rcv(q, -3, 0, 64, &type, text), 4);
	CHECK("type 1, oldest", type == 1 && strcmp(text, "one") == 0);
	CHECK_EQ("MSG_EXCEPT 1 skips type 1", rcv(q, 1, MSG_EXCEPT, 64, &type, text), 6);
	CHECK("type 3", type == 3 && strcmp(text, "three") == 0);
	CHECK_ERR("a message longer than the buffer", rcv(q, 0, 0, 2, &type, text), E2BIG);
	CHECK_EQ("MSG_NOERROR truncates", rcv(q, 0, MSG_NOERROR, 2, &type, text), 2);
	CHECK_STR("the truncated text", text, "un");
	CHECK_ERR("an empty queue with IPC_NOWAIT", rcv(q, 0, IPC_NOWAIT, 64, &type, text), ENOMSG);
	CHECK_OK("IPC_STAT after receiving", msgctl(q, IPC_STAT, &ds));
	CHECK("the queue is empty", ds.msg_qnum == 0 && ds.msg_cbytes == 0);
	CHECK_EQ("msg_lrpid", ds.msg_lrpid, getpid());

	CHECK_ERR("mtype 0", snd(q, 0, "x", 0), EINVAL);
	struct m big = { .mtype = 1 };
	CHECK_ERR("msgsz above MSGMAX", msgsnd(q, &big, 8193, 0), EINVAL);
	int gone = msgget(IPC_PRIVATE, 0600);
	CHECK_OK("IPC_RMID of an unused queue", msgctl(gone, IPC_RMID, NULL));
	CHECK_ERR("a removed id", snd(gone, 1, "x", 0), EINVAL);
	CHECK_ERR("a negative id", msgrcv(-1, &big, 10, 0, 0), EINVAL);
	CHECK_ERR("an unknown command", msgctl(q, 99, &ds), EINVAL);

	/* A small queue fills: EAGAIN with IPC_NOWAIT; a receive lets a waiting sender in. */
	ds.msg_qbytes = 8;
	CHECK_OK("IPC_SET msg_qbytes", msgctl(q, IPC_SET, &ds));
	CHECK_OK("fill", snd(q, 1, "1234567", 0));
	CHECK_ERR("a full queue with IPC_NOWAIT", snd(q, 1, "x", IPC_NOWAIT), EAGAIN);
	pid_t c = fork();
	if (c == 0)
		_exit(snd(q, 5, "late", 0) == 0 ? 0 : 1);
	usleep(20000);
	CHECK_EQ("receive makes room", rcv(q, 1, 0, 64, &type, text), 8);
	int st;
	waitpid(c, &st, 0);
	CHECK("the waiting sender got in", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ("its message", rcv(q, 0, IPC_NOWAIT, 64, &type, text), 5);
	CHECK("type 5", type == 5 && strcmp(text, "late") == 0);

	/* A waiting receiver gets a message sent later, by type. */
	c = fork();
	if (c == 0) {
		long t;
		char s[64];
		long n = rcv(q, 9, 0, 64, &t, s);
		_exit(n == 5 && t == 9 && strcmp(s, "nine") == 0 ? 0 : 1);
	}
	usleep(20000);
	CHECK_OK("send type 8", snd(q, 4, "x", 0));
	CHECK_OK("send type 9", snd(q, 9, "nine", 0));
	waitpid(c, &st, 0);
	CHECK("the receiver got type 9", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ("type 4 stays", rcv(q, 0, IPC_NOWAIT, 64, &type, text), 2);

	/* IPC_RMID wakes a waiting receiver with EIDRM. */
	c = fork();
	if (c == 0)
		_exit(msgrcv(q, &big, 64, 0, 0) == -1 && errno == EIDRM ? 0 : 1);
	usleep(100000); /* Linux counts no receivers: give the child time to block */
	CHECK_OK("IPC_RMID", msgctl(q, IPC_RMID, NULL));
	waitpid(c, &st, 0);
	CHECK("the waiter got EIDRM", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_ERR("the id is gone", msgctl(q, IPC_STAT, &ds), EINVAL);
	int p = msgget(IPC_PRIVATE, 0600);
	CHECK("IPC_PRIVATE makes a new queue", p >= 0 && p != q);
	struct msginfo mi;
	CHECK("IPC_INFO", msgctl(0, IPC_INFO, (struct msqid_ds *)&mi) >= 0);
	CHECK("msgmax", mi.msgmax >= 8192);
	CHECK_OK("IPC_RMID of the private queue", msgctl(p, IPC_RMID, NULL));
	T_DONE();
}
