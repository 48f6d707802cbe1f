/* __thread variables (initialized, zero, arrays, address-taken) and errno live in TLS;
 * under mactux every %fs: access here goes through the fs->gs patch. */
#include "../test.h"
#include <stdint.h>

static __thread int t_init = 42;
static __thread long t_zero;
static __thread char t_str[16] = "tls-string";
static __thread int t_array[64] = { 1, 2, 3, [63] = 64 };
__thread unsigned long long t_extern_visible = 0x1122334455667788ULL;

static int *__attribute__((noinline)) addr_of_init(void) { return &t_init; }

static int __attribute__((noinline)) sum_array(void)
{
	int s = 0;
	for (int i = 0; i < 64; i++)
		s += t_array[i];
	return s;
}

int main(void)
{
	T_BEGIN();
	CHECK_EQ("initialized __thread int", t_init, 42);
	CHECK_EQ("zero __thread long", t_zero, 0);
	CHECK_STR("initialized __thread string", t_str, "tls-string");
	CHECK_EQ("static-initialized TLS array sum", sum_array(), 70);
	CHECK_EQ("TLS array last element", t_array[63], 64);
	CHECK_EQ("TLS array untouched middle", t_array[30], 0);
	CHECK_EQ("extern TLS 64-bit value", t_extern_visible, 0x1122334455667788ULL);

	t_init = 7;
	t_zero = -5;
	strcpy(t_str, "changed");
	for (int i = 0; i < 64; i++)
		t_array[i] = i;
	t_extern_visible++;
	CHECK_EQ("write __thread int", t_init, 7);
	CHECK_EQ("write __thread long", t_zero, -5);
	CHECK_STR("write __thread string", t_str, "changed");
	CHECK_EQ("rewritten TLS array sum", sum_array(), 2016);
	CHECK_EQ("extern TLS increment", t_extern_visible, 0x1122334455667789ULL);

	int *p = addr_of_init();
	*p = 99;
	CHECK_EQ("write through TLS address", t_init, 99);
	uintptr_t self;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	CHECK("TLS address lies near the thread pointer",
	      (uintptr_t)p < self + 65536 && (uintptr_t)p + 65536 > self);

	/* errno is a TLS variable too. */
	errno = 0;
	CHECK_EQ("failing close", close(-1), -1);
	CHECK_EQ("errno set to EBADF", errno, EBADF);
	int *e1 = &errno;
	errno = 1234;
	CHECK_EQ("errno readable through its address", *e1, 1234);

	/* Many TLS accesses in a loop (one patched site executed repeatedly). */
	long acc = 0;
	for (int i = 0; i < 100000; i++) {
		t_zero += i;
		acc += t_zero & 1;
	}
	CHECK_EQ("TLS loop result", t_zero, 4999950000L - 5);
	CHECK_EQ("TLS loop parity count", acc, 50000);
	T_DONE();
}
