#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include "CNVLBShims.h"

int nvlb_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int nvlb_current_cpu(void) {
    return sched_getcpu();
}

uint64_t nvlb_thread_cpu_nanoseconds(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t nvlb_monotonic_nanoseconds(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int nvlb_allowed_cpus(int32_t *cpus, int capacity) {
    /* The kernel rejects a mask smaller than its own CPU count with EINVAL: grow until it fits. */
    for (int setsize = 1024; setsize <= (1 << 20); setsize *= 2) {
        cpu_set_t *set = CPU_ALLOC(setsize);
        if (set == NULL) return -ENOMEM;
        size_t bytes = CPU_ALLOC_SIZE(setsize);
        CPU_ZERO_S(bytes, set);
        if (sched_getaffinity(0, bytes, set) != 0) {
            int error = errno;
            CPU_FREE(set);
            if (error == EINVAL) continue;
            return -error;
        }
        int count = 0;
        for (int cpu = 0; cpu < setsize; cpu++) {
            if (CPU_ISSET_S(cpu, bytes, set)) {
                if (count < capacity && cpus != NULL) cpus[count] = cpu;
                count++;
            }
        }
        CPU_FREE(set);
        return count;
    }
    return -EINVAL;
}

int nvlb_set_current_thread_name(const char *name) {
    char truncated[16];
    size_t i = 0;
    for (; i < sizeof(truncated) - 1 && name[i] != '\0'; i++) truncated[i] = name[i];
    truncated[i] = '\0';
    return pthread_setname_np(pthread_self(), truncated);
}

void nvlb_unblock_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
