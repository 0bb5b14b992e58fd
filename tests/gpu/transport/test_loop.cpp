#include "test_loop.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace tessera::gpu::test {

void TestEventLoop::add_fd(int fd, std::function<void()> on_readable) {
    if (watching(fd)) {
        // A programming error in the code under test: fail the test loudly.
        throw std::logic_error("fd watched twice");
    }
    watches_.push_back({fd, next_id_++, std::move(on_readable)});
}

void TestEventLoop::remove_fd(int fd) {
    std::erase_if(watches_, [fd](const Watch& w) { return w.fd == fd; });
}

bool TestEventLoop::watching(int fd) const {
    return std::ranges::any_of(watches_, [fd](const Watch& w) { return w.fd == fd; });
}

size_t TestEventLoop::dispatch(int timeout_ms) {
    std::vector<pollfd> fds;
    std::vector<uint64_t> ids;
    for (const auto& w : watches_) {
        fds.push_back({w.fd, POLLIN, 0});
        ids.push_back(w.id);
    }
    if (fds.empty()) {
        return 0;
    }
    if (poll(fds.data(), fds.size(), timeout_ms) <= 0) {
        return 0;
    }
    size_t ran = 0;
    for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents & POLLNVAL) {
            ++stale_;
            continue;
        }
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
            continue;
        }
        // The handler may have been removed (or replaced) by an earlier one in this round.
        auto it = std::ranges::find_if(watches_, [&](const Watch& w) { return w.id == ids[i]; });
        if (it == watches_.end()) {
            continue;
        }
        auto handler = it->on_readable; // a copy: the handler may remove itself
        handler();
        ++ran;
    }
    return ran;
}

void TestEventLoop::run_until_idle() {
    for (int rounds = 0; rounds < 10000 && dispatch(0) > 0; ++rounds) {
    }
}

bool TestEventLoop::run_until(const std::function<bool()>& done, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return done();
        }
        dispatch(5);
    }
    return true;
}

std::function<void(int, std::function<void()>)> TestEventLoop::add_fd_callback() {
    return [this](int fd, std::function<void()> cb) { add_fd(fd, std::move(cb)); };
}

std::function<void(int)> TestEventLoop::remove_fd_callback() {
    return [this](int fd) { remove_fd(fd); };
}

} // namespace tessera::gpu::test
