// ext-idle-notify-v1 and idle-inhibit: Debian's swayidle against the compositor's input, and
// an idle inhibitor on a shown window.
#include "headless_compositor.hpp"
#include "idle.hpp"
#include "input_devices.hpp"

#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>
#include <signal.h>

#include <algorithm>

using namespace tessera;
using namespace tessera::test;

namespace {

bool has_line(const ClientProcess& client, const std::string& line) {
    return std::ranges::find(client.lines(), line) != client.lines().end();
}

// swayidle runs its commands with sh -c; their output is swayidle's.
std::unique_ptr<ClientProcess> start_swayidle(HeadlessCompositor& compositor) {
    return compositor.spawn(
        {"swayidle", "-w", "timeout", "1", "echo idle", "resume", "echo resumed"});
}

} // namespace

TEST_CASE("swayidle hears of idleness after its timeout and of the next input", "[idle]") {
    HeadlessCompositor compositor;
    TestKeyboard keyboard(compositor);
    TestPointer pointer(compositor);
    auto swayidle = start_swayidle(compositor);
    REQUIRE(swayidle->wait_for_line("idle", 10s));
    keyboard.tap(KEY_A);
    CHECK(swayidle->wait_for_line("resumed", 5s));

    REQUIRE(swayidle->wait_for_line("idle", 10s, 2));
    pointer.move_to(10, 10);
    CHECK(swayidle->wait_for_line("resumed", 5s, 2));
}

TEST_CASE("a shown window with an idle inhibitor holds idleness off until it goes", "[idle]") {
    HeadlessCompositor compositor;
    auto window = compositor.spawn({test_client_path(), "--inhibit-idle"});
    REQUIRE(window->wait_for_line("mapped"));
    REQUIRE(compositor.run_until([&] { return compositor.server().idle()->inhibited(); }));

    auto swayidle = start_swayidle(compositor);
    // Twice the timeout with no input: inhibited, swayidle hears nothing.
    compositor.run_for(2s);
    CHECK_FALSE(has_line(*swayidle, "idle"));

    window->kill(SIGTERM);
    REQUIRE(window->wait_exit());
    CHECK(compositor.run_until([&] { return !compositor.server().idle()->inhibited(); }));
    CHECK(swayidle->wait_for_line("idle", 10s));
}

TEST_CASE("while the session is locked only the locker's inhibitors count", "[idle]") {
    HeadlessCompositor compositor;
    auto window = compositor.spawn({test_client_path(), "--inhibit-idle"});
    REQUIRE(window->wait_for_line("mapped"));
    REQUIRE(compositor.run_until([&] { return compositor.server().idle()->inhibited(); }));
    auto locker = compositor.spawn({test_locker_path()});
    REQUIRE(locker->wait_for_line("locked"));
    CHECK(compositor.run_until([&] { return !compositor.server().idle()->inhibited(); }));
    CHECK(compositor.server().idle()->inhibitors() == 1);
}
