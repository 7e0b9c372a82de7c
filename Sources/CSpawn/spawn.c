// posix_spawn without Foundation's Process, whose descriptor scan crashes
// once a process holds ~1,370 descriptors (docs/performance.md, problem 2)
// and costs O(open descriptors) per spawn.
#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>

int polyflow_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
                   int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }

    int fds[3] = {stdin_fd, stdout_fd, stderr_fd};
    for (int target = 0; target < 3 && rc == 0; target++) {
        rc = posix_spawn_file_actions_adddup2(&actions, fds[target], target);
    }
    // Everything else is closed in the child: fifos, sockets, other children's pipes.
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (rc == 0 && directory != NULL) rc = posix_spawn_file_actions_addchdir_np(&actions, directory);

    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &empty);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &defaults);
    // Its own process group (pgid = its pid): whatever it forks can be ended with it.
    if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    if (rc == 0) rc = posix_spawn(pid, path, &actions, &attr, argv, envp);

    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

int polyflow_malloc_trim(void) {
    return malloc_trim(0);
}

int polyflow_pidfd_open(pid_t pid) {
    return pidfd_open(pid, 0);
}

int polyflow_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int polyflow_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int polyflow_epoll_add(int epfd, int fd, uint64_t token) {
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = token};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int polyflow_epoll_remove(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

int polyflow_epoll_wait(int epfd, uint64_t *tokens, int max) {
    struct epoll_event events[64];
    int n = epoll_wait(epfd, events, max < 64 ? max : 64, -1);
    for (int i = 0; i < n; i++) tokens[i] = events[i].data.u64;
    return n;
}
