/* System V shared memory: shmget, shmat, shmdt, shmctl; errors, fork sharing,
 * deferred IPC_RMID, SHM_RDONLY, SHM_RND, attach counts across fork and exit. */
#include "../test.h"
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>

int main(void)
{
	T_BEGIN();
	key_t key = 0x4d540000 + (getpid() & 0xffff);
	CHECK_ERR("shmget of a missing key without IPC_CREAT", shmget(key, 4096, 0600), ENOENT);
	CHECK_ERR("shmget size 0 for a new segment", shmget(key, 0, IPC_CREAT | 0600), EINVAL);
	int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
	CHECK_OK("shmget IPC_CREAT|IPC_EXCL", id);
	CHECK_ERR("shmget IPC_CREAT|IPC_EXCL of an existing key", shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	CHECK_EQ("shmget of the key finds the segment", shmget(key, 0, 0), id);
	CHECK_EQ("shmget with a smaller size finds it", shmget(key, 100, IPC_CREAT | 0600), id);
	CHECK_ERR("shmget larger than the segment", shmget(key, 20000, 0), EINVAL);
	int priv = shmget(IPC_PRIVATE, 4096, 0600);
	CHECK("IPC_PRIVATE makes a new segment", priv >= 0 && priv != id);

	struct shmid_ds ds;
	CHECK_OK("IPC_STAT", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("shm_segsz", ds.shm_segsz, 10000);
	CHECK_EQ("shm_nattch before attaching", ds.shm_nattch, 0);
	CHECK_EQ("shm_perm.mode", ds.shm_perm.mode & 0777, 0600);
	CHECK_EQ("shm_perm.__key", ds.shm_perm.__key, key);
	CHECK_EQ("shm_cpid", ds.shm_cpid, getpid());
	CHECK_EQ("shm_perm.uid", ds.shm_perm.uid, geteuid());
	CHECK_EQ("shm_atime before attaching", ds.shm_atime, 0);

	char *p = shmat(id, NULL, 0);
	CHECK("shmat", p != (void *)-1);
	CHECK_EQ("shmat address is page aligned", (uintptr_t)p % 4096, 0);
	CHECK_EQ("a new segment is zeroed", p[0] | p[9999], 0);
	{
		/* /proc/self/maps names the attach after its key, shared, deleted. */
		char want[64], line[512], start[32];
		snprintf(want, sizeof want, "/SYSV%08x (deleted)\n", key);
		snprintf(start, sizeof start, "%lx-", (unsigned long)p);
		FILE *f = fopen("/proc/self/maps", "r");
		int found = 0;
		while (f && fgets(line, sizeof line, f))
			if (strncmp(line, start, strlen(start)) == 0)
				found = strstr(line, " rw-s 00000000 ") && strlen(line) > strlen(want) &&
					strcmp(line + strlen(line) - strlen(want), want) == 0;
		if (f)
			fclose(f);
		CHECK("/proc/self/maps shows /SYSV<key> (deleted), rw-s", found);
	}
	strcpy(p, "hello");
	p[12287] = 7; /* the last page is whole */
	char *q = shmat(id, NULL, SHM_RDONLY);
	CHECK("a second attach", q != (void *)-1 && q != p);
	CHECK_STR("both attaches show the same memory", q, "hello");
	CHECK_OK("IPC_STAT after attaching", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("shm_nattch counts both", ds.shm_nattch, 2);
	CHECK_EQ("shm_lpid", ds.shm_lpid, getpid());
	CHECK("shm_atime set", ds.shm_atime != 0);

	int gone = shmget(IPC_PRIVATE, 4096, 0600);
	CHECK_OK("IPC_RMID of an unattached segment", shmctl(gone, IPC_RMID, NULL));
	CHECK_ERR("shmat of a removed id", (long)shmat(gone, NULL, 0), EINVAL);
	CHECK_ERR("shmat of a negative id", (long)shmat(-1, NULL, 0), EINVAL);
	CHECK_ERR("shmat at an unaligned address", (long)shmat(id, p + 100, 0), EINVAL);
	CHECK_ERR("shmat over a mapping without SHM_REMAP", (long)shmat(id, p, 0), EINVAL);
	CHECK_ERR("SHM_REMAP without an address", (long)shmat(id, NULL, SHM_REMAP), EINVAL);
	CHECK_ERR("shmdt of an unaligned address", shmdt(p + 1), EINVAL);
	CHECK_ERR("shmdt where nothing is attached", shmdt(p + 4096), EINVAL);

	/* SHM_RND rounds an address down to SHMLBA; SHM_REMAP replaces. */
	CHECK_OK("shmdt of the read-only attach", shmdt(q));
	char *r = shmat(id, q + 123, SHM_RND | SHM_RDONLY);
	CHECK("SHM_RND rounds down", r == q);
	CHECK_STR("the rounded attach shows the segment", r, "hello");
	char *r2 = shmat(id, r, SHM_REMAP);
	CHECK("SHM_REMAP over an attach", r2 == r);
	CHECK_OK("IPC_STAT with the remapped attach", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("the replaced attach is detached", ds.shm_nattch, 2);
	CHECK_OK("shmdt of the remapped attach", shmdt(r2));
	/* munmap of a whole attach, and a fixed mmap over one, detach it. */
	char *u = shmat(id, NULL, 0);
	CHECK("an attach to unmap", u != (void *)-1);
	CHECK_OK("munmap of the attach", munmap(u, 12288));
	char *v = shmat(id, NULL, 0);
	CHECK("an attach to map over", v != (void *)-1);
	CHECK("MAP_FIXED over the attach", mmap(v, 12288, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == v);
	CHECK_OK("munmap of the anonymous mapping", munmap(v, 12288));
	CHECK_OK("IPC_STAT after shmdt", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("shm_nattch after shmdt", ds.shm_nattch, 1);
	CHECK("shm_dtime set", ds.shm_dtime != 0);

	/* A write through a read-only attach is SIGSEGV. */
	pid_t c = fork();
	if (c == 0) {
		char *ro = shmat(id, NULL, SHM_RDONLY);
		if (ro == (void *)-1)
			_exit(3);
		ro[0] = 'x';
		_exit(4);
	}
	int st;
	waitpid(c, &st, 0);
	CHECK("writing a SHM_RDONLY attach is SIGSEGV", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	CHECK_STR("the segment is unchanged", p, "hello");

	/* A fork child inherits the attach: writes go both ways. */
	int go[2], back[2];
	CHECK_OK("pipes", pipe(go) | pipe(back));
	c = fork();
	if (c == 0) {
		char b;
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		int ok = strcmp(p, "from parent") == 0;
		strcpy(p + 100, "from child");
		if (write(back[1], "x", 1) != 1)
			_exit(2);
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		_exit(ok ? 0 : 1);
	}
	CHECK_OK("IPC_STAT with a child", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("the child's inherited attach counts", ds.shm_nattch, 2);
	strcpy(p, "from parent");
	char b;
	CHECK_EQ("child ran", write(go[1], "x", 1) + read(back[0], &b, 1), 2);
	CHECK_STR("the parent sees the child's write", p + 100, "from child");
	CHECK_EQ("child goes", write(go[1], "x", 1), 1);
	waitpid(c, &st, 0);
	CHECK("the child saw the parent's write", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_OK("IPC_STAT after the child's exit", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("exit detaches", ds.shm_nattch, 1);

	/* IPC_SET changes the mode; IPC_RMID waits for the last detach. */
	ds.shm_perm.mode = 0640;
	CHECK_OK("IPC_SET", shmctl(id, IPC_SET, &ds));
	CHECK_OK("IPC_STAT after IPC_SET", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("IPC_SET changed the mode", ds.shm_perm.mode & 0777, 0640);
	CHECK_OK("IPC_RMID while attached", shmctl(id, IPC_RMID, NULL));
	CHECK_OK("IPC_STAT of a removed segment still attached", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("SHM_DEST is set", ds.shm_perm.mode & SHM_DEST, SHM_DEST);
	CHECK_EQ("the key is gone", ds.shm_perm.__key, IPC_PRIVATE);
	CHECK_ERR("the key no longer finds it", shmget(key, 0, 0), ENOENT);
	CHECK_STR("the memory is still there", p, "from parent");
	CHECK_OK("the last shmdt", shmdt(p));
	CHECK_ERR("the segment is gone after the last detach", shmctl(id, IPC_STAT, &ds), EINVAL);
	CHECK_ERR("IPC_RMID of a removed id", shmctl(id, IPC_RMID, NULL), EINVAL);

	struct shminfo info;
	CHECK("IPC_INFO", shmctl(0, IPC_INFO, (struct shmid_ds *)&info) >= 0);
	CHECK_EQ("shmmin", info.shmmin, 1);
	struct shm_info sinfo;
	CHECK("SHM_INFO", shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo) >= 0);
	CHECK("SHM_INFO counts a segment", sinfo.used_ids >= 1);
	CHECK_ERR("an unknown command", shmctl(priv, 99, &ds), EINVAL);
	CHECK_ERR("a negative id", shmctl(-5, IPC_STAT, &ds), EINVAL);
	CHECK_OK("IPC_RMID of the private segment", shmctl(priv, IPC_RMID, NULL));
	T_DONE();
}
