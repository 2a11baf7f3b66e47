#ifndef NVLB_SPAWN_H
#define NVLB_SPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL-terminated) as a child that receives
/// `death_signal` when the calling thread's process dies (PR_SET_PDEATHSIG), so a helper
/// such as the BGP speaker never outlives nvlb. The child's standard input is /dev/null;
/// its standard output and error go to `output_fd` (or stay inherited when -1). Returns
/// the child's pid or -errno.
pid_t nvlb_spawn_child(const char *path, char *const argv[], char *const envp[], int output_fd, int death_signal);

#endif
