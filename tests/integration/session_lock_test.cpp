// ext-session-lock-v1: a locker (the test locker, and Debian's swaylock) hides every output and
// takes every input until it unlocks; one that dies leaves the session locked.
#include "headless_compositor.hpp"
#include "input_devices.hpp"
#include "seat.hpp"
#include "session_lock.hpp"

#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

using namespace tessera;
using namespace tessera::test;
using compositor::SessionLock;

namespace {

constexpr Rgba window_red{255, 0, 0, 255};
constexpr Rgba locker_blue{0x33, 0x66, 0x99, 255};

// `skip`: where the cursor is drawn.
bool every_pixel_is(const Image& image, Rgba colour, wlr_box skip = {}) {
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            if (!wlr_box_contains_point(&skip, x, y) && image.at(x, y) != colour) {
                return false;
            }
        }
    }
    return true;
}

bool some_pixel_is(const Image& image, Rgba colour) {
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            if (image.at(x, y) == colour) {
                return true;
            }
        }
    }
    return false;
}

bool has_line(const ClientProcess& client, const std::string& line) {
    return std::ranges::find(client.lines(), line) != client.lines().end();
}

// Two outputs side by side and a red 64x48 window that has the keyboard, on the first.
struct LockScene {
    HeadlessCompositor compositor{{{320, 240, 60000}, {320, 240, 60000}}};
    TestKeyboard keyboard{compositor};
    TestPointer pointer{compositor};
    std::unique_ptr<ClientProcess> window = compositor.spawn(
        {test_client_path(), "--size", "64x48", "--pattern", "solid", "--print-input"});

    LockScene() { REQUIRE(window->wait_for_line("keyboard-enter")); }

    SessionLock::State state() { return compositor.server().session_lock()->state(); }

    // Every pixel of both outputs but the cursor's (the outputs lie side by side).
    bool both_outputs_are(Rgba colour) {
        return compositor.run_until([&] {
            auto* cursor = compositor.server().seat().cursor();
            wlr_box around_cursor{static_cast<int>(cursor->x) - cursor_reach,
                                  static_cast<int>(cursor->y) - cursor_reach, 2 * cursor_reach,
                                  2 * cursor_reach};
            wlr_box on_second = around_cursor;
            on_second.x -= 320;
            return every_pixel_is(compositor.capture(0), colour, around_cursor) &&
                   every_pixel_is(compositor.capture(1), colour, on_second);
        });
    }
    static constexpr int cursor_reach = 48; // an xcursor image of 24 (48 scaled) either way
};

} // namespace

TEST_CASE("a locker hides every output and takes all input until it unlocks", "[session-lock]") {
    LockScene scene;
    REQUIRE(some_pixel_is(scene.compositor.capture(0), window_red));

    auto locker = scene.compositor.spawn({test_locker_path(), "--unlock-on-key"});
    REQUIRE(locker->wait_for_line("locked"));
    CHECK(scene.state() == SessionLock::State::locked);
    // Confirmed only once every output was blank: the window is gone from the first frame on.
    CHECK_FALSE(some_pixel_is(scene.compositor.capture(0), window_red));
    CHECK(scene.window->wait_for_line("keyboard-leave"));
    CHECK(locker->wait_for_line("keyboard-enter"));
    CHECK(scene.both_outputs_are(locker_blue));

    // Over the window's place the pointer and a click reach the locker, not the window.
    scene.pointer.move_to(160, 120);
    CHECK(locker->wait_for_line("pointer-enter"));
    scene.pointer.click(BTN_LEFT);
    scene.keyboard.tap(KEY_A);
    CHECK(locker->wait_for_line("key 30"));
    REQUIRE(locker->wait_for_line("unlocked"));
    auto status = locker->wait_exit();
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);

    CHECK(
        scene.compositor.run_until([&] { return scene.state() == SessionLock::State::unlocked; }));
    CHECK(scene.window->wait_for_line("keyboard-enter", 10s, 2));
    scene.keyboard.tap(KEY_B);
    CHECK(scene.window->wait_for_line("key b"));
    // Events reach a client in order: what the window got before "key b" is all it will get.
    CHECK_FALSE(has_line(*scene.window, "key a"));
    CHECK_FALSE(has_line(*scene.window, "button 272"));
    CHECK(some_pixel_is(scene.compositor.capture(0), window_red));
}

