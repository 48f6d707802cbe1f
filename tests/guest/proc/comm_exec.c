/* execve names the task after the filename it was given (its last
 * component, at most 15 bytes), not after the file a symlink leads to. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int comm_is(const char *want) {
    char got[64] = "";
    FILE *f = fopen("/proc/self/comm", "r");
    if (!f || !fgets(got, sizeof got, f))
        return 0;
    fclose(f);
    got[strcspn(got, "\n")] = 0;
    if (strcmp(got, want) != 0) {
        printf("FAIL comm is \"%s\", want \"%s\"\n", got, want);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return comm_is(argv[2]) ? 0 : 1;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    self[n] = 0;
    char dir[] = "/tmp/commXXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int failures = 0;
    const char *names[] = { "short", "a-rather-long-program-name" };
    const char *want[] = { "short", "a-rather-long-p" };
    for (int i = 0; i < 2; i++) {
        char link[PATH_MAX];
        snprintf(link, sizeof link, "%s/%s", dir, names[i]);
        if (symlink(self, link)) {
            perror("symlink");
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            execl(link, link, "child", want[i], (char *)NULL);
            _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("FAIL exec through %s: status %#x\n", names[i], status);
            failures++;
        }
        unlink(link);
    }
    rmdir(dir);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
