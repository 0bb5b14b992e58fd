// A wl_shm client's window appears where the compositor places it, with its exact pixels.
#include "headless_compositor.hpp"
#include "output.hpp"
#include "reference_image.hpp"
#include "seat.hpp"

#include <catch2/catch_test_macros.hpp>

#include <signal.h>

#include <cstdlib>

using namespace tessera;
using namespace tessera::test;

namespace {

Rgba backdrop() {
    const auto* rgb = compositor::backdrop_rgb;
    return {rgb[0], rgb[1], rgb[2], 255};
}

constexpr Rgba red{255, 0, 0, 255}, blue{0, 0, 255, 255}, green{0, 255, 0, 255};

} // namespace

TEST_CASE("an empty output shows the backdrop", "[shm]") {
    HeadlessCompositor compositor;
    auto shot = compositor.capture();
    REQUIRE(shot.width() == 320);
    REQUIRE(shot.height() == 240);
    CHECK(compare_images(shot, Image(320, 240, backdrop()), 0).matches());
}

TEST_CASE("a wl_shm window is centred on the output with its own pixels", "[shm]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--size", "64x48", "--pattern", "checker",
                                    "--color", "ff0000", "--color2", "0000ff"});
    REQUIRE(client->wait_for_line("mapped"));
    auto shot = compositor.capture();

    // Centred: (320 - 64) / 2 = 128, (240 - 48) / 2 = 96; 8x8 checker, red first.
    CHECK(shot.at(128, 96) == red);
    CHECK(shot.at(136, 96) == blue);
    CHECK(shot.at(128 + 63, 96 + 47) == red);
    CHECK(shot.at(127, 96) == backdrop());
    CHECK(shot.at(128, 95) == backdrop());
    CHECK(shot.at(192, 144) == backdrop());
    auto mismatch = compare_with_reference(shot, "shm-checker-window", 0);
    INFO(mismatch);
    CHECK(mismatch.empty());
}

TEST_CASE("a new window gets keyboard focus and the activated state", "[shm]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--print-input"});
    REQUIRE(client->wait_for_line("mapped"));
    CHECK(client->wait_for_line("activated"));
    auto* focused = compositor.server().seat().wlr()->keyboard_state.focused_surface;
    CHECK(focused != nullptr);
}

TEST_CASE("an xdg popup appears at its positioner's place above its window", "[popup]") {
    HeadlessCompositor compositor;
    auto client =
        compositor.spawn({test_client_path(), "--size", "64x48", "--pattern", "solid", "--color",
                          "0000ff", "--popup", "20x10+5+7", "--popup-color", "00ff00"});
    REQUIRE(client->wait_for_line("popup-mapped"));
    auto shot = compositor.capture();
    CHECK(shot.at(128 + 5, 96 + 7) == green);
    CHECK(shot.at(128 + 24, 96 + 16) == green);
    CHECK(shot.at(128 + 25, 96 + 7) == blue);
    CHECK(shot.at(128 + 4, 96 + 7) == blue);
    auto mismatch = compare_with_reference(shot, "popup-over-window", 0);
    INFO(mismatch);
    CHECK(mismatch.empty());
}

TEST_CASE("the last window mapped is on top", "[shm]") {
    HeadlessCompositor compositor;
    auto first = compositor.spawn({test_client_path(), "--pattern", "solid", "--color", "ff0000"});
    REQUIRE(first->wait_for_line("mapped"));
    auto second = compositor.spawn({test_client_path(), "--pattern", "solid", "--color", "00ff00"});
    REQUIRE(second->wait_for_line("mapped"));
    CHECK(compositor.capture().at(160, 120) == green);

    second->kill(SIGTERM);
    REQUIRE(second->wait_exit());
    // Gone from the screen once the compositor has read its hang-up.
    REQUIRE(compositor.run_until([&] { return compositor.server().stacking().size() == 1; }));
    CHECK(compositor.capture().at(160, 120) == red);
}

TEST_CASE("a window that asks to be maximized fills the output", "[window-state]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--maximize", "--follow-configure",
                                    "--pattern", "solid", "--color", "ff0000"});
    REQUIRE(client->wait_for_line("configure 320 240"));
    REQUIRE(client->wait_for_line("mapped"));
    CHECK(compare_images(compositor.capture(), Image(320, 240, red), 0).matches());
}

TEST_CASE("a fullscreen window fills its output, above the wallpaper", "[window-state]") {
    HeadlessCompositor compositor;
    auto swaybg = compositor.spawn({"swaybg", "-c", "#336699"});
    auto client = compositor.spawn({test_client_path(), "--fullscreen", "--follow-configure",
                                    "--pattern", "solid", "--color", "0000ff"});
    REQUIRE(client->wait_for_line("configure 320 240"));
    REQUIRE(client->wait_for_line("mapped"));
    CHECK(compare_images(compositor.capture(), Image(320, 240, blue), 0).matches());
}

TEST_CASE("a window at half opacity through alpha-modifier blends with what is below", "[shm]") {
    HeadlessCompositor compositor;
    auto below = compositor.spawn(
        {test_client_path(), "--size", "64x48", "--pattern", "solid", "--color", "0000ff"});
    REQUIRE(below->wait_for_line("mapped"));
    auto above = compositor.spawn({test_client_path(), "--size", "64x48", "--pattern", "solid",
                                   "--color", "ff0000", "--alpha", "50"});
    REQUIRE(above->wait_for_line("mapped"));
    auto pixel = compositor.capture().at(160, 120);
    INFO(int(pixel.r) << "," << int(pixel.g) << "," << int(pixel.b));
    CHECK(std::abs(int(pixel.r) - 128) <= 2);
    CHECK(pixel.g == 0);
    CHECK(std::abs(int(pixel.b) - 127) <= 2);
}
