/* libc features that live in TLS: errno across calls, strtok (static state), strerror,
 * locale-free ctype, stdio and malloc (tcache/thread arenas). */
#include "../test.h"
#include <ctype.h>

static __thread int depth;

static int __attribute__((noinline)) recurse(int n)
{
	depth++;
	int r = n ? recurse(n - 1) + 1 : depth;
	depth--;
	return r;
}

int main(void)
{
	T_BEGIN();
	char text[] = "a,b,,c";
	const char *parts[4] = { 0 };
	int n = 0;
	for (char *t = strtok(text, ","); t && n < 4; t = strtok(NULL, ","))
		parts[n++] = t;
	CHECK_EQ("strtok count", n, 3);
	CHECK_STR("strtok third", parts[2], "c");
	CHECK_STR("strerror(ENOENT)", strerror(ENOENT), "No such file or directory");
	CHECK("toupper", toupper('q') == 'Q');
	void *blocks[100];
	for (int i = 0; i < 100; i++)
		blocks[i] = malloc(16 + i * 8);
	int distinct = 1;
	for (int i = 1; i < 100; i++)
		if (blocks[i] == blocks[i - 1])
			distinct = 0;
	CHECK("malloc blocks distinct", distinct);
	for (int i = 0; i < 100; i++)
		free(blocks[i]);
	CHECK_EQ("recursion with a TLS counter", recurse(50), 101);
	CHECK_EQ("TLS counter restored", depth, 0);
	errno = 0;
	CHECK("fopen missing returns NULL", fopen("/nonexistent/file", "r") == NULL);
	CHECK_EQ("errno after fopen", errno, ENOENT);
	char buf[32];
	snprintf(buf, sizeof buf, "%d-%s-%.2f", 12, "x", 1.5);
	CHECK_STR("snprintf", buf, "12-x-1.50");
	T_DONE();
}
