#include "guest_input_router.hpp"

#include "guest.hpp"
#include "guest_scanout.hpp"
#include "guests.hpp"
#include "gpu-backend/virtio_input/profile.hpp"
#include "server.hpp"

#include <linux/input-event-codes.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace tessera::compositor {

namespace {

using Event = gpu::channel::WireInputEvent;

constexpr Event syn_report{EV_SYN, SYN_REPORT, 0};

bool is_modifier(uint32_t keycode) {
    switch (keycode) {
    case KEY_LEFTSHIFT:
    case KEY_RIGHTSHIFT:
    case KEY_LEFTCTRL:
    case KEY_RIGHTCTRL:
    case KEY_LEFTALT:
    case KEY_RIGHTALT:
    case KEY_LEFTMETA:
    case KEY_RIGHTMETA:
        return true;
    default:
        return false;
    }
}

Event key_event(uint32_t code, bool pressed) {
    return {EV_KEY, static_cast<uint16_t>(code), pressed ? 1 : 0};
}

} // namespace

Guest* GuestInputRouter::find(const std::string& name) const {
    auto* guests = server_.guests();
    return guests && !name.empty() ? guests->find(name) : nullptr;
}

std::optional<GuestInputRouter::Target> GuestInputRouter::target(wlr_scene_node* node, double lx,
                                                                 double ly) const {
    auto* scanout = node ? GuestScanout::from_node(node) : nullptr;
    if (!scanout) {
        return std::nullopt;
    }
    auto* guest = find(scanout->identity().guest.value_or(""));
    auto pixel = scanout->pixel_at(lx, ly);
    if (!guest || !pixel) {
        return std::nullopt;
    }
    return Target{guest, scanout, pixel->first, pixel->second};
}

int32_t GuestInputRouter::axis_value(double pixel, int scanout_size, uint32_t axis_size) {
    if (scanout_size <= 0 || axis_size == 0) {
        return 0;
    }
    // The axis spans the size the device was made with; the scanout may show another mode.
    auto value = static_cast<int64_t>(std::floor(pixel * axis_size / scanout_size));
    return static_cast<int32_t>(std::clamp<int64_t>(value, 0, int64_t{axis_size} - 1));
}

void GuestInputRouter::send(Guest& guest, uint32_t kind, uint32_t scanout, Frame frame) {
    frame.push_back(syn_report);
    guest.inputs().send(static_cast<ivi::InputKind>(kind), scanout, frame);
}

// ---- pointer ----

bool GuestInputRouter::pointer_motion(wlr_scene_node* node, double lx, double ly) {
    // A guest holding a button keeps the pointer until it is released (a drag).
    if (pointer_ && !buttons_[pointer_->guest].empty()) {
        auto* guest = find(pointer_->guest);
        auto* scanout = guest && pointer_->scanout < guest->scanouts().size()
                            ? guest->scanouts()[pointer_->scanout].get()
                            : nullptr;
        auto pixel = scanout ? scanout->pixel_at(lx, ly, true) : std::nullopt;
        if (!pixel) {
            release_buttons(pointer_->guest);
            pointer_.reset();
            return false;
        }
        auto [aw, ah] = guest->inputs().axes(ivi::input_pointer, 0);
        send(*guest, ivi::input_pointer, 0,
             {{EV_ABS, ABS_X, axis_value(pixel->first, scanout->width(), aw)},
              {EV_ABS, ABS_Y, axis_value(pixel->second, scanout->height(), ah)}});
        return true;
    }
    auto hit = target(node, lx, ly);
    if (!hit) {
        pointer_.reset();
        return false;
    }
    // The guest's one pointer is over its first scanout; its other screens are the host's.
    if (hit->scanout->index() != 0) {
        pointer_.reset();
        return false;
    }
    if (!pointer_ || pointer_->guest != hit->guest->spec().name) {
        wheel_ = {};
    }
    pointer_ = PointerSpot{hit->guest->spec().name, 0};
    auto [aw, ah] = hit->guest->inputs().axes(ivi::input_pointer, 0);
    send(*hit->guest, ivi::input_pointer, 0,
         {{EV_ABS, ABS_X, axis_value(hit->x, hit->scanout->width(), aw)},
          {EV_ABS, ABS_Y, axis_value(hit->y, hit->scanout->height(), ah)}});
    return true;
}

