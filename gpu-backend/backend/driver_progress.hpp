#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace tessera::gpu {

// Whether a guest's driver keeps taking back what its device hands it: the answers in a
// queue's used ring, or buffers for input events that wait. A hung guest kernel takes nothing
// while its device keeps things waiting for it; an idle one has nothing waiting. Fed with what
// the device sees each time it reports (times passed in, so that it is tested without waiting).
class DriverProgress {
public:
    using Clock = std::chrono::steady_clock;

    // `waiting`: something waits for the driver now. `marker`: a value that moves whenever the
    // driver takes something (its used_event, the events delivered).
    void observe(bool waiting, uint64_t marker, Clock::time_point now);
    // For how long something has waited while the driver took nothing; 0 when nothing waits.
    [[nodiscard]] std::chrono::milliseconds stuck_for(Clock::time_point now) const;

private:
    std::optional<Clock::time_point> since_; // the driver's last progress while waiting
    uint64_t marker_ = 0;
};

} // namespace tessera::gpu
