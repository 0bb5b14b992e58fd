#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "gpu-backend/virtio_input/protocol.hpp"

// The state a stream of input frames leaves a Linux input device in: keys and buttons down,
// absolute axes, multitouch contacts. Lets a device bring a guest that missed frames back to
// the present in one frame instead of leaving a key or a finger stuck down.
namespace tessera::gpu::input {

class EvdevState {
public:
    static constexpr unsigned max_slots = 16;

    // Applies one frame's events (relative axes, LEDs and SYN are no state and pass by).
    void apply(std::span<const InputEvent> frame);
    // Everything up, no contact: a device as the driver finds it at probe.
    void clear() { *this = EvdevState{}; }

    [[nodiscard]] bool key_down(uint16_t code) const { return code < keys_.size() && keys_[code]; }
    [[nodiscard]] int32_t tracking_id(unsigned slot) const {
        return slot < max_slots ? slots_[slot].tracking_id : -1;
    }
    bool operator==(const EvdevState&) const = default;

    // One frame (ending in SYN_REPORT) that takes a device from `from` to `to`; empty when they
    // are the same. Releases before presses, lifted contacts before new ones.
    static std::vector<InputEvent> transition(const EvdevState& from, const EvdevState& to);

private:
    struct Slot {
        int32_t tracking_id = -1;
        std::map<uint16_t, int32_t> axes; // ABS_MT_* other than SLOT and TRACKING_ID
        bool operator==(const Slot&) const = default;
    };

    std::bitset<0x300> keys_;         // KEY_CNT
    std::map<uint16_t, int32_t> abs_; // single-value axes
    std::array<Slot, max_slots> slots_{};
    int32_t slot_ = 0; // the slot ABS_MT_* events apply to
};

} // namespace tessera::gpu::input
