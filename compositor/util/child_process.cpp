#include "child_process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <format>
#include <fstream>
#include <string_view>
#include <thread>

extern char** environ;

namespace tessera {

std::expected<pid_t, std::string> spawn_shell_command(const std::string& command,
                                                      const std::vector<std::string>& extra_env) {
    std::vector<std::string> env_storage;
    for (char** entry = environ; *entry; ++entry) {
        std::string_view item(*entry);
        bool overridden = false;
        for (const auto& extra : extra_env) {
            auto name = extra.substr(0, extra.find('=') + 1);
            overridden = overridden || item.starts_with(name);
        }
        if (!overridden) {
            env_storage.emplace_back(item);
        }
    }
    env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& item : env_storage) {
        envp.push_back(item.data());
    }
    envp.push_back(nullptr);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    // The compositor blocks the signals it reads through signalfd; its children must not.
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);

    std::string shell_arg = command;
    char sh[] = "/bin/sh", dash_c[] = "-c";
    char* argv[] = {sh, dash_c, shell_arg.data(), nullptr};
    pid_t pid = 0;
    int err = posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, envp.data());
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
        return std::unexpected(std::format("cannot run '{}': {}", command, std::strerror(err)));
    }
    return pid;
}

void become_child_subreaper() {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

std::vector<pid_t> running_children() {
    // Each thread lists the children it forked; orphans adopted by a subreaper are listed under
    // the thread that adopted them.
    std::vector<pid_t> children;
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
        std::ifstream list(task.path() / "children");
        for (pid_t pid = 0; list >> pid;) {
            std::ifstream stat(std::format("/proc/{}/stat", pid));
            std::string line;
            std::getline(stat, line);
            // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the
            // last ')'.
            auto state = line.rfind(')');
            if (state != std::string::npos && state + 2 < line.size() && line[state + 2] != 'Z') {
                children.push_back(pid);
            }
        }
    }
    return children;
}

int end_started_processes(const std::vector<pid_t>& groups, std::chrono::milliseconds grace,
                          void (*on_exit)(pid_t, int)) {
    auto signal_all = [&](int sig) {
        int signalled = 0;
        for (pid_t group : groups) {
            signalled += kill(-group, sig) == 0;
        }
        for (pid_t child : running_children()) {
            signalled += kill(child, sig) == 0;
        }
        return signalled;
    };
    auto all_gone = [&] {
        reap_children(on_exit);
        for (pid_t group : groups) {
            if (kill(-group, 0) == 0) {
                return false;
            }
        }
        return running_children().empty();
    };
    auto wait_until = [&](std::chrono::steady_clock::time_point deadline) {
        while (!all_gone()) {
            if (std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    };
    signal_all(SIGTERM);
    if (wait_until(std::chrono::steady_clock::now() + grace)) {
        return 0;
    }
    int killed = signal_all(SIGKILL);
    wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(1));
    return killed;
}

} // namespace tessera