bool GuestInputRouter::pointer_button(uint32_t button, bool pressed) {
    if (!pointer_) {
        return false;
    }
    auto* guest = find(pointer_->guest);
    if (!guest) {
        pointer_.reset();
        return false;
    }
    if (button != BTN_LEFT && button != BTN_RIGHT && button != BTN_MIDDLE) {
        return true; // the guest's pointer has three buttons
    }
    auto& held = buttons_[pointer_->guest];
    if (pressed ? !held.insert(button).second : held.erase(button) == 0) {
        return true; // nothing new for the guest
    }
    send(*guest, ivi::input_pointer, 0, {key_event(button, pressed)});
    return true;
}

bool GuestInputRouter::pointer_axis(bool horizontal, double delta, int32_t delta_discrete) {
    auto* guest = pointer_ ? find(pointer_->guest) : nullptr;
    if (!guest) {
        return pointer_.has_value();
    }
    // Whole notches: a high-resolution wheel's 120ths, or a touchpad's continuous scroll in
    // notches of 15 (libinput's degrees per notch), add up until they make one.
    auto& sum = wheel_[horizontal ? 1 : 0];
    sum += delta_discrete != 0 ? delta_discrete : delta * 120 / 15;
    if (!std::isfinite(sum)) {
        sum = 0;
    }
    auto steps = static_cast<int32_t>(std::clamp(std::trunc(sum / 120), -1e6, 1e6));
    sum -= steps * 120.0;
    // Wayland's axes grow down and right; evdev's wheel grows up (REL_WHEEL) and right.
    if (steps != 0) {
        send(*guest, ivi::input_pointer, 0,
             {{EV_REL, static_cast<uint16_t>(horizontal ? REL_HWHEEL : REL_WHEEL),
               horizontal ? steps : -steps}});
    }
    return true;
}

Guest* GuestInputRouter::pointer_guest() const {
    return pointer_ ? find(pointer_->guest) : nullptr;
}

void GuestInputRouter::release_buttons(const std::string& name) {
    auto held = std::move(buttons_[name]);
    buttons_.erase(name);
    auto* guest = find(name);
    if (!guest || held.empty()) {
        return;
    }
    Frame frame;
    for (auto button : held) {
        frame.push_back(key_event(button, false));
    }
    send(*guest, ivi::input_pointer, 0, std::move(frame));
}

// ---- touch ----

void GuestInputRouter::send_touch_position(Frame& frame, Guest& guest, const Contact& contact,
                                           double x, double y, bool primary) {
    const auto& scanout = *guest.scanouts()[contact.scanout];
    auto [aw, ah] = guest.inputs().axes(ivi::input_touch, contact.scanout);
    int32_t ax = axis_value(x, scanout.width(), aw);
    int32_t ay = axis_value(y, scanout.height(), ah);
    frame.push_back({EV_ABS, ABS_MT_POSITION_X, ax});
    frame.push_back({EV_ABS, ABS_MT_POSITION_Y, ay});
    if (primary) {
        frame.push_back({EV_ABS, ABS_X, ax});
        frame.push_back({EV_ABS, ABS_Y, ay});
    }
}

bool GuestInputRouter::touch_down(int32_t id, wlr_scene_node* node, double lx, double ly) {
    auto hit = target(node, lx, ly);
    if (!hit) {
        return false;
    }
    uint32_t index = hit->scanout->index();
    auto& screen = touchscreens_[{hit->guest->spec().name, index}];
    unsigned slot = 0;
    while (slot < gpu::input::touch_slot_count && screen.slots.test(slot)) {
        ++slot;
    }
    if (slot == gpu::input::touch_slot_count) {
        return true; // more fingers than the touchscreen has: this one is the guest's, unsent
    }
    screen.slots.set(slot);
    Contact contact{hit->guest->spec().name, index, slot};
    contacts_[id] = contact;
    bool first = !screen.primary;
    if (first) {
        screen.primary = slot;
    }
    Frame frame{{EV_ABS, ABS_MT_SLOT, static_cast<int32_t>(slot)},
                {EV_ABS, ABS_MT_TRACKING_ID, screen.next_tracking_id}};
    screen.next_tracking_id = (screen.next_tracking_id + 1) & 0xffff;
    send_touch_position(frame, *hit->guest, contact, hit->x, hit->y, first);
    if (first) {
        frame.push_back(key_event(BTN_TOUCH, true));
    }
    send(*hit->guest, ivi::input_touch, index, std::move(frame));
    return true;
}

bool GuestInputRouter::touch_motion(int32_t id, double lx, double ly) {
    auto it = contacts_.find(id);
    if (it == contacts_.end()) {
        return false;
    }
    const auto& contact = it->second;
    auto* guest = find(contact.guest);
    if (!guest || contact.scanout >= guest->scanouts().size()) {
        return true;
    }
    // The contact stays with its scanout: off the picture, it is held at the edge.
    auto pixel = guest->scanouts()[contact.scanout]->pixel_at(lx, ly, true);
    if (!pixel) {
        return true;
    }
    auto& screen = touchscreens_[{contact.guest, contact.scanout}];
    Frame frame{{EV_ABS, ABS_MT_SLOT, static_cast<int32_t>(contact.slot)}};
    send_touch_position(frame, *guest, contact, pixel->first, pixel->second,
                        screen.primary == contact.slot);
    send(*guest, ivi::input_touch, contact.scanout, std::move(frame));
    return true;
}

