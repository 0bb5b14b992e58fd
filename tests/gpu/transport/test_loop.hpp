#pragma once

#include "gpu-backend/base/epoll_loop.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

// The event loop of the GPU backend's tests: the product's epoll loop (EpollLoop, which the
// device process runs and which refuses what the compositor's wl_event_loop refuses), with the
// waits tests need.
namespace tessera::gpu::test {

class TestEventLoop {
public:
    std::optional<std::string> add_fd(int fd, std::function<void()> on_readable);
    void remove_fd(int fd) { loop_.remove_fd(fd); }
    [[nodiscard]] bool watching(int fd) const { return loop_.watching(fd); }
    [[nodiscard]] size_t watch_count() const { return loop_.watch_count(); }
    // Watched fds closed before they were removed. Tests expect 0.
    [[nodiscard]] uint64_t stale_fds() const { return loop_.stale_fds(); }
    // Fds the loop refused to watch (add_fd failed).
    [[nodiscard]] uint64_t refused_fds() const { return refused_; }

    // One round; runs the handler of every readable fd and returns how many ran.
    size_t dispatch(int timeout_ms) { return loop_.dispatch(timeout_ms); }
    // Dispatches until a round runs nothing.
    void run_until_idle();
    // Dispatches until done() or the timeout; returns done().
    bool run_until(const std::function<bool()>& done, int timeout_ms = 2000);

    // The callbacks a Connection takes.
    std::function<bool(int, std::function<void()>)> add_fd_callback();
    std::function<void(int)> remove_fd_callback();

private:
    EpollLoop loop_;
    uint64_t refused_ = 0;
};

} // namespace tessera::gpu::test
