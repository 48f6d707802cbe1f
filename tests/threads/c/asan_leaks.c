/* Built with gcc -fsanitize=address: at exit LeakSanitizer stops every
 * thread with ptrace from a CLONE_VM child, reads their registers and
 * scans their stacks. Three threads hold heap blocks only in locals while
 * one waits on a condition variable, one is blocked in read() and one
 * spins; none of those blocks is a leak. With an argument, main drops one
 * block of 77 bytes, which is. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int fds[2];
static volatile int spin = 1;

static void *waiter(void *a) {
    void *volatile held = malloc(100);
    memset(held, 1, 100);
    pthread_mutex_lock(&m);
    pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
    free(held);
    return a;
}

static void *reader(void *a) {
    void *volatile held = malloc(200);
    char b;
    if (read(fds[0], &b, 1) < 0)
        perror("read");
    free(held);
    return a;
}

static void *spinner(void *a) {
    void *volatile held = malloc(300);
    while (spin) {
    }
    free(held);
    return a;
}

int main(int argc, char **argv) {
    (void)argv;
    if (pipe(fds))
        return 2;
    pthread_t t[3];
    pthread_create(&t[0], 0, waiter, 0);
    pthread_create(&t[1], 0, reader, 0);
    pthread_create(&t[2], 0, spinner, 0);
    usleep(100000);
    if (argc > 1) {
        void *volatile lost = malloc(77);
        lost = 0;
        (void)lost;
    }
    printf("exiting with three threads running\n");
    fflush(stdout);
    exit(0);
}
