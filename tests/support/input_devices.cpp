#include "input_devices.hpp"

#include "headless_compositor.hpp"

namespace tessera::test {
namespace {

const wlr_pointer_impl pointer_impl{"test-pointer"};
const wlr_touch_impl touch_impl{"test-touch"};
const wlr_tablet_impl tablet_impl{"test-tablet"};
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

TestTablet::TestTablet(HeadlessCompositor& compositor) : compositor_(compositor) {
    wlr_tablet_init(&tablet_, &tablet_impl, "test-tablet");
    pen_.type = WLR_TABLET_TOOL_TYPE_PEN;
    pen_.pressure = true;
    wl_signal_init(&pen_.events.destroy);
    announce(compositor, &tablet_.base);
}

TestTablet::~TestTablet() {
    wl_signal_emit_mutable(&pen_.events.destroy, &pen_);
    wlr_tablet_finish(&tablet_);
}

void TestTablet::proximity(double x, double y, bool in) {
    auto [nx, ny] = normalized(compositor_, x, y);
    x_ = nx;
    y_ = ny;
    wlr_tablet_tool_proximity_event event{
        &tablet_, &pen_, ++time_,
        nx,       ny,    in ? WLR_TABLET_TOOL_PROXIMITY_IN : WLR_TABLET_TOOL_PROXIMITY_OUT};
    wl_signal_emit_mutable(&tablet_.events.proximity, &event);
}

void TestTablet::motion(double x, double y) {
    auto [nx, ny] = normalized(compositor_, x, y);
    wlr_tablet_tool_axis_event event{};
    event.tablet = &tablet_;
    event.tool = &pen_;
    event.time_msec = ++time_;
    event.updated_axes = WLR_TABLET_TOOL_AXIS_X | WLR_TABLET_TOOL_AXIS_Y;
    event.x = x_ = nx;
    event.y = y_ = ny;
    wl_signal_emit_mutable(&tablet_.events.axis, &event);
}

void TestTablet::pressure(double pressure) {
    wlr_tablet_tool_axis_event event{};
    event.tablet = &tablet_;
    event.tool = &pen_;
    event.time_msec = ++time_;
    event.updated_axes = WLR_TABLET_TOOL_AXIS_PRESSURE;
    event.pressure = pressure;
    wl_signal_emit_mutable(&tablet_.events.axis, &event);
}

void TestTablet::tip(bool down) {
    wlr_tablet_tool_tip_event event{
        &tablet_, &pen_, ++time_, x_, y_, down ? WLR_TABLET_TOOL_TIP_DOWN : WLR_TABLET_TOOL_TIP_UP};
    wl_signal_emit_mutable(&tablet_.events.tip, &event);
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
