#ifndef POLYFLOW_CSPAWN_H
#define POLYFLOW_CSPAWN_H

#include <sys/types.h>

/// Spawns `path` with `argv` and `envp` (NULL-terminated) in `directory`
/// (NULL: the caller's), its stdin, stdout and stderr on the given
/// descriptors and every other descriptor closed; signal mask empty and
/// SIGPIPE back to its default; in a new process group whose id is its pid.
/// Returns 0 and sets `*pid`, or an errno.
int polyflow_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
                   int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid);

/// A descriptor that becomes readable when `pid` exits (pidfd_open), or -1 with errno set.
int polyflow_pidfd_open(pid_t pid);

/// pipe2(fds, O_CLOEXEC): 0, or -1 with errno set.
int polyflow_pipe_cloexec(int fds[2]);

#include <stdint.h>

/// An epoll set (close-on-exec), or -1 with errno set.
int polyflow_epoll_create(void);
/// Watches `fd` for input (and hang-up), level-triggered; `token` comes back from wait.
int polyflow_epoll_add(int epfd, int fd, uint64_t token);
/// Stops watching `fd` (before it is closed).
int polyflow_epoll_remove(int epfd, int fd);
/// Waits (no timeout) for at most `max` (≤ 64) ready descriptors; writes their tokens; returns how many, or -1 with errno set.
int polyflow_epoll_wait(int epfd, uint64_t *tokens, int max);

/// Hands freed heap memory back to the system (glibc's malloc_trim(0)); 1 if some was released.
int polyflow_malloc_trim(void);

#endif
