#include "gpu-backend/virtio_input/profile.hpp"

#include <linux/input-event-codes.h>
#include <linux/input.h>

#include <algorithm>
#include <format>

namespace tessera::gpu::input {

namespace {

// tessera's own ids: bus virtual, vendor "ts", one product per kind.
constexpr uint16_t vendor_id = 0x7473;

int32_t last_pixel(uint32_t size) {
    return static_cast<int32_t>(std::clamp<uint32_t>(size, 1, 1u << 30) - 1);
}

void set(InputProfile& p, uint16_t type, std::initializer_list<uint16_t> codes) {
    auto& bits = p.codes[static_cast<uint8_t>(type)];
    for (uint16_t code : codes) {
        bits.set(code);
    }
}

void set_axis(InputProfile& p, uint16_t axis, int32_t max) {
    p.codes[EV_ABS].set(axis);
    p.abs[axis] = AbsInfo{.min = 0, .max = max};
}

} // namespace

bool InputProfile::has_code(uint16_t type, uint16_t code) const {
    auto it = codes.find(static_cast<uint8_t>(type));
    return it != codes.end() && code < it->second.size() && it->second.test(code);
}

InputProfile touchscreen_profile(unsigned scanout, uint32_t width, uint32_t height) {
    InputProfile p;
    p.kind = DeviceKind::touchscreen;
    p.name = std::format("tessera touchscreen Virtual-{}", scanout + 1);
    p.serial = std::format("Virtual-{}", scanout + 1);
    p.ids = DevIds{BUS_VIRTUAL, vendor_id, 0x0001, 1};
    p.props.set(INPUT_PROP_DIRECT);
    p.touch_slots = touch_slot_count;
    set(p, EV_KEY, {BTN_TOUCH});
    set_axis(p, ABS_X, last_pixel(width));
    set_axis(p, ABS_Y, last_pixel(height));
    set_axis(p, ABS_MT_SLOT, touch_slot_count - 1);
    set_axis(p, ABS_MT_TRACKING_ID, 0xffff);
    set_axis(p, ABS_MT_POSITION_X, last_pixel(width));
    set_axis(p, ABS_MT_POSITION_Y, last_pixel(height));
    return p;
}

InputProfile pointer_profile(uint32_t width, uint32_t height) {
    InputProfile p;
    p.kind = DeviceKind::pointer;
    p.name = "tessera pointer";
    p.serial = "pointer";
    p.ids = DevIds{BUS_VIRTUAL, vendor_id, 0x0002, 1};
    set(p, EV_KEY, {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE});
    set(p, EV_REL, {REL_WHEEL, REL_HWHEEL});
    set_axis(p, ABS_X, last_pixel(width));
    set_axis(p, ABS_Y, last_pixel(height));
    return p;
}

InputProfile keyboard_profile() {
    InputProfile p;
    p.kind = DeviceKind::keyboard;
    p.name = "tessera keyboard";
    p.serial = "keyboard";
    p.ids = DevIds{BUS_VIRTUAL, vendor_id, 0x0003, 1};
    auto& keys = p.codes[EV_KEY];
    // Every KEY_* code, none of the BTN_* ranges between them (a keyboard with buttons would
    // be taken for a mouse or a joystick).
    for (uint16_t code = KEY_ESC; code <= KEY_MAX; ++code) {
        bool button = (code >= BTN_MISC && code < KEY_OK) ||
                      (code >= BTN_DPAD_UP && code <= BTN_DPAD_RIGHT) || code >= BTN_TRIGGER_HAPPY;
        if (!button) {
            keys.set(code);
        }
    }
    // The guest repeats keys itself; EV_REP needs only to be answered.
    p.codes[EV_REP];
    set(p, EV_LED, {LED_NUML, LED_CAPSL, LED_SCROLLL});
    return p;
}

} // namespace tessera::gpu::input
