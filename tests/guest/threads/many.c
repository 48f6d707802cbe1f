// build: -pthread
/* A thousand threads, created and joined in batches of 50 (so the default
 * limits on threads and memory are never near), each writing its index. */
#include "../test.h"
#include <pthread.h>
#include <stdint.h>

enum { TOTAL = 1000, BATCH = 50 };

static int written[TOTAL];

static void *write_index(void *arg)
{
	intptr_t i = (intptr_t)arg;
	written[i] = (int)i + 1;
	return (void *)(i * 2);
}

int main(void)
{
	T_BEGIN();
	alarm(50); /* a hang becomes a SIGALRM death, not a stuck suite */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	int created = 0, joined = 0, returned = 0;
	for (int base = 0; base < TOTAL; base += BATCH) {
		pthread_t t[BATCH];
		int ok[BATCH];
		for (int j = 0; j < BATCH; j++) {
			ok[j] = pthread_create(&t[j], &attr, write_index, (void *)(intptr_t)(base + j)) == 0;
			created += ok[j];
		}
		for (int j = 0; j < BATCH; j++) {
			void *r = NULL;
			if (ok[j] && pthread_join(t[j], &r) == 0) {
				joined++;
				returned += (intptr_t)r == 2 * (base + j);
			}
		}
	}
	pthread_attr_destroy(&attr);
	int right = 0;
	for (int i = 0; i < TOTAL; i++)
		right += written[i] == i + 1;
	CHECK_EQ("threads created", created, TOTAL);
	CHECK_EQ("threads joined", joined, TOTAL);
	CHECK_EQ("each returned twice its index", returned, TOTAL);
	CHECK_EQ("each wrote its index", right, TOTAL);
	T_DONE();
}
