// build: -pthread
/* Per-thread scheduling state and names: sched_setaffinity in one thread
 * changes only that thread's mask, sched_rr_get_interval, the thread CPU
 * clock (CLOCK_THREAD_CPUTIME_ID and pthread_getcpuclockid), and thread
 * names (prctl PR_SET_NAME/PR_GET_NAME, pthread_setname_np and
 * /proc/self/task/TID/comm). */
#include "../test.h"
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <time.h>

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

static cpu_set_t initial;
static int chosen_cpu = -1;
static sem_t step, done;

struct affinity_result {
	int set_ok, get_ok, only_chosen;
	pid_t tid;
};

static void *pins_itself(void *arg)
{
	struct affinity_result *r = arg;
	r->tid = tid();
	cpu_set_t one, back;
	CPU_ZERO(&one);
	CPU_SET(chosen_cpu, &one);
	r->set_ok = sched_setaffinity(0, sizeof one, &one) == 0;
	CPU_ZERO(&back);
	r->get_ok = sched_getaffinity(0, sizeof back, &back) == 0;
	r->only_chosen = CPU_COUNT(&back) == 1 && CPU_ISSET(chosen_cpu, &back);
	sem_post(&done);
	sem_wait(&step); /* stays alive while the others look */
	return NULL;
}

static sem_t pinned_done;
static void *reads_its_mask(void *arg)
{
	if (arg)
		sem_wait(&pinned_done); /* made before the pin, looks after it */
	cpu_set_t mine;
	CPU_ZERO(&mine);
	sched_getaffinity(0, sizeof mine, &mine);
	return (void *)(intptr_t)CPU_EQUAL(&mine, &initial);
}

static volatile unsigned long sink;
static void burn(void)
{
	for (unsigned long i = 0; i < 20000000UL; i++)
		sink += i;
}

static long long ns(struct timespec ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

static struct timespec worked_until;
static void *works(void *arg)
{
	struct timespec t0, t1;
	int *increased = arg;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	burn();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	*increased = ns(t1) > ns(t0);
	worked_until = t1;
	sem_post(&done);
	sem_wait(&step);
	return NULL;
}

static volatile pid_t named_tid;
static void *names_itself(void *arg)
{
	char *got = arg;
	prctl(PR_SET_NAME, "worker-a", 0, 0, 0);
	prctl(PR_GET_NAME, got, 0, 0, 0);
	named_tid = tid();
	sem_post(&done);
	sem_wait(&step);
	return NULL;
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	sem_init(&step, 0, 0);
	sem_init(&done, 0, 0);

	CHECK_OK("sched_getaffinity", sched_getaffinity(0, sizeof initial, &initial));
	for (int i = 0; i < CPU_SETSIZE && chosen_cpu < 0; i++)
		if (CPU_ISSET(i, &initial))
			chosen_cpu = i;
	struct affinity_result r = { 0, 0, 0, 0 };
	pthread_t pinned, older, other;
	sem_init(&pinned_done, 0, 0);
	pthread_create(&older, NULL, reads_its_mask, (void *)1);
	pthread_create(&pinned, NULL, pins_itself, &r);
	sem_wait(&done);
	sem_post(&pinned_done);
	CHECK_EQ("sched_setaffinity to one CPU in a thread", r.set_ok, 1);
	CHECK_EQ("sched_getaffinity in that thread", r.get_ok, 1);
	CHECK_EQ("reads back only that CPU", r.only_chosen, 1);
	cpu_set_t now;
	sched_getaffinity(0, sizeof now, &now);
	CHECK("main's mask is unchanged", CPU_EQUAL(&now, &initial));
	void *same = NULL;
	pthread_join(older, &same);
	CHECK_EQ("a thread made before the pin keeps its mask", (intptr_t)same, 1);
	pthread_create(&other, NULL, reads_its_mask, NULL);
	same = NULL;
	pthread_join(other, &same);
	CHECK_EQ("a new thread has main's mask", (intptr_t)same, 1);
	cpu_set_t pinned_mask;
	CPU_ZERO(&pinned_mask);
	CHECK_OK("sched_getaffinity of the pinned thread's tid", sched_getaffinity(r.tid, sizeof pinned_mask, &pinned_mask));
	CHECK("reads its one CPU", CPU_COUNT(&pinned_mask) == 1 && CPU_ISSET(chosen_cpu, &pinned_mask));
	sem_post(&step);
	pthread_join(pinned, NULL);

	struct timespec rr = { -1, -1 };
	CHECK_OK("sched_rr_get_interval", sched_rr_get_interval(0, &rr));
	CHECK("it gives a valid timespec", rr.tv_sec >= 0 && rr.tv_nsec >= 0 && rr.tv_nsec < 1000000000L);
	CHECK_ERR("sched_rr_get_interval of a bad pid is EINVAL", sched_rr_get_interval(-1, &rr), EINVAL);

	int increased = 0;
	pthread_t worker;
	pthread_create(&worker, NULL, works, &increased);
	sem_wait(&done);
	CHECK_EQ("CLOCK_THREAD_CPUTIME_ID increases with the thread's work", increased, 1);
	clockid_t cid;
	CHECK_EQ("pthread_getcpuclockid", pthread_getcpuclockid(worker, &cid), 0);
	struct timespec theirs = { 0, 0 };
	CHECK_OK("clock_gettime on that clock", clock_gettime(cid, &theirs));
	CHECK("it reads at least what the thread measured", ns(theirs) >= ns(worked_until));
	sem_post(&step);
	pthread_join(worker, NULL);

	char main_name[16] = "", thread_name[16] = "", after[16] = "";
	prctl(PR_SET_NAME, "main-name", 0, 0, 0);
	pthread_t named;
	pthread_create(&named, NULL, names_itself, thread_name);
	sem_wait(&done);
	CHECK_STR("PR_GET_NAME in the thread reads its PR_SET_NAME", thread_name, "worker-a");
	prctl(PR_GET_NAME, main_name, 0, 0, 0);
	CHECK_STR("main's name is its own", main_name, "main-name");
	char path[64], comm[64] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", named_tid);
	t_read_file(path, comm, sizeof comm);
	CHECK_STR("/proc/self/task/TID/comm shows it", comm, "worker-a\n");
	CHECK_EQ("pthread_setname_np on that thread", pthread_setname_np(named, "named-b"), 0);
	t_read_file(path, comm, sizeof comm);
	CHECK_STR("/proc/self/task/TID/comm reads back pthread_setname_np", comm, "named-b\n");
	CHECK_EQ("pthread_getname_np", pthread_getname_np(named, after, sizeof after), 0);
	CHECK_STR("reads the same name", after, "named-b");
	CHECK_EQ("a name of 16 bytes or more is ERANGE", pthread_setname_np(named, "sixteen-chars-xx"), ERANGE);
	prctl(PR_SET_NAME, "a-name-longer-than-fifteen", 0, 0, 0);
	prctl(PR_GET_NAME, main_name, 0, 0, 0);
	CHECK_STR("PR_SET_NAME truncates to 15 bytes", main_name, "a-name-longer-t");
	sem_post(&step);
	pthread_join(named, NULL);
	T_DONE();
}
