// build: -pthread
/* Mappings made by some threads while another keeps unmapping its own:
 * the kernel may hand a new mapping the range another thread has just
 * freed, and every new mapping must then work in system calls at once (a
 * read into it returns its bytes, never EFAULT), as glibc's arenas and
 * thread stacks need when threads start and end together. */
#include "../test.h"
#include <pthread.h>
#include <sys/mman.h>

#define ROUNDS 3000
#define PAGE 4096

static int zero_fd;
static volatile int stop;

static void *unmapper(void *arg)
{
	(void)arg;
	while (!stop) {
		void *p = mmap(NULL, 16 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED)
			munmap(p, 16 * PAGE);
	}
	return NULL;
}

static void *mapper(void *arg)
{
	(void)arg;
	long bad = 0;
	for (int i = 0; i < ROUNDS; i++) {
		char *q = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED) {
			bad++;
			continue;
		}
		if (pread(zero_fd, q, 4 * PAGE, 0) != 4 * PAGE)
			bad++;
		munmap(q, 4 * PAGE);
	}
	return (void *)bad;
}

int main(void)
{
	T_BEGIN();
	alarm(60);
	zero_fd = open("/dev/zero", O_RDONLY);
	CHECK("open /dev/zero", zero_fd >= 0);
	pthread_t u[2], m[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&u[i], NULL, unmapper, NULL);
	for (int i = 0; i < 2; i++)
		pthread_create(&m[i], NULL, mapper, NULL);
	long bad = 0;
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_join(m[i], &r);
		bad += (long)r;
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(u[i], NULL);
	CHECK_EQ("every new mapping took a read at once", bad, 0L);
	T_DONE();
}
