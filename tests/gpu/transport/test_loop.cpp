#include "test_loop.hpp"

#include <chrono>
#include <stdexcept>

namespace tessera::gpu::test {

std::optional<std::string> TestEventLoop::add_fd(int fd, std::function<void()> on_readable) {
    if (watching(fd)) {
        // A programming error in the code under test: fail the test loudly.
        throw std::logic_error("fd watched twice");
    }
    auto error = loop_.add_fd(fd, std::move(on_readable));
    if (error) {
        ++refused_;
    }
    return error;
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

std::function<bool(int, std::function<void()>)> TestEventLoop::add_fd_callback() {
    return [this](int fd, std::function<void()> cb) { return !add_fd(fd, std::move(cb)); };
}

std::function<void(int)> TestEventLoop::remove_fd_callback() {
    return [this](int fd) { remove_fd(fd); };
}

} // namespace tessera::gpu::test
