#define _GNU_SOURCE
#include "CNVLBSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t nvlb_spawn_child(const char *path, char *const argv[], char *const envp[], int output_fd, int death_signal) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid > 0) return pid;
    // Child: only async-signal-safe calls until execve.
    if (prctl(PR_SET_PDEATHSIG, death_signal) != 0) _exit(127);
    // The parent may have died between fork and prctl: then nobody would signal us.
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        if (null_fd > 2) close(null_fd);
    }
    if (output_fd >= 0) {
        dup2(output_fd, 1);
        dup2(output_fd, 2);
    }
    // Nothing else of nvlb's (packet sockets, pipes) stays open in the child.
    syscall(SYS_close_range, 3U, ~0U, 0U);
    // A new process group: a terminal's Ctrl-C reaches nvlb, which then withdraws first.
    setpgid(0, 0);
    execve(path, argv, envp);
    _exit(127);
}
