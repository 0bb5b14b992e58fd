#pragma once

#include "wlr.hpp"

#include <cstdint>

namespace tessera::test {

class HeadlessCompositor;

// Input devices the way a backend announces them (new_input), driven by the test instead of
// libinput: the headless backend has none. Coordinates are in output-layout pixels.
class TestPointer {
public:
    explicit TestPointer(HeadlessCompositor& compositor);
    ~TestPointer();
    TestPointer(const TestPointer&) = delete;
    TestPointer& operator=(const TestPointer&) = delete;

    void move_to(double x, double y);
    // Relative motion, as a mouse makes it (accelerated and raw the same).
    void move_by(double dx, double dy);
    void button(uint32_t code, bool pressed);
    void click(uint32_t code);
    // The wheel turned down (positive) or up by `value120` 120ths of a notch.
    void scroll(int32_t value120);

private:
    HeadlessCompositor& compositor_;
    wlr_pointer pointer_{};
    uint32_t time_ = 0;
};

class TestTouch {
public:
    explicit TestTouch(HeadlessCompositor& compositor);
    ~TestTouch();
    TestTouch(const TestTouch&) = delete;
    TestTouch& operator=(const TestTouch&) = delete;

    void down(int32_t id, double x, double y);
    void motion(int32_t id, double x, double y);
    void up(int32_t id);

private:
    HeadlessCompositor& compositor_;
    wlr_touch touch_{};
    uint32_t time_ = 0;
};

// A pen tablet: one pen, positions in layout pixels like TestTouch's.
class TestTablet {
public:
    explicit TestTablet(HeadlessCompositor& compositor);
    ~TestTablet();
    TestTablet(const TestTablet&) = delete;
    TestTablet& operator=(const TestTablet&) = delete;

    void proximity(double x, double y, bool in);
    void motion(double x, double y);
    void pressure(double pressure); // 0..1
    void tip(bool down);

private:
    HeadlessCompositor& compositor_;
    wlr_tablet tablet_{};
    wlr_tablet_tool pen_{};
    double x_ = 0, y_ = 0;
    uint32_t time_ = 0;
};

class TestKeyboard {
public:
    explicit TestKeyboard(HeadlessCompositor& compositor);
    ~TestKeyboard();
    TestKeyboard(const TestKeyboard&) = delete;
    TestKeyboard& operator=(const TestKeyboard&) = delete;

    // Press and release of an evdev key code (KEY_A = 30, ...).
    void tap(uint32_t keycode);
    void key(uint32_t keycode, bool pressed);

private:
    HeadlessCompositor& compositor_;
    wlr_keyboard keyboard_{};
    uint32_t time_ = 0;
};

} // namespace tessera::test
