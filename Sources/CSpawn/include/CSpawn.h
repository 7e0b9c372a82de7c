#ifndef POLYFLOW_CSPAWN_H
#define POLYFLOW_CSPAWN_H

#include <sys/types.h>

/// Spawns `path` with `argv` and `envp` (NULL-terminated) in `directory`
/// (NULL: the caller's), its stdin, stdout and stderr on the given
/// descriptors and every other descriptor closed; signal mask empty and
/// SIGPIPE back to its default. Returns 0 and sets `*pid`, or an errno.
int polyflow_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
                   int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid);

/// A descriptor that becomes readable when `pid` exits (pidfd_open), or -1 with errno set.
int polyflow_pidfd_open(pid_t pid);

/// pipe2(fds, O_CLOEXEC): 0, or -1 with errno set.
int polyflow_pipe_cloexec(int fds[2]);

#endif
