#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>

#include "gpu-backend/virtio_input/evdev_state.hpp"
#include "gpu-backend/virtio_input/protocol.hpp"

// One device's events on their way to the guest. The guest hands the device one buffer per
// event (4 at a time over QEMU's vhost-user-input), so frames wait here in order and go out as
// buffers come back. Bounded: a guest that stops taking events loses whole frames, counted,
// and when it takes events again it first gets one frame that brings its device to the
// present (nothing stuck down), then the frames that follow.
namespace tessera::gpu::input {

struct FifoStats {
    uint64_t frames_queued = 0;
    uint64_t frames_dropped = 0; // lost to a full FIFO (the guest not taking events)
    uint64_t resyncs = 0;        // frames made to catch a guest up after drops
    uint64_t events_delivered = 0;
};

class EventFifo {
public:
    static constexpr size_t default_capacity = 256; // events
    // The longest frame; one always fits into an empty FIFO, whatever its capacity.
    static constexpr size_t max_frame_events = 128;

    explicit EventFifo(size_t capacity = default_capacity) : capacity_(capacity) {}

    // Queues one frame: events ending in SYN_REPORT. After drops it goes as part of a
    // catch-up frame. False when it was dropped: no room, longer than max_frame_events, or
    // not ending in SYN_REPORT.
    bool push_frame(std::span<const InputEvent> frame);

    [[nodiscard]] bool empty() const { return events_.empty(); }
    [[nodiscard]] size_t size() const { return events_.size(); }
    [[nodiscard]] size_t capacity() const { return capacity_; }
    [[nodiscard]] const InputEvent& front() const { return events_.front(); }
    // Takes the front event out (it was delivered), and catches the guest up once there is
    // room again after drops.
    void pop();

    // The driver restarted: nothing queued, and the device as it finds it at probe.
    void reset();

    [[nodiscard]] const FifoStats& stats() const { return stats_; }

private:
    enum class CatchUp { no_room, nothing_owed, sent };
    // Queues the frame that takes the guest from queued_ to present_ when it fits.
    CatchUp catch_up();

    size_t capacity_;
    std::deque<InputEvent> events_;
    EvdevState queued_;   // where the frames queued so far leave the guest
    EvdevState present_;  // where every frame leaves it, dropped ones included
    bool behind_ = false; // frames were dropped: queued_ is not present_
    FifoStats stats_;
};

} // namespace tessera::gpu::input
