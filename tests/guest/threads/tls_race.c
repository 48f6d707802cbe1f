// build: -pthread
/* Many threads run a %fs-relative instruction for the first time at the
 * same moment. (MacTux rewrites such an instruction on its first fault;
 * a thread that faults on it just after another rewrote it must run it
 * again, not take the fault as its own: it once died of SIGSEGV.) Each of
 * ROUNDS functions is entered by every thread at once, released by a
 * barrier, and reads a __thread variable through its own instruction. */
#include "../test.h"
#include <pthread.h>
#include <stdint.h>

enum { THREADS = 8, ROUNDS = 24 };

static __thread long tls_value;
static pthread_barrier_t go;

#define READER(n) \
	static __attribute__((noinline)) long read_##n(void) { return tls_value + n; }
READER(0) READER(1) READER(2) READER(3) READER(4) READER(5) READER(6) READER(7)
READER(8) READER(9) READER(10) READER(11) READER(12) READER(13) READER(14) READER(15)
READER(16) READER(17) READER(18) READER(19) READER(20) READER(21) READER(22) READER(23)

static long (*const readers[ROUNDS])(void) = {
	read_0, read_1, read_2, read_3, read_4, read_5, read_6, read_7,
	read_8, read_9, read_10, read_11, read_12, read_13, read_14, read_15,
	read_16, read_17, read_18, read_19, read_20, read_21, read_22, read_23,
};

static long sums[THREADS];

static void *racer(void *arg)
{
	long id = (long)(intptr_t)arg;
	tls_value = id * 1000;
	long sum = 0;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&go);
		sum += readers[r]() - id * 1000;
	}
	sums[id] = sum;
	return NULL;
}

int main(void)
{
	alarm(30);
	pthread_barrier_init(&go, NULL, THREADS);
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, racer, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int all = 1;
	for (int i = 0; i < THREADS; i++)
		all &= sums[i] == (long)ROUNDS * (ROUNDS - 1) / 2;
	CHECK_EQ("every thread read its own value through every fresh instruction", all, 1);
	T_DONE();
}
