#pragma once

#include "gpu-backend/base/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

// A small level-triggered epoll loop for code that runs without wayland: a guest's device
// process, and the tests of the GPU backend. It refuses what the compositor's wl_event_loop
// (also epoll) refuses, such as regular files, so tests see what the product sees.
namespace tessera {

class EpollLoop {
public:
    EpollLoop();
    EpollLoop(const EpollLoop&) = delete;
    EpollLoop& operator=(const EpollLoop&) = delete;

    // Watches `fd` for readability (and hang-up or error, reported the same way). The error
    // says why epoll refused it; nothing is watched then.
    std::optional<std::string> add_fd(int fd, std::function<void()> on_readable);
    void remove_fd(int fd);
    [[nodiscard]] bool watching(int fd) const { return watches_.contains(fd); }
    [[nodiscard]] size_t watch_count() const { return watches_.size(); }
    // Watches removed after their fd was closed (epoll had lost them): someone closed an fd
    // without removing it first. Tests expect 0.
    [[nodiscard]] uint64_t stale_fds() const { return stale_; }

    // The epoll fd, readable when an fd is ready: a loop nested in another watches it.
    [[nodiscard]] int fd() const { return epoll_.get(); }

    // One epoll_wait() (timeout_ms -1: no timeout); runs the handler of every ready fd still
    // watched and returns how many ran. A handler may add and remove watches, its own included.
    size_t dispatch(int timeout_ms);

private:
    struct Watch {
        uint64_t id;
        std::function<void()> on_readable;
    };
    UniqueFd epoll_;
    std::unordered_map<int, Watch> watches_;
    uint64_t next_id_ = 1;
    uint64_t stale_ = 0;
};

} // namespace tessera
