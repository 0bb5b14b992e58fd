#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

// A tiny poll() event loop for tests: what the compositor's wl_event_loop is to a Connection,
// without wayland. Level-triggered like it.
namespace tessera::gpu::test {

class TestEventLoop {
public:
    void add_fd(int fd, std::function<void()> on_readable);
    void remove_fd(int fd);
    [[nodiscard]] bool watching(int fd) const;
    [[nodiscard]] size_t watch_count() const { return watches_.size(); }
    // Watched fds that poll() found closed (POLLNVAL): someone closed an fd without removing
    // it first. Tests expect 0.
    [[nodiscard]] uint64_t stale_fds() const { return stale_; }

    // One poll() round; runs the handler of every readable fd and returns how many ran.
    size_t dispatch(int timeout_ms);
    // Dispatches until a round runs nothing.
    void run_until_idle();
    // Dispatches until done() or the timeout; returns done().
    bool run_until(const std::function<bool()>& done, int timeout_ms = 2000);

    // The callbacks a Connection takes.
    std::function<void(int, std::function<void()>)> add_fd_callback();
    std::function<void(int)> remove_fd_callback();

private:
    struct Watch {
        int fd;
        uint64_t id;
        std::function<void()> on_readable;
    };
    std::vector<Watch> watches_;
    uint64_t next_id_ = 0;
    uint64_t stale_ = 0;
};

} // namespace tessera::gpu::test
