#include "gpu-backend/virtio_input/evdev_state.hpp"

#include <linux/input-event-codes.h>

namespace tessera::gpu::input {

namespace {

bool is_mt_axis(uint16_t code) {
    return code >= ABS_MT_SLOT && code <= ABS_MT_TOOL_Y;
}

// Whether the contact in `to` is another one than in `from`: another tracking id, or the same
// id lifted and put down again (an axis it had is gone, and the guest cannot unset one).
template <typename Slot> bool another_contact(const Slot& from, const Slot& to) {
    if (from.tracking_id != to.tracking_id) {
        return true;
    }
    for (const auto& [code, value] : from.axes) {
        if (!to.axes.contains(code)) {
            return true;
        }
    }
    return false;
}

} // namespace

void EvdevState::apply(std::span<const InputEvent> frame) {
    for (const InputEvent& e : frame) {
        if (e.type == EV_KEY && e.code < keys_.size()) {
            keys_[e.code] = e.value != 0; // 2 is a repeat: still down
        } else if (e.type == EV_ABS && e.code == ABS_MT_SLOT) {
            slot_ = e.value;
        } else if (e.type == EV_ABS && is_mt_axis(e.code)) {
            if (slot_ < 0 || slot_ >= static_cast<int32_t>(max_slots)) {
                continue; // a slot the device does not have: the guest ignores it too
            }
            Slot& slot = slots_[static_cast<size_t>(slot_)];
            if (e.code == ABS_MT_TRACKING_ID) {
                slot.tracking_id = e.value < 0 ? -1 : e.value;
                if (slot.tracking_id < 0) {
                    slot.axes.clear();
                }
            } else if (slot.tracking_id >= 0) {
                // A position matters for a contact; one without is not kept.
                slot.axes[e.code] = e.value;
            }
        } else if (e.type == EV_ABS && e.code <= ABS_MAX) {
            abs_[e.code] = e.value;
        }
    }
}

std::vector<InputEvent> EvdevState::transition(const EvdevState& from, const EvdevState& to) {
    std::vector<InputEvent> out;
    int32_t guest_slot = from.slot_;
    auto select_slot = [&](int32_t s) {
        if (guest_slot != s) {
            out.push_back({EV_ABS, ABS_MT_SLOT, s});
            guest_slot = s;
        }
    };
    // Releases first, so no key is ever down in the guest that is up at both ends.
    for (size_t code = 0; code < to.keys_.size(); ++code) {
        if (from.keys_[code] && !to.keys_[code]) {
            out.push_back({EV_KEY, static_cast<uint16_t>(code), 0});
        }
    }
    for (unsigned s = 0; s < max_slots; ++s) {
        const Slot& a = from.slots_[s];
        const Slot& b = to.slots_[s];
        if (a.tracking_id >= 0 && another_contact(a, b)) {
            select_slot(static_cast<int32_t>(s));
            out.push_back({EV_ABS, ABS_MT_TRACKING_ID, -1});
        }
    }
    for (unsigned s = 0; s < max_slots; ++s) {
        const Slot& a = from.slots_[s];
        const Slot& b = to.slots_[s];
        if (b.tracking_id < 0) {
            continue;
        }
        bool new_contact = another_contact(a, b);
        if (new_contact) {
            select_slot(static_cast<int32_t>(s));
            out.push_back({EV_ABS, ABS_MT_TRACKING_ID, b.tracking_id});
        }
        for (const auto& [code, value] : b.axes) {
            auto old = a.axes.find(code);
            if (new_contact || old == a.axes.end() || old->second != value) {
                select_slot(static_cast<int32_t>(s));
                out.push_back({EV_ABS, code, value});
            }
        }
    }
    // Later frames name their slot only when it changes: leave the guest on the present one.
    select_slot(to.slot_);
    for (const auto& [code, value] : to.abs_) {
        auto old = from.abs_.find(code);
        if (old == from.abs_.end() || old->second != value) {
            out.push_back({EV_ABS, code, value});
        }
    }
    for (size_t code = 0; code < to.keys_.size(); ++code) {
        if (!from.keys_[code] && to.keys_[code]) {
            out.push_back({EV_KEY, static_cast<uint16_t>(code), 1});
        }
    }
    if (!out.empty()) {
        out.push_back({EV_SYN, SYN_REPORT, 0});
    }
    return out;
}

} // namespace tessera::gpu::input
