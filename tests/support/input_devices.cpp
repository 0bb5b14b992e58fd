#include "input_devices.hpp"

#include "headless_compositor.hpp"

namespace tessera::test {
namespace {

const wlr_pointer_impl pointer_impl{"test-pointer"};
const wlr_touch_impl touch_impl{"test-touch"};
const wlr_keyboard_impl keyboard_impl{"test-keyboard", nullptr};

void announce(HeadlessCompositor& compositor, wlr_input_device* device) {
    wl_signal_emit_mutable(&compositor.server().backend()->events.new_input, device);
}

// Absolute device coordinates are fractions of the whole layout.
std::pair<double, double> normalized(HeadlessCompositor& compositor, double x, double y) {
    wlr_box box{};
    wlr_output_layout_get_box(compositor.server().output_layout(), nullptr, &box);
    return {(x - box.x) / box.width, (y - box.y) / box.height};
}

} // namespace

TestPointer::TestPointer(HeadlessCompositor& compositor) : compositor_(compositor) {
    wlr_pointer_init(&pointer_, &pointer_impl, "test-pointer");
    announce(compositor, &pointer_.base);
}

TestPointer::~TestPointer() {
    wlr_pointer_finish(&pointer_);
}

void TestPointer::move_to(double x, double y) {
    auto [nx, ny] = normalized(compositor_, x, y);
    wlr_pointer_motion_absolute_event event{&pointer_, ++time_, nx, ny};
    wl_signal_emit_mutable(&pointer_.events.motion_absolute, &event);
    wl_signal_emit_mutable(&pointer_.events.frame, &pointer_);
}

void TestPointer::move_by(double dx, double dy) {
    wlr_pointer_motion_event event{&pointer_, ++time_, dx, dy, dx, dy};
    wl_signal_emit_mutable(&pointer_.events.motion, &event);
    wl_signal_emit_mutable(&pointer_.events.frame, &pointer_);
}

void TestPointer::button(uint32_t code, bool pressed) {
    wlr_pointer_button_event event{&pointer_, ++time_, code,
                                   pressed ? WL_POINTER_BUTTON_STATE_PRESSED
                                           : WL_POINTER_BUTTON_STATE_RELEASED};
    wl_signal_emit_mutable(&pointer_.events.button, &event);
    wl_signal_emit_mutable(&pointer_.events.frame, &pointer_);
}

void TestPointer::scroll(int32_t value120) {
    wlr_pointer_axis_event event{&pointer_,
                                 ++time_,
                                 WL_POINTER_AXIS_SOURCE_WHEEL,
                                 WL_POINTER_AXIS_VERTICAL_SCROLL,
                                 WL_POINTER_AXIS_RELATIVE_DIRECTION_IDENTICAL,
                                 15.0 * value120 / 120,
                                 value120};
    wl_signal_emit_mutable(&pointer_.events.axis, &event);
    wl_signal_emit_mutable(&pointer_.events.frame, &pointer_);
}

void TestPointer::click(uint32_t code) {
    button(code, true);
    button(code, false);
}

TestTouch::TestTouch(HeadlessCompositor& compositor) : compositor_(compositor) {
    wlr_touch_init(&touch_, &touch_impl, "test-touch");
    announce(compositor, &touch_.base);
}

TestTouch::~TestTouch() {
    wlr_touch_finish(&touch_);
}

void TestTouch::down(int32_t id, double x, double y) {
    auto [nx, ny] = normalized(compositor_, x, y);
    wlr_touch_down_event event{&touch_, ++time_, id, nx, ny};
    wl_signal_emit_mutable(&touch_.events.down, &event);
    wl_signal_emit_mutable(&touch_.events.frame, nullptr);
}

void TestTouch::motion(int32_t id, double x, double y) {
    auto [nx, ny] = normalized(compositor_, x, y);
    wlr_touch_motion_event event{&touch_, ++time_, id, nx, ny};
    wl_signal_emit_mutable(&touch_.events.motion, &event);
    wl_signal_emit_mutable(&touch_.events.frame, nullptr);
}

void TestTouch::up(int32_t id) {
    wlr_touch_up_event event{&touch_, ++time_, id};
    wl_signal_emit_mutable(&touch_.events.up, &event);
    wl_signal_emit_mutable(&touch_.events.frame, nullptr);
}

TestKeyboard::TestKeyboard(HeadlessCompositor& compositor) : compositor_(compositor) {
    wlr_keyboard_init(&keyboard_, &keyboard_impl, "test-keyboard");
    announce(compositor, &keyboard_.base);
}

TestKeyboard::~TestKeyboard() {
    wlr_keyboard_finish(&keyboard_);
}

void TestKeyboard::tap(uint32_t keycode) {
    key(keycode, true);
    key(keycode, false);
}

void TestKeyboard::key(uint32_t keycode, bool pressed) {
    wlr_keyboard_key_event event{++time_, keycode, true,
                                 pressed ? WL_KEYBOARD_KEY_STATE_PRESSED
                                         : WL_KEYBOARD_KEY_STATE_RELEASED};
    wlr_keyboard_notify_key(&keyboard_, &event);
}

} // namespace tessera::test
