#pragma once

#include "gpu-backend/virtio_gpu/device.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

namespace tessera::compositor {

// Paces one guest scanout to the display: a frame the guest flushed is done when the output
// presented the first commit that contained it, and only then are its fences signalled (the
// guest waits for them before it draws the next frame). A scanout that is not on an enabled
// output is paced by a virtual vblank at its zone's refresh instead, so its guest never stalls.
// No fence ever holds up an output: the pacer only listens to what the output did.
//
// Pure bookkeeping with times passed in, no wlroots: GuestScanout feeds it the output's commit
// and present events and its timer.
class FramePacer {
public:
    using Clock = std::chrono::steady_clock;
    using Token = gpu::ResponseToken;

    explicit FramePacer(std::function<void(Token)> signal_fence);

    // The guest has a new frame on screen (flush or new framebuffer) at `now`. A frame not yet
    // committed is replaced by it: it was never seen, and its fences move to the new one.
    void frame(Clock::time_point now);
    // A fence for the latest frame. With no frame waiting to be shown it goes with the last
    // committed one, or is signalled at once when everything was presented already.
    void add_fence(Token token);

    // The output committed a new buffer as commit `seq`: the waiting frame is in it.
    void committed(uint32_t seq);
    // The output presented commit `seq` at `when` (CLOCK_MONOTONIC, as steady_clock).
    void presented(uint32_t seq, Clock::time_point when);

    // When tick() should run next; nullopt when nothing waits. `live`: the scanout is on an
    // enabled output. Hidden, it is the next virtual vblank (`period` apart); on screen, a
    // watchdog for frames the output will never show (fully covered, or the commit failed).
    [[nodiscard]] std::optional<Clock::time_point> next_tick(Clock::time_point now, bool live,
                                                             Clock::duration period) const;
    // Hidden: signals everything (a virtual vblank). On screen: gives up on frames waiting for
    // longer than the watchdog, signalling their fences.
    void tick(Clock::time_point now, bool live, Clock::duration period);

    // Signals every fence now (the scanout went away, the output was destroyed).
    void release_all();
    // Forgets every fence without signalling it (the device dropped them itself).
    void forget_fences();

    [[nodiscard]] bool waiting() const { return pending_.has_value() || !in_flight_.empty(); }
    [[nodiscard]] uint64_t frames() const { return frames_; }
    [[nodiscard]] uint64_t presented_frames() const { return presented_; }
    [[nodiscard]] uint64_t replaced_frames() const { return replaced_; }
    [[nodiscard]] uint64_t fences_signalled() const { return fences_signalled_; }
    // Flush-to-present latency of the last presented frames: the q-quantile (0..1), or nullopt
    // before the first one.
    [[nodiscard]] std::optional<Clock::duration> latency(double q) const;

    static constexpr size_t latency_window = 1024;
    static constexpr int watchdog_periods = 3;

private:
    struct Frame {
        Clock::time_point flushed;
        std::vector<Token> fences;
        uint32_t seq = 0; // commit holding it, once committed (wlr_output.commit_seq)
    };

    void finish(Frame& frame);

    std::function<void(Token)> signal_fence_;
    std::optional<Frame> pending_;                    // not committed yet
    std::deque<Frame> in_flight_;                     // committed, not presented yet; oldest first
    std::optional<Clock::time_point> virtual_vblank_; // phase of the virtual vblank
    uint64_t frames_ = 0;
    uint64_t presented_ = 0;
    uint64_t replaced_ = 0;
    uint64_t fences_signalled_ = 0;
    std::vector<Clock::duration> latencies_; // ring of the last latency_window
    size_t latency_next_ = 0;
};

} // namespace tessera::compositor
