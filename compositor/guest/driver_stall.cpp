#include "driver_stall.hpp"

#include <algorithm>
#include <format>
#include <set>

namespace tessera::compositor {

std::string DriverStallWatch::queue_name(std::optional<uint32_t> input_slot) {
    return input_slot ? std::format("input {}", *input_slot) : std::string("control");
}

std::vector<DriverStallWatch::Change> DriverStallWatch::update(const gpu::channel::Stats& stats) {
    std::vector<Change> changes;
    std::set<std::optional<uint32_t>> reported;
    if (stats.answers_watched) {
        judge(std::nullopt, stats.answers_unread, stats.answers_stuck_ms, changes);
        reported.insert(std::nullopt);
    }
    uint32_t inputs = std::min<uint32_t>(stats.input_count, gpu::channel::max_input_devices);
    for (uint32_t i = 0; i < inputs; ++i) {
        const auto& input = stats.inputs[i];
        judge(input.slot, input.queued, input.stuck_ms, changes);
        reported.insert(input.slot);
    }
    // A queue no longer reported (its ring stopped, its device went) waits for nothing.
    for (auto it = stalled_.begin(); it != stalled_.end();) {
        if (!reported.contains(it->first)) {
            if (it->second) {
                changes.push_back({queue_name(it->first), it->first, false, 0, 0});
            }
            it = stalled_.erase(it);
        } else {
            ++it;
        }
    }
    return changes;
}

void DriverStallWatch::judge(std::optional<uint32_t> input_slot, uint32_t waiting,
                             uint32_t stuck_ms, std::vector<Change>& changes) {
    bool now = waiting > 0 && stuck_ms >= threshold.count();
    bool& was = stalled_[input_slot];
    if (now != was) {
        was = now;
        stalls_ += now ? 1 : 0;
        changes.push_back({queue_name(input_slot), input_slot, now, waiting, stuck_ms});
    }
}

std::vector<std::string> DriverStallWatch::stalled() const {
    std::vector<std::string> queues;
    for (const auto& [slot, stalled] : stalled_) {
        if (stalled) {
            queues.push_back(queue_name(slot));
        }
    }
    return queues;
}

} // namespace tessera::compositor
