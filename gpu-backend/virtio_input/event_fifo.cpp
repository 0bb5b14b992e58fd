#include "gpu-backend/virtio_input/event_fifo.hpp"

#include <linux/input-event-codes.h>

namespace tessera::gpu::input {

bool EventFifo::push_frame(std::span<const InputEvent> frame) {
    bool well_formed = !frame.empty() && frame.size() <= max_frame_events &&
                       frame.back() == InputEvent{EV_SYN, SYN_REPORT, 0};
    if (!well_formed) {
        ++stats_.frames_dropped;
        return false;
    }
    present_.apply(frame);
    if (behind_) {
        // One catch-up frame takes the guest to the present, this frame's state included
        // (its relative motion is lost with the dropped frames'). When the present is where
        // the guest already is (a key pressed and released meanwhile), nothing goes out.
        if (catch_up() == CatchUp::sent) {
            return true;
        }
        ++stats_.frames_dropped;
        return false;
    }
    // A frame always fits an empty FIFO (it is at most max_frame_events long).
    if (!events_.empty() && events_.size() + frame.size() > capacity_) {
        behind_ = true;
        ++stats_.frames_dropped;
        return false;
    }
    events_.insert(events_.end(), frame.begin(), frame.end());
    queued_.apply(frame);
    ++stats_.frames_queued;
    return true;
}

EventFifo::CatchUp EventFifo::catch_up() {
    auto frame = EvdevState::transition(queued_, present_);
    // Into an empty FIFO it always goes, however long: its length is bounded by the state
    // (keys and slots), and a guest left behind for good would keep its keys down.
    if (!events_.empty() && events_.size() + frame.size() > capacity_) {
        return CatchUp::no_room;
    }
    behind_ = false;
    queued_ = present_;
    if (frame.empty()) {
        return CatchUp::nothing_owed;
    }
    events_.insert(events_.end(), frame.begin(), frame.end());
    ++stats_.resyncs;
    return CatchUp::sent;
}

void EventFifo::pop() {
    events_.pop_front();
    ++stats_.events_delivered;
    if (behind_) {
        catch_up();
    }
}

void EventFifo::reset() {
    events_.clear();
    queued_.clear();
    present_.clear();
    behind_ = false;
}

} // namespace tessera::gpu::input
