/* openat2: openat with a struct open_how checked strictly (fs/open.c build_open_how):
 * unknown flags, a mode without O_CREAT, O_PATH with other flags, a short or a longer
 * struct with nonzero tail bytes are refused; a zero tail is accepted. */
#include "../test.h"
#include <stdint.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct how {
	uint64_t flags, mode, resolve;
};

static long openat2(const char *path, struct how *h, size_t size)
{
	return syscall(SYS_openat2, AT_FDCWD, path, h, size);
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	struct how h = { .flags = O_RDWR | O_CREAT | O_EXCL, .mode = 0640 };
	long fd = openat2("f", &h, sizeof h);
	CHECK("create with openat2", fd >= 0);
	struct stat st;
	CHECK("fstat", fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == (0640 & ~umask(022)));
	close(fd);
	struct how ro = { .flags = O_RDONLY | O_CLOEXEC };
	fd = openat2("f", &ro, sizeof ro);
	CHECK("open an existing file", fd >= 0);
	CHECK("O_CLOEXEC is set", fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	close(fd);
	struct how bad = { .flags = 1u << 30 };
	CHECK_ERR("an unknown flag bit -> EINVAL", openat2("f", &bad, sizeof bad), EINVAL);
	struct how mode = { .flags = O_RDONLY, .mode = 0644 };
	CHECK_ERR("a mode without O_CREAT -> EINVAL", openat2("f", &mode, sizeof mode), EINVAL);
	struct how big = { .flags = O_RDWR | O_CREAT, .mode = 010644 };
	CHECK_ERR("mode bits beyond 07777 -> EINVAL", openat2("g", &big, sizeof big), EINVAL);
	struct how path = { .flags = O_PATH | O_RDWR };
	CHECK_ERR("O_PATH with O_RDWR -> EINVAL", openat2("f", &path, sizeof path), EINVAL);
	CHECK_ERR("a struct shorter than 24 bytes -> EINVAL", openat2("f", &ro, 16), EINVAL);
	struct {
		struct how h;
		uint64_t more;
	} ext = { { .flags = O_RDONLY }, 0 };
	fd = openat2("f", &ext.h, sizeof ext);
	CHECK("a longer struct with a zero tail", fd >= 0);
	close(fd);
	ext.more = 1;
	CHECK_ERR("a longer struct with a nonzero tail -> E2BIG", openat2("f", &ext.h, sizeof ext), E2BIG);
	struct how unknown_resolve = { .flags = O_RDONLY, .resolve = 1u << 20 };
	CHECK_ERR("an unknown resolve flag -> EINVAL", openat2("f", &unknown_resolve, sizeof unknown_resolve), EINVAL);
	CHECK_ERR("a missing file -> ENOENT", openat2("nope", &ro, sizeof ro), ENOENT);
	t_tmpdir_end();
	T_DONE();
}
