// Clients that crash or vanish mid-frame leave the compositor running and serving others.
#include "headless_compositor.hpp"
#include "toplevel.hpp"

#include <catch2/catch_test_macros.hpp>

#include <signal.h>
#include <sys/wait.h>

using namespace tessera;
using namespace tessera::test;

namespace {

// A fresh client still gets a window on screen.
void check_compositor_serves_clients(HeadlessCompositor& compositor) {
    auto client = compositor.spawn({test_client_path(), "--pattern", "solid", "--color", "00ff00"});
    REQUIRE(client->wait_for_line("mapped"));
    CHECK(compositor.capture().at(160, 120) == Rgba{0, 255, 0, 255});
}

} // namespace

TEST_CASE("a client killed in the middle of a frame", "[client-crash]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--crash-mid-frame"});
    REQUIRE(client->wait_for_line("mapped"));
    auto status = client->wait_exit();
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    // The compositor drops the window once it has read the hang-up.
    CHECK(compositor.run_until([&] { return compositor.server().stacking().empty(); }, 5s));
    check_compositor_serves_clients(compositor);
}

TEST_CASE("a client that closes its connection in the middle of a frame", "[client-crash]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--disconnect-mid-frame"});
    REQUIRE(client->wait_for_line("mapped"));
    REQUIRE(client->wait_exit());
    CHECK(compositor.run_until([&] { return compositor.server().stacking().empty(); }, 5s));
    check_compositor_serves_clients(compositor);
}

TEST_CASE("weston-simple-shm killed while animating", "[client-crash]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({"weston-simple-shm"});
    // Let it draw a few frames first.
    REQUIRE(compositor.run_until(
        [&] {
            const auto& windows = compositor.server().stacking();
            return !windows.empty() && windows.front()->frames() >= 5;
        },
        10s));
    client->kill(SIGKILL);
    REQUIRE(client->wait_exit());
    REQUIRE(compositor.run_until([&] { return compositor.server().stacking().empty(); }, 5s));
    check_compositor_serves_clients(compositor);
}
