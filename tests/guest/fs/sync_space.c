/* statfs/fstatfs, fsync/fdatasync/sync, fallocate. */
#include "../test.h"
#include <sys/statfs.h>
#include <sys/vfs.h>

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	struct statfs sf;

	CHECK_OK("statfs .", statfs(".", &sf));
	CHECK("statfs f_type nonzero", sf.f_type != 0);
	CHECK("statfs f_bsize > 0", sf.f_bsize > 0);
	CHECK_OK("statfs /", statfs("/", &sf));
	CHECK_ERR("statfs missing -> ENOENT", statfs("missing", &sf), ENOENT);
	int fd = open("f", O_RDWR | O_CREAT, 0644);
	CHECK_OK("fstatfs", fstatfs(fd, &sf));
	CHECK("fstatfs f_type nonzero", sf.f_type != 0);
	CHECK_ERR("fstatfs bad fd -> EBADF", fstatfs(99, &sf), EBADF);
	CHECK_OK("statfs /proc", statfs("/proc", &sf));
	CHECK_EQ("/proc is procfs", sf.f_type, 0x9fa0);

	write(fd, "abc", 3);
	CHECK_OK("fsync", fsync(fd));
	CHECK_OK("fdatasync", fdatasync(fd));
	CHECK_OK("syncfs", syscall(SYS_syncfs, fd));
	sync();
	t_ok("sync");
	CHECK_ERR("fsync bad fd -> EBADF", fsync(99), EBADF);

	CHECK_OK("fallocate 4096", fallocate(fd, 0, 0, 4096));
	struct stat st;
	fstat(fd, &st);
	CHECK_EQ("size after fallocate", st.st_size, 4096);
	CHECK("blocks allocated", st.st_blocks >= 8);
	CHECK_OK("fallocate KEEP_SIZE", fallocate(fd, FALLOC_FL_KEEP_SIZE, 4096, 4096));
	fstat(fd, &st);
	CHECK_EQ("size kept", st.st_size, 4096);
	char buf[4];
	pread(fd, buf, 3, 0);
	CHECK_MEM("fallocate keeps data", buf, "abc", 3);
	CHECK_ERR("fallocate len 0 -> EINVAL", fallocate(fd, 0, 0, 0), EINVAL);
	CHECK_ERR("fallocate negative offset -> EINVAL", fallocate(fd, 0, -1, 10), EINVAL);
	int ro = open("f", O_RDONLY);
	CHECK_ERR("fallocate read-only fd -> EBADF", fallocate(ro, 0, 0, 10), EBADF);
	close(ro);
	close(fd);

	t_tmpdir_end();
	T_DONE();
}
