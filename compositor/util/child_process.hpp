#pragma once

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <string>
#include <vector>

namespace tessera {

// Starts `/bin/sh -c command` in a session and process group of its own (whose id is the
// returned pid) with the current environment plus `extra_env` ("NAME=value"), with every signal
// unblocked and at its default disposition, whatever the parent has.
std::expected<pid_t, std::string>
spawn_shell_command(const std::string& command, const std::vector<std::string>& extra_env = {});

// Reaps every child that has exited, calling `on_exit(pid, wait status)` for each.
template <typename OnExit> void reap_children(OnExit&& on_exit);

// Makes this process the reaper of its orphaned descendants: a started command's grandchild
// whose parent exited becomes our child, so it can still be ended and is reaped here.
void become_child_subreaper();

// The direct children of this process that are still running (zombies are not listed).
std::vector<pid_t> running_children();

// Ends what this process started: SIGTERM to each of `groups` (process group ids) and to every
// running child, then waits up to `grace` for all of them to go, then SIGKILL to what is left.
// Reaps as reap_children does, calling `on_exit(pid, wait status)`. Returns how many processes
// or groups had to be killed.
int end_started_processes(const std::vector<pid_t>& groups, std::chrono::milliseconds grace,
                          void (*on_exit)(pid_t, int));

} // namespace tessera

#include <sys/wait.h>

template <typename OnExit> void tessera::reap_children(OnExit&& on_exit) {
    int status = 0;
    pid_t pid = 0;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        on_exit(pid, status);
    }
}
