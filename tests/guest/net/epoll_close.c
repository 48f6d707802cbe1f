/* A listening socket closed by one thread while another sleeps in
 * epoll_wait on it is gone at once: its address can be bound and listened
 * on again (epoll holds no reference to the files it watches; poll does).
 * The sleeper is woken through an eventfd so every wait stays bounded. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int lfd, efd;
static volatile int asleep;

static void *sleeper(void *arg) {
    (void)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };
    struct epoll_event wake = { .events = EPOLLIN, .data.u32 = 2 };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &wake)) {
        perror("epoll setup");
        return (void *)1;
    }
    asleep = 1;
    struct epoll_event out;
    int n = epoll_wait(ep, &out, 1, 10000);
    close(ep);
    /* Woken by the eventfd, not by the listener's close. */
    return (void *)(intptr_t)(n == 1 && out.data.u32 == 2 ? 0 : 2);
}

static int listener(struct sockaddr_in *a) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)a, sizeof *a) || listen(s, 4)) {
        close(s);
        return -1;
    }
    return s;
}

int main(void) {
    int failures = 0;
    for (int i = 0; i < 5; i++) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        efd = eventfd(0, EFD_CLOEXEC);
        lfd = listener(&a);
        if (lfd < 0 || efd < 0 || getsockname(lfd, (struct sockaddr *)&a, &len)) {
            perror("setup");
            return 1;
        }
        asleep = 0;
        pthread_t t;
        pthread_create(&t, NULL, sleeper, NULL);
        while (!asleep)
            usleep(1000);
        usleep(50000); /* into epoll_wait */
        close(lfd);
        int again = listener(&a);
        if (again < 0) {
            printf("round %d: rebinding port %d after close: %s\n", i, ntohs(a.sin_port), strerror(errno));
            failures++;
        } else {
            close(again);
        }
        uint64_t one = 1;
        if (write(efd, &one, sizeof one) != sizeof one)
            perror("eventfd write");
        void *r;
        pthread_join(t, &r);
        if (r) {
            printf("round %d: the sleeper returned %ld\n", i, (long)(intptr_t)r);
            failures++;
        }
        close(efd);
    }
    printf("rebind failures: %d of 5\n", failures);
    return failures != 0;
}