bool GuestInputRouter::touch_up(int32_t id) {
    auto it = contacts_.find(id);
    if (it == contacts_.end()) {
        return false;
    }
    Contact contact = it->second;
    contacts_.erase(it);
    auto key = std::pair{contact.guest, contact.scanout};
    auto& screen = touchscreens_[key];
    screen.slots.reset(contact.slot);
    Frame frame{{EV_ABS, ABS_MT_SLOT, static_cast<int32_t>(contact.slot)},
                {EV_ABS, ABS_MT_TRACKING_ID, -1}};
    if (screen.slots.none()) {
        screen.primary.reset();
        frame.push_back(key_event(BTN_TOUCH, false));
    } else if (screen.primary == contact.slot) {
        // The single-touch axes follow another finger from its next motion on.
        for (unsigned slot = 0; slot < screen.slots.size(); ++slot) {
            if (screen.slots.test(slot)) {
                screen.primary = slot;
                break;
            }
        }
    }
    if (auto* guest = find(contact.guest)) {
        send(*guest, ivi::input_touch, contact.scanout, std::move(frame));
    }
    return true;
}

Guest* GuestInputRouter::touch_guest(int32_t id) const {
    auto it = contacts_.find(id);
    return it == contacts_.end() ? nullptr : find(it->second.guest);
}

// ---- keyboard ----

void GuestInputRouter::focus_keyboard(Guest& guest, wlr_keyboard* keyboard) {
    if (keyboard_guest_ == guest.spec().name) {
        return;
    }
    leave_keyboard();
    keyboard_guest_ = guest.spec().name;
    if (!keyboard) {
        return;
    }
    // The guest starts from the modifiers the user holds now, and the host's lock keys.
    Frame frame;
    for (size_t i = 0; i < keyboard->num_keycodes; ++i) {
        if (is_modifier(keyboard->keycodes[i]) && keys_.insert(keyboard->keycodes[i]).second) {
            frame.push_back(key_event(keyboard->keycodes[i], true));
        }
    }
    if (keyboard->xkb_state) {
        uint32_t leds = guest.inputs().keyboard_leds();
        auto locked = [&](const char* name) {
            return xkb_state_mod_name_is_active(keyboard->xkb_state, name, XKB_STATE_MODS_LOCKED) >
                   0;
        };
        auto sync = [&](const char* name, uint32_t led, uint32_t key) {
            if (locked(name) != ((leds >> led) & 1)) {
                frame.push_back(key_event(key, true)); // a tap
                frame.push_back(key_event(key, false));
            }
        };
        sync(XKB_MOD_NAME_CAPS, LED_CAPSL, KEY_CAPSLOCK);
        sync(XKB_MOD_NAME_NUM, LED_NUML, KEY_NUMLOCK);
    }
    if (!frame.empty()) {
        send(guest, ivi::input_keyboard, 0, std::move(frame));
    }
}

void GuestInputRouter::leave_keyboard() {
    auto name = std::exchange(keyboard_guest_, {});
    auto held = std::exchange(keys_, {});
    auto* guest = find(name);
    if (!guest || held.empty()) {
        return;
    }
    // In frames of at most a frame's length, each with its report.
    Frame frame;
    for (auto key : held) {
        frame.push_back(key_event(key, false));
        if (frame.size() == gpu::channel::max_input_frame - 1) {
            send(*guest, ivi::input_keyboard, 0, std::exchange(frame, {}));
        }
    }
    if (!frame.empty()) {
        send(*guest, ivi::input_keyboard, 0, std::move(frame));
    }
}

bool GuestInputRouter::key(uint32_t keycode, bool pressed) {
    auto* guest = find(keyboard_guest_);
    if (!guest) {
        keyboard_guest_.clear();
        keys_.clear();
        return false;
    }
    if (keycode > KEY_MAX) {
        return true; // no key a keyboard has
    }
    if (pressed) {
        keys_.insert(keycode);
    } else if (keys_.erase(keycode) == 0) {
        return true; // pressed before the guest had the focus: never its key
    }
    send(*guest, ivi::input_keyboard, 0, {key_event(keycode, pressed)});
    return true;
}

} // namespace tessera::compositor
