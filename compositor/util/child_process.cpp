#include "child_process.hpp"

#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cstring>
#include <format>
#include <string_view>

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

} // namespace tessera
