#include "gpu-backend/base/epoll_loop.hpp"

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera {

namespace {

constexpr int max_events = 32;

// The event's data: the fd in the low half, the watch's id in the high half, so that an event
// for a watch removed (and its fd number reused) in the same round is recognised as stale.
uint64_t pack(int fd, uint64_t id) {
    return (id << 32) | static_cast<uint32_t>(fd);
}

} // namespace

EpollLoop::EpollLoop() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {}

std::optional<std::string> EpollLoop::add_fd(int fd, std::function<void()> on_readable) {
    if (!epoll_) {
        return "no epoll instance";
    }
    if (watches_.contains(fd)) {
        return "the fd is watched already";
    }
    uint64_t id = next_id_++ & 0xffffffffu;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = pack(fd, id);
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
        return std::string(std::strerror(errno));
    }
    watches_.emplace(fd, Watch{id, std::move(on_readable)});
    return std::nullopt;
}

void EpollLoop::remove_fd(int fd) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) {
        return;
    }
    watches_.erase(it);
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0) {
        ++stale_; // closed before it was removed (EBADF), or closed and its number reused
    }
}

size_t EpollLoop::dispatch(int timeout_ms) {
    if (!epoll_ || watches_.empty()) {
        return 0;
    }
    std::array<epoll_event, max_events> events{};
    int n = epoll_wait(epoll_.get(), events.data(), max_events, timeout_ms);
    size_t ran = 0;
    for (int i = 0; i < n; ++i) {
        int fd = static_cast<int>(static_cast<uint32_t>(events[i].data.u64));
        uint64_t id = events[i].data.u64 >> 32;
        auto it = watches_.find(fd);
        if (it == watches_.end() || it->second.id != id) {
            continue; // removed by an earlier handler of this round
        }
        auto handler = it->second.on_readable; // a copy: the handler may remove itself
        handler();
        ++ran;
    }
    return ran;
}

} // namespace tessera
