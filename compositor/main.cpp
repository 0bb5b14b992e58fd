#include "display_priority.hpp"
#include "event_loop.hpp"
#include "ivi/layout_file.hpp"
#include "log_scopes.hpp"
#include "server.hpp"
#include "tessera_config.hpp"
#include "util/child_process.hpp"
#include "util/options.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <print>
#include <string_view>
#include <vector>

using namespace tessera;
using namespace tessera::compositor;

namespace {

// How long startup commands get to exit after SIGTERM when tessera shuts down.
constexpr std::chrono::milliseconds kill_grace{3000};

void report_child_exit(pid_t pid, int status) {
    if (WIFEXITED(status)) {
        log::info(comp_log, "child {} exited with status {}", pid, WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        log::info(comp_log, "child {} killed by signal {}", pid, WTERMSIG(status));
    }
}

// Serves until SIGINT or SIGTERM; the startup commands' process groups go into `started_groups`
// as they are started. Returns the exit status.
int serve(Server& server, const Options& options, std::vector<pid_t>& started_groups) {
    SignalWatch on_sigint(server.event_loop(), SIGINT, [&] { server.terminate(); });
    SignalWatch on_sigterm(server.event_loop(), SIGTERM, [&] { server.terminate(); });
    // A group is forgotten once it is empty, so that its id, free for reuse then, is never
    // signalled.
    SignalWatch on_sigchld(server.event_loop(), SIGCHLD, [&] {
        reap_children(report_child_exit);
        std::erase_if(started_groups, [](pid_t group) { return kill(-group, 0) != 0; });
    });

    if (auto started = server.start(); !started) {
        log::error(comp_log, "{}", started.error());
        return 1;
    }
    setenv("WAYLAND_DISPLAY", server.socket_name().c_str(), 1);
    setenv("TESSERA_SOCKET", server.control_socket_path().c_str(), 1);
    log::info(comp_log, "tessera {} running on WAYLAND_DISPLAY={}", TESSERA_VERSION,
              server.socket_name());
    // Scripts read this line to find the socket.
    std::println("WAYLAND_DISPLAY={}", server.socket_name());
    std::fflush(stdout);

    become_child_subreaper();
    for (const auto& command : options.startup_commands) {
        if (auto pid = spawn_shell_command(command); pid) {
            log::info(comp_log, "started '{}' as pid {}", command, *pid);
            started_groups.push_back(*pid);
        } else {
            log::error(comp_log, "{}", pid.error());
        }
    }

    server.run();
    return 0;
}

// What the startup commands started ends with tessera: their process groups, and any of their
// descendants that were orphaned onto tessera (a daemon, a setsid'd process).
void end_startup_commands(const std::vector<pid_t>& started_groups) {
    if (started_groups.empty() && running_children().empty()) {
        return;
    }
    log::info(comp_log, "ending what the startup commands started ({} process group(s) left)",
              started_groups.size());
    if (int killed = end_started_processes(started_groups, kill_grace, report_child_exit)) {
        log::warn(comp_log, "killed what ignored SIGTERM for {} ms ({} process(es) or groups)",
                  kill_grace.count(), killed);
    }
}

int run(const Options& options) {
    std::optional<ivi::Layout> layout;
    if (!options.layout_path.empty()) {
        auto loaded = ivi::load_layout_file(options.layout_path);
        if (!loaded) {
            log::error(comp_log, "layout: {}", loaded.error().describe());
            return 1;
        }
        layout = std::move(*loaded);
    }
    raise_display_priority();
    auto created = Server::create(options, std::move(layout));
    if (!created) {
        log::error(comp_log, "{}", created.error());
        return 1;
    }
    std::vector<pid_t> started_groups;
    int status = serve(**created, options, started_groups);
    log::info(comp_log, "shutting down");
    // Clients and VMMs lose their connections first: a VMM stopping its device waits for the
    // device's answers, which a tessera busy ending that VMM would never give.
    created->reset();
    end_startup_commands(started_groups);
    return status;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    auto options = parse_options(args);
    if (!options) {
        std::println(stderr, "tessera: {}\nTry 'tessera --help' for more information.",
                     options.error());
        return 2;
    }
    if (options->action == Options::Action::help) {
        std::print("{}", usage_text("tessera"));
        return 0;
    }
    if (options->action == Options::Action::version) {
        std::println("tessera {}", TESSERA_VERSION);
        return 0;
    }

    for (const char* spec :
         std::array<const char*, 2>{std::getenv("TESSERA_LOG"), options->log_spec.c_str()}) {
        if (spec && *spec) {
            if (auto error = log::configure(spec)) {
                std::println(stderr, "tessera: log level: {}", *error);
                return 2;
            }
        }
    }
    route_wlroots_log();
    signal(SIGPIPE, SIG_IGN);
    return run(*options);
}
