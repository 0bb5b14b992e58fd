#include "frame_pacer.hpp"

#include <algorithm>
#include <cmath>

namespace tessera::compositor {

FramePacer::FramePacer(std::function<void(Token)> signal_fence)
    : signal_fence_(std::move(signal_fence)) {}

void FramePacer::frame(Clock::time_point now) {
    ++frames_;
    if (pending_) {
        ++replaced_;
        pending_->flushed = now;
        return;
    }
    pending_ = Frame{now, {}, 0};
}

void FramePacer::add_fence(Token token) {
    if (pending_) {
        pending_->fences.push_back(token);
    } else if (!in_flight_.empty()) {
        in_flight_.back().fences.push_back(token);
    } else {
        ++fences_signalled_;
        signal_fence_(token);
    }
}

void FramePacer::committed(uint32_t seq) {
    if (!pending_) {
        return;
    }
    pending_->seq = seq;
    in_flight_.push_back(std::move(*pending_));
    pending_.reset();
}

void FramePacer::presented(uint32_t seq, Clock::time_point when) {
    // Sequence numbers wrap: compare their distance.
    while (!in_flight_.empty() && static_cast<int32_t>(in_flight_.front().seq - seq) <= 0) {
        Frame frame = std::move(in_flight_.front());
        in_flight_.pop_front();
        ++presented_;
        auto latency = std::max(when - frame.flushed, Clock::duration::zero());
        if (latencies_.size() < latency_window) {
            latencies_.push_back(latency);
        } else {
            latencies_[latency_next_] = latency;
        }
        latency_next_ = (latency_next_ + 1) % latency_window;
        finish(frame);
    }
}

std::optional<FramePacer::Clock::time_point> FramePacer::next_tick(Clock::time_point now, bool live,
                                                                   Clock::duration period) const {
    if (!waiting()) {
        return std::nullopt;
    }
    if (live) {
        // Frames are flushed in order: the oldest is the first in flight, else the pending one.
        auto oldest = in_flight_.empty() ? pending_->flushed : in_flight_.front().flushed;
        return std::max(now, oldest + watchdog_periods * period);
    }
    // The first virtual vblank after now, keeping the phase of the previous ones.
    if (!virtual_vblank_ || period <= Clock::duration::zero()) {
        return now + period;
    }
    auto elapsed = now - *virtual_vblank_;
    auto periods = elapsed / period + 1;
    return *virtual_vblank_ + periods * period;
}

void FramePacer::tick(Clock::time_point now, bool live, Clock::duration period) {
    if (!live) {
        virtual_vblank_ = now;
        release_all();
        return;
    }
    virtual_vblank_.reset();
    auto limit = watchdog_periods * period;
    while (!in_flight_.empty() && now - in_flight_.front().flushed >= limit) {
        finish(in_flight_.front());
        in_flight_.pop_front();
    }
    if (pending_ && now - pending_->flushed >= limit) {
        finish(*pending_);
        pending_.reset();
    }
}

void FramePacer::release_all() {
    for (auto& frame : in_flight_) {
        finish(frame);
    }
    in_flight_.clear();
    if (pending_) {
        finish(*pending_);
        pending_.reset();
    }
}

void FramePacer::forget_fences() {
    for (auto& frame : in_flight_) {
        frame.fences.clear();
    }
    if (pending_) {
        pending_->fences.clear();
    }
}

void FramePacer::finish(Frame& frame) {
    auto fences = std::move(frame.fences);
    frame.fences.clear();
    for (Token token : fences) {
        ++fences_signalled_;
        signal_fence_(token);
    }
}

std::optional<FramePacer::Clock::duration> FramePacer::latency(double q) const {
    if (latencies_.empty()) {
        return std::nullopt;
    }
    auto sorted = latencies_;
    std::ranges::sort(sorted);
    auto index = static_cast<size_t>(std::ceil(std::clamp(q, 0.0, 1.0) * sorted.size()));
    return sorted[std::clamp<size_t>(index, 1, sorted.size()) - 1];
}

} // namespace tessera::compositor
