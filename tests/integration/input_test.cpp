// Pointer, touch and keyboard input reach the right window, and move the focus.
#include "headless_compositor.hpp"
#include "input_devices.hpp"
#include "seat.hpp"
#include "toplevel.hpp"

#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>
#include <signal.h>

using namespace tessera;
using namespace tessera::test;

namespace {

// A big red window "a" at (60,45) 200x150 with a small green window "b" on top of it at
// (140,105) 40x30: both are centred on the 320x240 output. Create input devices before it, so
// that the clients have bound them by the time they are mapped.
struct TwoWindows {
    HeadlessCompositor& compositor;
    std::unique_ptr<ClientProcess> a =
        compositor.spawn({test_client_path(), "--app-id", "a", "--size", "200x150", "--pattern",
                          "solid", "--color", "ff0000", "--print-input"});
    std::unique_ptr<ClientProcess> b;

    explicit TwoWindows(HeadlessCompositor& c) : compositor(c) {
        REQUIRE(a->wait_for_line("mapped"));
        b = compositor.spawn({test_client_path(), "--app-id", "b", "--size", "40x30", "--pattern",
                              "solid", "--color", "00ff00", "--print-input"});
        REQUIRE(b->wait_for_line("mapped"));
    }

    std::string focused_app_id() {
        auto* toplevel = compositor.server().seat().focused_toplevel();
        return toplevel ? std::string(toplevel->app_id()) : "";
    }
};

} // namespace

TEST_CASE("the pointer enters the window under it, in surface coordinates", "[pointer]") {
    HeadlessCompositor compositor;
    TestPointer pointer(compositor);
    TwoWindows windows(compositor);
    pointer.move_to(150, 110);
    CHECK(windows.b->wait_for_line("pointer-enter 10 5"));
    pointer.move_to(70, 50);
    CHECK(windows.a->wait_for_line("pointer-enter 10 5"));
}

TEST_CASE("a click raises and focuses the window under the pointer", "[pointer]") {
    HeadlessCompositor compositor;
    TestPointer pointer(compositor);
    TwoWindows windows(compositor);
    CHECK(windows.focused_app_id() == "b");
    pointer.move_to(70, 50);
    pointer.click(BTN_LEFT);
    CHECK(windows.a->wait_for_line("button 272"));
    CHECK(windows.focused_app_id() == "a");
    // "a" is now above "b".
    CHECK(compositor.capture().at(160, 120) == Rgba{255, 0, 0, 255});
}

TEST_CASE("a touch goes to the window under it and focuses it", "[touch]") {
    HeadlessCompositor compositor;
    TestPointer pointer(compositor);
    TestTouch touch(compositor);
    TwoWindows windows(compositor);
    pointer.move_to(70, 50);
    pointer.click(BTN_LEFT);
    REQUIRE(compositor.run_until([&] { return windows.focused_app_id() == "a"; }));

    // "a" is on top now; touch outside it on nothing, then on "a".
    touch.down(0, 5, 5);
    touch.up(0);
    CHECK(windows.focused_app_id() == "a");
    touch.down(1, 70, 60);
    CHECK(windows.a->wait_for_line("touch-down 10 15"));
    touch.up(1);
}

TEST_CASE("touch focuses a window below the focused one", "[touch]") {
    HeadlessCompositor compositor;
    TestTouch touch(compositor);
    TwoWindows windows(compositor);
    touch.down(0, 70, 50);
    CHECK(windows.a->wait_for_line("touch-down 10 5"));
    touch.up(0);
    CHECK(windows.focused_app_id() == "a");
}

TEST_CASE("keys go to the focused window through the configured keymap", "[keyboard]") {
    SECTION("us") {
        HeadlessCompositor compositor({{320, 240, 60000}}, "us");
        TestKeyboard keyboard(compositor);
        TwoWindows windows(compositor);
        REQUIRE(windows.b->wait_for_line("keyboard-enter"));
        keyboard.tap(KEY_Y);
        CHECK(windows.b->wait_for_line("key y"));
    }
    SECTION("de") {
        HeadlessCompositor compositor({{320, 240, 60000}}, "de");
        TestKeyboard keyboard(compositor);
        TwoWindows windows(compositor);
        REQUIRE(windows.b->wait_for_line("keyboard-enter"));
        keyboard.tap(KEY_Y); // German keyboards swap Y and Z
        CHECK(windows.b->wait_for_line("key z"));
        CHECK(windows.a->lines().end() ==
              std::ranges::find(windows.a->lines(), std::string("key z")));
    }
}

TEST_CASE("focus follows the window that closes", "[keyboard]") {
    HeadlessCompositor compositor;
    TestKeyboard keyboard(compositor);
    TwoWindows windows(compositor);
    windows.b->kill(SIGTERM);
    REQUIRE(windows.b->wait_exit());
    REQUIRE(compositor.run_until([&] { return windows.focused_app_id() == "a"; }));
    REQUIRE(windows.a->wait_for_line("keyboard-enter"));
    keyboard.tap(KEY_Q);
    CHECK(windows.a->wait_for_line("key q"));
}
