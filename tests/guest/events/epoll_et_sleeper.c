/* Edge-triggered epoll wakes a thread already asleep in epoll_wait at
 * each new edge of a file that stays readable, on the kinds of fd Linux
 * serves itself. This is the waker of mio (and so of tokio): an eventfd
 * registered EPOLLIN | EPOLLET that is written once per wake and never
 * read, so every wake after the first comes while it is readable.
 *
 * A sleeper thread waits for each round's edge (5 s at most: a busy
 * machine may stall a round); the main thread, or a fork child, makes the
 * edge once the sleeper has said it is about to wait and a little time
 * has passed, so most edges reach a thread inside epoll_wait, then waits
 * for the sleeper to be done.
 * Rounds: eventfd writes from a thread and from another process, new
 * inotify events while one is unread, and a new signal for a signalfd
 * while another is pending. */
#include "../test.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#define ROUNDS 20

static int ep;
/* The sleeper's "about to wait" and "done waiting" (semaphore eventfds the
 * main thread reads: one round at a time, so no two edges can come
 * together) and what it saw in each round. */
static int about, done;
static int seen[ROUNDS];

static void *sleeper(void *arg)
{
	(void)arg;
	uint64_t one = 1;
	for (int i = 0; i < ROUNDS; i++) {
		if (write(about, &one, 8) != 8)
			return NULL;
		struct epoll_event e[2];
		seen[i] = epoll_wait(ep, e, 2, 5000);
		if (write(done, &one, 8) != 8)
			return NULL;
	}
	return NULL;
}

/* Waits for the sleeper to be about to wait, then a little more. */
static void until_asleep(void)
{
	uint64_t v;
	if (read(about, &v, 8) != 8)
		return;
	usleep(3000);
}

/* Runs ROUNDS rounds of `edge` against the sleeper and checks each saw
 * exactly one event. */
static void rounds(const char *what, int fd, void (*edge)(int))
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.fd = fd };
	char name[128];
	snprintf(name, sizeof name, "%s: EPOLLIN | EPOLLET", what);
	CHECK_OK(name, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
	pthread_t t;
	CHECK_EQ("start the sleeper", pthread_create(&t, NULL, sleeper, NULL), 0);
	for (int i = 0; i < ROUNDS; i++) {
		until_asleep();
		edge(fd);
		uint64_t v;
		if (read(done, &v, 8) != 8)
			break;
	}
	CHECK_EQ("join the sleeper", pthread_join(t, NULL), 0);
	int woken = 0;
	for (int i = 0; i < ROUNDS; i++)
		woken += seen[i] == 1;
	snprintf(name, sizeof name, "%s: the edges woke the sleeper", what);
	/* Natively, on a loaded machine, a round of the fork child's writes
	 * has been seen to miss (19 of 20) once in many runs; a sleeper that
	 * is not woken by such edges at all wakes in half of them. */
	CHECK(name, woken >= ROUNDS - 2);
	CHECK_OK("remove it", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
}

static void write_one(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, 8) != 8)
		perror("eventfd write");
}

/* The same write, made by a child process: the eventfd is shared. */
static void write_from_child(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t one = 1;
		_exit(write(fd, &one, 8) == 8 ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	if (status != 0)
		fprintf(stderr, "the child's write failed: status %d\n", status);
}

static char dir[64];
static int made;

static void create_file(int fd)
{
	(void)fd;
	char path[96];
	snprintf(path, sizeof path, "%s/f%d", dir, made++);
	int f = open(path, O_CREAT | O_WRONLY, 0600);
	if (f < 0)
		perror(path);
	else
		close(f);
}

static int next_signal;

static void raise_next(int fd)
{
	(void)fd;
	/* Each round a real-time signal: it queues again while pending. */
	kill(getpid(), next_signal);
}

int main(void)
{
	T_BEGIN();
	ep = epoll_create1(0);
	CHECK_OK("epoll_create1", ep);
	about = eventfd(0, EFD_SEMAPHORE);
	done = eventfd(0, EFD_SEMAPHORE);
	CHECK_OK("the sleeper's eventfds", about);
	CHECK_OK("the sleeper's eventfds", done);

	int efd = eventfd(0, EFD_NONBLOCK);
	CHECK_OK("eventfd", efd);
	rounds("eventfd written by a thread", efd, write_one);
	uint64_t count = 0;
	CHECK_EQ("read the eventfd", read(efd, &count, 8), 8);
	CHECK_EQ("every write counted", count, ROUNDS);
	/* Not readable when added (that would be an edge of its own): the
	 * first write makes it so, and the others come while it is. */
	rounds("eventfd written by another process", efd, write_from_child);
	CHECK_EQ("read the eventfd again", read(efd, &count, 8), 8);
	CHECK_EQ("every write counted again", count, ROUNDS);
	close(efd);

	snprintf(dir, sizeof dir, "/tmp/epoll_et_sleeper.%d", getpid());
	CHECK_OK("make a directory to watch", mkdir(dir, 0700));
	int ifd = inotify_init1(IN_NONBLOCK);
	CHECK_OK("inotify_init1", ifd);
	CHECK_OK("watch it", inotify_add_watch(ifd, dir, IN_CREATE));
	rounds("inotify events", ifd, create_file);
	char buf[8192];
	ssize_t n = read(ifd, buf, sizeof buf);
	int events = 0;
	for (ssize_t off = 0; off < n;) {
		struct inotify_event *ie = (struct inotify_event *)(buf + off);
		events++;
		off += sizeof *ie + ie->len;
	}
	CHECK_EQ("every creation queued", events, ROUNDS);
	close(ifd);
	for (int i = 0; i < made; i++) {
		char path[96];
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		unlink(path);
	}
	rmdir(dir);

	/* Blocked in every thread (the sleeper inherits the mask). */
	next_signal = SIGRTMIN + 1;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, next_signal);
	CHECK_OK("block the signal", sigprocmask(SIG_BLOCK, &set, NULL));
	int sfd = signalfd(-1, &set, SFD_NONBLOCK);
	CHECK_OK("signalfd", sfd);
	rounds("signals queued for a signalfd", sfd, raise_next);
	struct signalfd_siginfo si[ROUNDS + 1];
	n = read(sfd, si, sizeof si);
	CHECK_EQ("read them all", n, (ssize_t)(ROUNDS * sizeof si[0]));
	close(sfd);
	T_DONE();
}
