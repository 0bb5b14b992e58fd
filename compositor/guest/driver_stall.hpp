#pragma once

#include "gpu-backend/device_host/channel.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tessera::compositor {

// Whether a guest has stopped taking back what its devices hand it: the answers on its GPU's
// control queue (fence answers among them), or buffers for the input events that wait. A
// guest kernel that hangs does both; an idle one has nothing waiting. Judged from the figures
// its device process reports with each heartbeat: stalled once something has waited for
// `threshold` with the guest taking nothing, recovered when it takes something again.
class DriverStallWatch {
public:
    static constexpr std::chrono::milliseconds threshold{1000};

    // What a report changed: a queue became stalled, or stopped being.
    struct Change {
        std::string queue;                  // "control", or "input N"
        std::optional<uint32_t> input_slot; // N: the input device's slot
        bool stalled = false;
        uint32_t waiting = 0;  // answers unread, or input events waiting
        uint32_t stuck_ms = 0; // for how long the guest took nothing
    };

    std::vector<Change> update(const gpu::channel::Stats& stats);
    // The device process ended: nothing of it waits any more (no changes reported).
    void clear() { stalled_.clear(); }
    // The queues stalled now ("control", "input N").
    [[nodiscard]] std::vector<std::string> stalled() const;
    static std::string queue_name(std::optional<uint32_t> input_slot);
    // How many times any queue of the guest stalled.
    [[nodiscard]] uint64_t stalls() const { return stalls_; }

private:
    void judge(std::optional<uint32_t> input_slot, uint32_t waiting, uint32_t stuck_ms,
               std::vector<Change>& changes);

    std::map<std::optional<uint32_t>, bool> stalled_; // by input slot; nullopt: control
    uint64_t stalls_ = 0;
};

} // namespace tessera::compositor
