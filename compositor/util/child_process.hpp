#pragma once

#include <sys/types.h>

#include <expected>
#include <string>
#include <vector>

namespace tessera {

// Starts `/bin/sh -c command` with the current environment plus `extra_env` ("NAME=value"),
// with every signal unblocked and at its default disposition, whatever the parent has.
std::expected<pid_t, std::string>
spawn_shell_command(const std::string& command, const std::vector<std::string>& extra_env = {});

// Reaps every child that has exited, calling `on_exit(pid, wait status)` for each.
template <typename OnExit> void reap_children(OnExit&& on_exit);

} // namespace tessera

#include <sys/wait.h>

template <typename OnExit> void tessera::reap_children(OnExit&& on_exit) {
    int status = 0;
    pid_t pid = 0;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        on_exit(pid, status);
    }
}
