/* splice(2), tee(2), vmsplice(2): moving data between pipes and files, with
 * and without offsets, the errors Linux gives for each wrong pairing,
 * SPLICE_F_NONBLOCK on an empty or full pipe, and from a pipe into a full
 * nonblocking socket, which leaves the data in the pipe (Go's io.Copy
 * between sockets splices through a pipe so). */
#include "../test.h"
#include <sys/ioctl.h>
#include <sys/uio.h>

#ifndef SPLICE_F_NONBLOCK
#define SPLICE_F_MOVE 1
#define SPLICE_F_NONBLOCK 2
#define SPLICE_F_MORE 4
#endif

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char buf[256];
	int p[2], q[2];
	pipe(p);
	pipe(q);
	int f = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(f, "0123456789abcdef", 16);

	/* file -> pipe, from the file position and from an offset. */
	lseek(f, 2, SEEK_SET);
	CHECK_EQ("file to pipe", splice(f, NULL, p[1], NULL, 4, 0), 4);
	CHECK_EQ("the file position moved", lseek(f, 0, SEEK_CUR), 6);
	loff_t off = 10;
	CHECK_EQ("file to pipe at an offset", splice(f, &off, p[1], NULL, 100, SPLICE_F_MOVE), 6);
	CHECK_EQ("the offset moved", off, 16);
	CHECK_EQ("the position did not", lseek(f, 0, SEEK_CUR), 6);
	CHECK_EQ("at the end of the file", splice(f, &off, p[1], NULL, 100, 0), 0);
	CHECK_EQ("pipe holds both", read(p[0], buf, sizeof buf), 10);
	CHECK_MEM("pipe data", buf, "2345abcdef", 10);

	/* pipe -> file. */
	write(p[1], "XYZ", 3);
	off = 0;
	CHECK_EQ("pipe to file at an offset", splice(p[0], NULL, f, &off, 10, 0), 3);
	CHECK_EQ("offset after", off, 3);
	CHECK_EQ("pread", pread(f, buf, 4, 0), 4);
	CHECK_MEM("file data", buf, "XYZ3", 4);
	write(p[1], "tail", 4);
	lseek(f, 0, SEEK_END);
	CHECK_EQ("pipe to file at its position", splice(p[0], NULL, f, NULL, 2, SPLICE_F_MORE), 2);
	CHECK_EQ("file grew", lseek(f, 0, SEEK_END), 18);
	CHECK_EQ("the rest stays in the pipe", read(p[0], buf, sizeof buf), 2);
	CHECK_MEM("rest", buf, "il", 2);

	/* pipe -> pipe and tee. */
	write(p[1], "hello", 5);
	CHECK_EQ("tee", tee(p[0], q[1], 100, 0), 5);
	CHECK_EQ("tee left the source", read(p[0], buf, sizeof buf), 5);
	CHECK_EQ("tee copied", read(q[0], buf + 5, sizeof buf - 5), 5);
	CHECK_MEM("both", buf, "hellohello", 10);
	write(p[1], "pipe", 4);
	CHECK_EQ("pipe to pipe", splice(p[0], NULL, q[1], NULL, 100, 0), 4);
	CHECK_EQ("moved", read(q[0], buf, sizeof buf), 4);

	/* Nonblocking. */
	CHECK_ERR("empty pipe, SPLICE_F_NONBLOCK", splice(p[0], NULL, f, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
	CHECK_ERR("tee of an empty pipe, SPLICE_F_NONBLOCK", tee(p[0], q[1], 10, SPLICE_F_NONBLOCK), EAGAIN);
	close(q[1]);
	CHECK_EQ("no writers: end of data", splice(q[0], NULL, f, NULL, 10, 0), 0);
	close(q[0]);

	/* vmsplice. */
	struct iovec iov[2] = { { (void *)"ab", 2 }, { (void *)"cde", 3 } };
	CHECK_EQ("vmsplice into a pipe", vmsplice(p[1], iov, 2, 0), 5);
	char out1[2], out2[8];
	struct iovec rv[2] = { { out1, 2 }, { out2, 8 } };
	CHECK_EQ("vmsplice out of a pipe", vmsplice(p[0], rv, 2, 0), 5);
	CHECK_MEM("first", out1, "ab", 2);
	CHECK_MEM("second", out2, "cde", 3);
	CHECK_ERR("vmsplice of a file", vmsplice(f, iov, 2, 0), EBADF);
	CHECK_ERR("vmsplice bad flags", vmsplice(p[1], iov, 2, 0x100), EINVAL);

	/* Errors. */
	int g = open("other", O_RDWR | O_CREAT, 0644);
	CHECK_EQ("length 0", splice(f, NULL, g, NULL, 0, 0), 0);
	CHECK_ERR("file to file", splice(f, NULL, g, NULL, 10, 0), EINVAL);
	CHECK_ERR("unknown flags", splice(f, NULL, p[1], NULL, 10, 0x100), EINVAL);
	CHECK_ERR("closed fd", splice(999, NULL, p[1], NULL, 10, 0), EBADF);
	off = 0;
	CHECK_ERR("offset on the pipe side", splice(p[0], &off, f, NULL, 10, 0), ESPIPE);
	CHECK_ERR("a pipe's write end as input", splice(p[1], NULL, f, NULL, 10, 0), EBADF);
	CHECK_ERR("same pipe both ways", splice(p[0], NULL, p[1], NULL, 10, 0), EINVAL);
	CHECK_ERR("tee of a file", tee(f, p[1], 10, 0), EINVAL);
	CHECK_ERR("tee same pipe", tee(p[0], p[1], 10, 0), EINVAL);
	int ro = open("file", O_RDONLY);
	write(p[1], "z", 1);
	CHECK_ERR("into a read-only file", splice(p[0], NULL, ro, NULL, 10, 0), EBADF);
	int ap = open("file", O_WRONLY | O_APPEND);
	CHECK_ERR("into an O_APPEND file", splice(p[0], NULL, ap, NULL, 10, 0), EINVAL);
	off = -1;
	CHECK_ERR("negative offset", splice(f, &off, p[1], NULL, 10, 0), EINVAL);

	/* SPLICE_F_NONBLOCK is about the pipe: into a regular file, all the
	 * pipe holds moves in one call. */
	{
		int fp[2];
		CHECK_OK("pipe for the file", pipe(fp));
		static char chunk[16384];
		memset(chunk, 'q', sizeof chunk);
		CHECK_EQ("16 KiB into the pipe", write(fp[1], chunk, sizeof chunk), (ssize_t)sizeof chunk);
		int big = open("big", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK_EQ("one nonblocking splice moves it all into the file", splice(fp[0], NULL, big, NULL, sizeof chunk, SPLICE_F_NONBLOCK), (ssize_t)sizeof chunk);
		close(big);
		close(fp[0]);
		close(fp[1]);
	}

	int sv[2], sp[2];
	CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_OK("pipe", pipe(sp));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	static char fill[65536];
	long queued = 0;
	ssize_t w;
	while ((w = write(sv[0], fill, sizeof fill)) > 0)
		queued += w;
	CHECK("the socket is full", w < 0 && errno == EAGAIN && queued > 0);
	char pattern[1000];
	for (int i = 0; i < (int)sizeof pattern; i++)
		pattern[i] = (char)('a' + i % 26);
	CHECK_EQ("data into the pipe", write(sp[1], pattern, sizeof pattern), (ssize_t)sizeof pattern);
	CHECK_ERR("splice into the full socket: EAGAIN", splice(sp[0], NULL, sv[0], NULL, sizeof pattern, SPLICE_F_NONBLOCK), EAGAIN);
	int inpipe = -1;
	CHECK_OK("FIONREAD of the pipe", ioctl(sp[0], FIONREAD, &inpipe));
	CHECK_EQ("the data is still in the pipe", inpipe, (int)sizeof pattern);
	/* Drain the other end, then the splice moves it all, intact. */
	static char sink[65536];
	long drained = 0;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (drained < queued && (w = read(sv[1], sink, sizeof sink)) > 0)
		drained += w;
	CHECK_EQ("what was queued drains", drained, queued);
	long moved = 0;
	while (moved < (long)sizeof pattern && (w = splice(sp[0], NULL, sv[0], NULL, sizeof pattern, SPLICE_F_NONBLOCK)) > 0)
		moved += w;
	CHECK_EQ("then it moves", moved, (long)sizeof pattern);
	char got[sizeof pattern];
	long have = 0;
	while (have < (long)sizeof got && (w = read(sv[1], got + have, sizeof got - have)) > 0)
		have += w;
	CHECK_EQ("it arrives", have, (long)sizeof got);
	CHECK("... intact", memcmp(got, pattern, sizeof got) == 0);

	t_tmpdir_end();
	T_DONE();
}
