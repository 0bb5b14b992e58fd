// Input protocols beyond wl_seat: pointer constraints with relative motion (games), cursor
// shapes by name, and keyboard-shortcuts-inhibit (VM viewers, remote desktops).
#include "headless_compositor.hpp"
#include "input_devices.hpp"
#include "seat.hpp"

#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>
#include <signal.h>

#include <algorithm>

using namespace tessera;
using namespace tessera::test;

namespace {

// A 64x48 window in the middle of the 320x240 output: (128,96) to (192,144).
std::unique_ptr<ClientProcess> window(HeadlessCompositor& compositor,
                                      std::vector<std::string> extra) {
    std::vector<std::string> argv{test_client_path(), "--size", "64x48", "--print-input"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto client = compositor.spawn(argv);
    REQUIRE(client->wait_for_line("mapped"));
    return client;
}

} // namespace

TEST_CASE("a locked pointer stays put and its client gets the motion as relative motion",
          "[input-protocols]") {
    HeadlessCompositor compositor;
    TestPointer pointer(compositor);
    auto client = window(compositor, {"--lock-pointer"});
    auto* cursor = compositor.server().seat().cursor();

    pointer.move_to(150, 110);
    REQUIRE(client->wait_for_line("pointer-enter 22 14"));
    REQUIRE(client->wait_for_line("pointer-locked"));
    pointer.move_by(7, -3);
    CHECK(client->wait_for_line("relative-motion 7 -3"));
    CHECK(cursor->x == 150);
    CHECK(cursor->y == 110);

    // Gone with the window: the pointer moves again.
    client->kill(SIGTERM);
    REQUIRE(client->wait_exit());
    pointer.move_by(5, 5);
    CHECK(cursor->x == 155);
    CHECK(cursor->y == 115);
}

TEST_CASE("a pointer lock waits for the pointer to enter its surface", "[input-protocols]") {
    HeadlessCompositor compositor;
    TestPointer pointer(compositor);
    pointer.move_to(10, 10);
    auto client = window(compositor, {"--lock-pointer"});
    auto* cursor = compositor.server().seat().cursor();
    pointer.move_by(4, 4); // outside the window: moves, and the lock is not active
    CHECK(cursor->x == 14);
    pointer.move_to(130, 100);
    CHECK(client->wait_for_line("pointer-locked"));
    // Events reach the client in order: motion outside it would have come before.
    CHECK(std::ranges::find(client->lines(), "relative-motion 4 4") == client->lines().end());
    pointer.move_by(-2, 1);
    CHECK(client->wait_for_line("relative-motion -2 1"));
    CHECK(cursor->x == 130);
}

TEST_CASE("a client sets the cursor by shape name", "[input-protocols]") {
    HeadlessCompositor compositor;
    TestPointer pointer(compositor);
    auto client = window(compositor, {"--cursor-shape", "crosshair"});
    pointer.move_to(10, 10);
    CHECK(compositor.server().seat().cursor_image() == "default");
    pointer.move_to(150, 110);
    REQUIRE(client->wait_for_line("pointer-enter 22 14"));
    CHECK(compositor.run_until(
        [&] { return compositor.server().seat().cursor_image() == "crosshair"; }));
    pointer.move_to(10, 10);
    CHECK(compositor.server().seat().cursor_image() == "default");
}

TEST_CASE("a shortcuts inhibitor is active while its surface has the keyboard",
          "[input-protocols]") {
    HeadlessCompositor compositor;
    TestKeyboard keyboard(compositor);
    TestPointer pointer(compositor);
    auto viewer = window(compositor, {"--inhibit-shortcuts"});
    REQUIRE(viewer->wait_for_line("shortcuts-inhibited"));
    CHECK(compositor.server().seat().shortcuts_inhibited());

    // Another window takes the keyboard: the inhibitor rests; back again: active.
    auto other = compositor.spawn({test_client_path(), "--size", "32x32", "--print-input"});
    REQUIRE(other->wait_for_line("keyboard-enter"));
    CHECK(viewer->wait_for_line("shortcuts-restored"));
    CHECK_FALSE(compositor.server().seat().shortcuts_inhibited());
    pointer.move_to(130, 98); // the viewer's corner, outside the 32x32 window
    pointer.click(BTN_LEFT);
    CHECK(viewer->wait_for_line("shortcuts-inhibited", 10s, 2));
    CHECK(compositor.server().seat().shortcuts_inhibited());
}
