// The example layouts of data/layouts with real clients.
#include "headless_compositor.hpp"
#include "output.hpp"
#include "zone_scene.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace tessera;
using namespace tessera::test;

namespace {

std::string example(const std::string& name) {
    return source_path("data/layouts/" + name);
}

} // namespace

TEST_CASE("kiosk: one window fills the output", "[layouts]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", example("kiosk.toml"));
    auto client = compositor.spawn(
        {test_client_path(), "--follow-configure", "--pattern", "solid", "--color", "ff0000"});
    REQUIRE(client->wait_for_line("configure 320 240"));
    REQUIRE(client->wait_for_line("mapped"));
    CHECK(compare_images(compositor.capture(), Image(320, 240, {255, 0, 0, 255}), 0).matches());
}

TEST_CASE("session: windows float at their own size on the desktop zone", "[layouts]") {
    HeadlessCompositor compositor({{320, 250, 60000}}, "us", example("session.toml"));
    // The desktop zone is 320x240 below a 10-pixel panel (4% of 250).
    auto client = compositor.spawn(
        {test_client_path(), "--size", "64x48", "--pattern", "solid", "--color", "ff0000"});
    REQUIRE(client->wait_for_line("configure 0 0")); // its own size
    REQUIRE(client->wait_for_line("mapped"));
    auto shot = compositor.capture();
    // Centred in the desktop zone: x (320-64)/2 = 128, y 10 + (240-48)/2 = 106.
    CHECK(shot.at(128, 106) == Rgba{255, 0, 0, 255});
    CHECK(shot.at(127, 106) == Rgba{0x30, 0x34, 0x46, 255}); // the desktop's background
    CHECK(shot.at(128, 105) == Rgba{0x30, 0x34, 0x46, 255});
}

TEST_CASE("two-output cockpit: zones follow their outputs, by index without the connectors",
          "[layouts]") {
    HeadlessCompositor compositor({{200, 100, 60000}, {400, 200, 60000}}, "us",
                                  example("cockpit-two-outputs.toml"));
    auto* zones = compositor.server().zones();
    auto cluster = zones->zone_box("cluster");
    auto centre = zones->zone_box("centre");
    REQUIRE(cluster);
    REQUIRE(centre);
    CHECK(cluster->first == compositor.server().outputs()[0].get());
    CHECK(centre->first == compositor.server().outputs()[1].get());
    // Driving: the centre screen spans the second display below the status bar.
    CHECK(centre->second.x == 200);
    CHECK(centre->second.y == 10);
    CHECK(centre->second.width == 400);
    CHECK_FALSE(zones->zone_box("passenger"));

    // The cluster display's pixels are the cluster zone's fallback.
    CHECK(compositor.capture(0).at(100, 50) == Rgba{0x20, 0, 0, 255});
}
