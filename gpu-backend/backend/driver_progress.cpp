#include "driver_progress.hpp"

namespace tessera::gpu {

void DriverProgress::observe(bool waiting, uint64_t marker, Clock::time_point now) {
    if (!waiting) {
        since_.reset();
    } else if (!since_ || marker != marker_) {
        since_ = now; // waiting starts, or the driver just took something
    }
    marker_ = marker;
}

std::chrono::milliseconds DriverProgress::stuck_for(Clock::time_point now) const {
    if (!since_ || now < *since_) {
        return std::chrono::milliseconds{0};
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - *since_);
}

} // namespace tessera::gpu
