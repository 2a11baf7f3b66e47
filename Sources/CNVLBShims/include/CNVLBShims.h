#ifndef NVLB_SHIMS_H
#define NVLB_SHIMS_H

#include <stdint.h>
#include <stddef.h>

/// Prefetch the cache line at `address` for reading (and later writing).
static inline void nvlb_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Pin the calling thread to one CPU. Returns 0 or an errno value.
int nvlb_pin_current_thread(int cpu);

/// The CPU the calling thread runs on, or -1.
int nvlb_current_cpu(void);

/// CPU time consumed by the calling thread, in nanoseconds.
uint64_t nvlb_thread_cpu_nanoseconds(void);

/// Monotonic clock, in nanoseconds.
uint64_t nvlb_monotonic_nanoseconds(void);

/// The CPUs the calling thread may run on (its `sched_getaffinity` mask), ascending.
/// Writes at most `capacity` CPU numbers into `cpus` and returns how many CPUs the mask
/// holds (which may exceed `capacity`: call again with a larger buffer), or -errno.
int nvlb_allowed_cpus(int32_t *cpus, int capacity);

/// Name the calling thread (`pthread_setname_np`); `name` is truncated to the 15 bytes
/// Linux allows. Returns 0 or an errno value.
int nvlb_set_current_thread_name(const char *name);

#endif
