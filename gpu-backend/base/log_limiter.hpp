#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

// Bounds the log lines a guest can cause (shared by every layer of the GPU backend): at most
// `burst` lines per window, and the first line of a later window says how many were dropped. The
// clock is injectable for tests.
namespace tessera::gpu {

class LogLimiter {
public:
    using Clock = std::chrono::steady_clock;
    using Now = std::function<Clock::time_point()>;

    explicit LogLimiter(uint32_t burst = 10, Clock::duration window = std::chrono::seconds(5),
                        Now now = &Clock::now)
        : burst_(burst), window_(window), now_(std::move(now)) {}

    // True when a line may be written; `dropped` is then the count suppressed before it.
    bool allow(uint64_t& dropped) {
        auto t = now_();
        if (!started_ || t - window_start_ >= window_) {
            started_ = true;
            window_start_ = t;
            used_ = 0;
        }
        if (used_ >= burst_) {
            ++suppressed_;
            return false;
        }
        ++used_;
        dropped = suppressed_;
        suppressed_ = 0;
        return true;
    }

private:
    uint32_t burst_;
    Clock::duration window_;
    Now now_;
    bool started_ = false;
    Clock::time_point window_start_{};
    uint32_t used_ = 0;
    uint64_t suppressed_ = 0;
};

} // namespace tessera::gpu
