/* getrandom: fills the buffer, GRND_NONBLOCK/GRND_RANDOM, bad flags. */
#include "../test.h"

int main(void)
{
	T_BEGIN();
	unsigned char a[64], b[64];
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	CHECK_EQ("getrandom 64 bytes", syscall(SYS_getrandom, a, sizeof a, 0), 64);
	CHECK_EQ("getrandom GRND_NONBLOCK", syscall(SYS_getrandom, b, sizeof b, 1), 64);
	CHECK("two draws differ", memcmp(a, b, sizeof a) != 0);
	int zeros = 0;
	for (unsigned i = 0; i < sizeof a; i++)
		zeros += a[i] == 0;
	CHECK("buffer is not left zero", zeros < 16);
	CHECK_EQ("getrandom GRND_RANDOM", syscall(SYS_getrandom, a, 16, 2), 16);
	CHECK_EQ("getrandom 0 bytes", syscall(SYS_getrandom, a, 0, 0), 0);
	CHECK_ERR("getrandom bad flags -> EINVAL", syscall(SYS_getrandom, a, 16, 0x100), EINVAL);
	CHECK_ERR("getrandom bad pointer -> EFAULT", syscall(SYS_getrandom, (void *)1, 16, 0), EFAULT);
	unsigned char *big = malloc(1 << 20);
	long n = syscall(SYS_getrandom, big, 1 << 20, 0);
	CHECK("large getrandom returns a positive count", n > 0 && n <= (1 << 20));
	free(big);
	T_DONE();
}