TEST_CASE("a locker that dies leaves the session locked until another one unlocks it",
          "[session-lock]") {
    LockScene scene;
    auto locker = scene.compositor.spawn({test_locker_path()});
    REQUIRE(locker->wait_for_line("locked"));
    REQUIRE(scene.both_outputs_are(locker_blue));
    locker->kill(SIGKILL);
    REQUIRE(locker->wait_exit());
    REQUIRE(
        scene.compositor.run_until([&] { return scene.state() == SessionLock::State::abandoned; }));
    // Blank, and the keyboard goes nowhere.
    CHECK(scene.both_outputs_are(Rgba{0, 0, 0, 255}));
    scene.keyboard.tap(KEY_A);

    auto rescuer = scene.compositor.spawn({test_locker_path(), "--unlock-on-key"});
    REQUIRE(rescuer->wait_for_line("locked"));
    REQUIRE(rescuer->wait_for_line("keyboard-enter"));
    scene.keyboard.tap(KEY_C);
    REQUIRE(rescuer->wait_for_line("unlocked"));
    REQUIRE(scene.window->wait_for_line("keyboard-enter", 10s, 2));
    scene.keyboard.tap(KEY_B);
    CHECK(scene.window->wait_for_line("key b"));
    CHECK_FALSE(has_line(*scene.window, "key a"));
    CHECK_FALSE(has_line(*rescuer, "key 30")); // pressed before it existed
}

TEST_CASE("a second locker is refused while the session is locked", "[session-lock]") {
    LockScene scene;
    auto locker = scene.compositor.spawn({test_locker_path(), "--unlock-on-key"});
    REQUIRE(locker->wait_for_line("locked"));
    auto second = scene.compositor.spawn({test_locker_path(), "--color", "ff00ff"});
    CHECK(second->wait_for_line("finished"));
    auto status = second->wait_exit();
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 1);
    CHECK(scene.state() == SessionLock::State::locked);
    CHECK(scene.both_outputs_are(locker_blue));
    scene.keyboard.tap(KEY_A);
    CHECK(locker->wait_for_line("unlocked"));
}

TEST_CASE("swaylock locks the session and a killed swaylock leaves it locked", "[session-lock]") {
    LockScene scene;
    auto swaylock = scene.compositor.spawn({"swaylock", "--color", "336699"});
    REQUIRE(
        scene.compositor.run_until([&] { return scene.state() == SessionLock::State::locked; }));
    // swaylock draws its colour on every output (its indicator only appears on typing).
    CHECK(scene.both_outputs_are(locker_blue));
    scene.keyboard.tap(KEY_A); // a key typed into swaylock's password field, not the window
    swaylock->kill(SIGKILL);
    REQUIRE(swaylock->wait_exit());
    REQUIRE(
        scene.compositor.run_until([&] { return scene.state() == SessionLock::State::abandoned; }));
    CHECK(scene.both_outputs_are(Rgba{0, 0, 0, 255}));

    auto rescuer = scene.compositor.spawn({test_locker_path(), "--unlock-on-key"});
    REQUIRE(rescuer->wait_for_line("keyboard-enter"));
    scene.keyboard.tap(KEY_C);
    REQUIRE(rescuer->wait_for_line("unlocked"));
    scene.keyboard.tap(KEY_B);
    CHECK(scene.window->wait_for_line("key b"));
    CHECK_FALSE(has_line(*scene.window, "key a"));
}
