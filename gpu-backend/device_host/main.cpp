// tessera-device: one guest's device process. tessera starts it for each VMM connection with
//   fd 3: the VMM's vhost-user socket, accepted by tessera
//   fd 4: its end of the channel to tessera (channel.hpp)
// raises its sandbox (sandbox.hpp) and serves the guest's devices until the VMM or tessera
// goes. With --3d it first starts the guest's 3D renderer (virglrenderer, on --render-node or
// EGL surfaceless), so that the renderer's driver is loaded before the walls go up. It is not
// meant to be started by hand.
#include "gpu-backend/base/epoll_loop.hpp"
#include "gpu-backend/base/fd_kind.hpp"
#include "gpu-backend/base/log.hpp"
#include "gpu-backend/device_host/device_host.hpp"
#include "gpu-backend/device_host/exit_codes.hpp"
#include "gpu-backend/device_host/sandbox.hpp"
#include "gpu-backend/virgl/virgl_renderer.hpp"

#include <csignal>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#if defined(TESSERA_SANITIZED)
#include <sanitizer/lsan_interface.h>
#endif

using namespace tessera;

namespace {

log::Scope process_log("gpu.device");

struct Options {
    std::string guest = "?";
    std::string log_spec;
    uint64_t log_origin_ns = 0; // the compositor's log clock
    gpu::SandboxLimits limits;
    bool sandbox = true;
    bool three_d = false;
    std::string render_node; // empty: EGL surfaceless
};

bool parse(int argc, char** argv, Options& options) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&](std::string_view name) -> const char* {
            return arg == name && i + 1 < argc ? argv[++i] : nullptr;
        };
        if (const char* guest = value("--guest")) {
            options.guest = guest;
        } else if (const char* spec = value("--log")) {
            options.log_spec = spec;
        } else if (const char* origin = value("--log-origin")) {
            options.log_origin_ns = std::strtoull(origin, nullptr, 10);
        } else if (const char* memory = value("--memory-limit")) {
            options.limits.memory_bytes = std::strtoull(memory, nullptr, 10);
        } else if (const char* file = value("--file-limit")) {
            options.limits.file_bytes = std::strtoull(file, nullptr, 10);
        } else if (arg == "--no-sandbox") {
            options.sandbox = false;
        } else if (arg == "--3d") {
            options.three_d = true;
        } else if (const char* node = value("--render-node")) {
            options.render_node = node;
        } else {
            return false;
        }
    }
    return true;
}

int run(const Options& options) {
    for (int fd : {gpu::device_exit::vmm_fd, gpu::device_exit::channel_fd}) {
        if (auto wrong = fd_kind::check_socket(fd)) {
            log::error(process_log, "fd {}: {}", fd, *wrong);
            return gpu::device_exit::bad_start;
        }
    }
    std::unique_ptr<gpu::VirglRenderer> renderer;
    if (options.three_d) {
        auto started = gpu::VirglRenderer::create({options.render_node});
        if (!started) {
            log::error(process_log, "no 3D: {}", started.error());
            return gpu::device_exit::no_renderer;
        }
        renderer = std::move(*started);
    }
    if (options.sandbox) {
#if defined(TESSERA_SANITIZED)
        // LeakSanitizer's check at exit stops the process's threads with ptrace, which the
        // sandbox forbids: it would fail and turn every normal end into exit status 1. Checking
        // now ends that check; the device code's leaks are checked where it runs unsandboxed
        // (the unit tests and the fuzzers).
        __lsan_do_leak_check();
#endif
        gpu::SandboxLimits limits = options.limits;
        limits.renderer = renderer != nullptr;
        limits.render_node = !options.render_node.empty();
        if (auto error = gpu::enter_sandbox(limits)) {
            log::error(process_log, "cannot enter the sandbox: {}", *error);
            return gpu::device_exit::no_sandbox;
        }
    }
    EpollLoop loop;
    bool done = false;
    gpu::DeviceHost host(
        UniqueFd(gpu::device_exit::vmm_fd), UniqueFd(gpu::device_exit::channel_fd),
        {[&](int fd, std::function<void()> on_readable) {
             return !loop.add_fd(fd, std::move(on_readable));
         },
         [&](int fd) { loop.remove_fd(fd); }},
        [&](std::string_view reason) {
            log::debug(process_log, "done: {}", reason);
            done = true;
        },
        renderer.get());
    while (!done) {
        loop.dispatch(-1);
    }
    return gpu::device_exit::done;
}

} // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse(argc, argv, options)) {
        log::error(process_log, "tessera-device is started by tessera, not by hand");
        return gpu::device_exit::bad_start;
    }
    if (!options.log_spec.empty()) {
        (void)log::configure(options.log_spec);
    }
    if (options.log_origin_ns != 0) {
        log::set_clock_origin_ns(options.log_origin_ns);
    }
    log::set_prefix("guest " + options.guest + ": ");
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN); // a file past RLIMIT_FSIZE fails to grow instead
    try {
        return run(options);
    } catch (const std::bad_alloc&) {
        log::error(process_log, "out of memory: over its limit of {} bytes",
                   options.limits.memory_bytes);
        return gpu::device_exit::out_of_memory;
    } catch (const std::exception& e) {
        log::error(process_log, "stopped: {}", e.what());
        return gpu::device_exit::failed;
    }
}
