// Clients that crash or vanish mid-frame leave the compositor running and serving others.
#include "headless_compositor.hpp"

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
    compositor.run_for(100ms);
    CHECK(compositor.server().stacking().empty());
    check_compositor_serves_clients(compositor);
}

TEST_CASE("a client that closes its connection in the middle of a frame", "[client-crash]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--disconnect-mid-frame"});
    REQUIRE(client->wait_for_line("mapped"));
    REQUIRE(client->wait_exit());
    compositor.run_for(100ms);
    CHECK(compositor.server().stacking().empty());
    check_compositor_serves_clients(compositor);
}

TEST_CASE("weston-simple-shm killed while animating", "[client-crash]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({"weston-simple-shm"});
    // Let it draw a few frames first.
    REQUIRE(compositor.run_until([&] { return !compositor.server().stacking().empty(); }, 10s));
    compositor.run_for(200ms);
    client->kill(SIGKILL);
    REQUIRE(client->wait_exit());
    REQUIRE(compositor.run_until([&] { return compositor.server().stacking().empty(); }, 5s));
    check_compositor_serves_clients(compositor);
}
