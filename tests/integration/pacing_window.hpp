#pragma once

#include "guest/guest_scanout.hpp"
#include "output.hpp"

#include <catch2/catch_test_macros.hpp>

#include <chrono>

// Whether a guest was paced to its zone's output over a stretch of running, from its scanout's
// figures and the output's presents. tessera's part is exact: each frame the guest sent was shown
// with the output's next present, none was replaced, none was held back a refresh. The guest's
// own rate also needs its process to get the CPU, which a loaded test machine does not promise;
// so it is bounded above by the output's (paced: never faster) and below by three quarters of it
// (a fence answered a refresh late would halve it).
namespace tessera::test {

class PacingWindow {
public:
    using Clock = std::chrono::steady_clock;

    // Opens the window now.
    PacingWindow(const compositor::GuestScanout& scanout, const compositor::Output& output)
        : scanout_(scanout), output_(output), before_(scanout.stats()),
          output_before_(output.frames_presented()) {}

    // Closes it; the figures below are the window's.
    void close() {
        after_ = scanout_.stats();
        output_after_ = output_.frames_presented();
        seconds_ = std::chrono::duration<double>(Clock::now() - opened_).count();
    }

    [[nodiscard]] double output_rate() const { return rate(output_after_ - output_before_); }
    [[nodiscard]] double flip_rate() const { return rate(after_.frames - before_.frames); }
    [[nodiscard]] double presented_rate() const {
        return rate(after_.presented - before_.presented);
    }
    [[nodiscard]] uint64_t replaced() const { return after_.replaced - before_.replaced; }
    // Frames sent but not presented in the window, less those presented that were sent before
    // it: at most one at either edge.
    [[nodiscard]] int64_t unpresented() const {
        return static_cast<int64_t>(after_.frames - before_.frames) -
               static_cast<int64_t>(after_.presented - before_.presented);
    }
    [[nodiscard]] const compositor::ScanoutStats& after() const { return after_; }

    // Checks tessera's part and the bounds of the guest's rate (see above), with the output
    // presenting at more than `min_output_rate`.
    void check_paced(double min_output_rate) const {
        // A loaded machine runs a frame late by a few milliseconds now and then; a frame held
        // back a whole refresh is well past that.
        constexpr double scheduling_allowance_ms = 30;
        INFO("over " << seconds_ << " s: output " << output_rate() << " presents/s, guest "
                     << flip_rate() << " flips/s, " << presented_rate()
                     << " presented/s, flush to present p50 " << after_.latency_p50_ms.value_or(-1)
                     << " ms p99 " << after_.latency_p99_ms.value_or(-1) << " ms");
        CHECK(output_rate() > min_output_rate);
        CHECK(replaced() == 0);
        CHECK(std::abs(unpresented()) <= 1);
        REQUIRE(after_.latency_p99_ms);
        CHECK(*after_.latency_p99_ms <= 1000 / output_rate() + scheduling_allowance_ms);
        // Never faster than the output, but for the one frame a window's edge may cut from its
        // present: counted, not as a rate, which a short window would blow up.
        CHECK(after_.frames - before_.frames <= output_after_ - output_before_ + 1);
        CHECK(flip_rate() > 0.75 * output_rate());
    }

private:
    [[nodiscard]] double rate(uint64_t count) const {
        return seconds_ > 0 ? static_cast<double>(count) / seconds_ : 0;
    }

    const compositor::GuestScanout& scanout_;
    const compositor::Output& output_;
    Clock::time_point opened_ = Clock::now();
    compositor::ScanoutStats before_;
    compositor::ScanoutStats after_;
    uint64_t output_before_ = 0;
    uint64_t output_after_ = 0;
    double seconds_ = 0;
};

} // namespace tessera::test
