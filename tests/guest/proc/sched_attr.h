/* struct sched_attr as Linux 6.x knows it (56 bytes, SCHED_ATTR_SIZE_VER1),
 * with room after it for the size rules of sched_getattr and sched_setattr. */
#ifndef SCHED_ATTR_H
#define SCHED_ATTR_H
#include <stdint.h>

struct attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
	uint32_t beyond[4];
};

#endif
