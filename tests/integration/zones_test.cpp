// Layout zones with real clients: ivi-application surfaces, xdg windows matched by app_id,
// profiles switched atomically, and the layout file's errors.
#include "headless_compositor.hpp"
#include "input_devices.hpp"
#include "ivi_application.hpp"
#include "reference_image.hpp"
#include "toplevel.hpp"
#include "zone_scene.hpp"

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <tuple>

#include <linux/input-event-codes.h>
#include <signal.h>
#include <sys/wait.h>

using namespace tessera;
using namespace tessera::test;

namespace {

constexpr Rgba red{255, 0, 0, 255}, blue{0, 0, 255, 255}, yellow{255, 255, 0, 255};
constexpr Rgba left_fallback{0x40, 0, 0, 255}, right_fallback{0, 0x40, 0, 255},
    bottom_fallback{0, 0, 0x40, 255};

std::string three_zones() {
    return test_data_path("layouts/three-zones.toml");
}

// The content a zone shows (ready or not), if any.
compositor::ZoneContent* content_in(HeadlessCompositor& compositor, std::string_view zone) {
    const auto& contents = compositor.server().zones()->contents();
    auto it = std::ranges::find(contents, zone, &compositor::ZoneContent::zone);
    return it == contents.end() ? nullptr : *it;
}

// Whether the compositor shows, in `zone`, ready content whose latest buffer has this size.
bool zone_shows_buffer(HeadlessCompositor& compositor, std::string_view zone, int width,
                       int height) {
    auto* content = content_in(compositor, zone);
    auto* node = content && content->ready() ? content->main_buffer() : nullptr;
    return node && node->buffer && node->buffer->width == width && node->buffer->height == height;
}

// The three clients of the three-zone layout.
struct ThreeClients {
    HeadlessCompositor& compositor;
    std::unique_ptr<ClientProcess> left, right, bottom;

    explicit ThreeClients(HeadlessCompositor& c) : compositor(c) {
        left = compositor.spawn({test_client_path(), "--ivi-id", "100", "--size", "80x60"});
        right = compositor.spawn({test_client_path(), "--ivi-id", "200", "--size", "40x40",
                                  "--pattern", "solid", "--color", "0000ff"});
        bottom = compositor.spawn({test_client_path(), "--follow-configure", "--pattern", "solid",
                                   "--color", "ffff00", "--print-input"});
        REQUIRE(left->wait_for_line("mapped"));
        REQUIRE(right->wait_for_line("mapped"));
        REQUIRE(bottom->wait_for_line("configure 160 120"));
        REQUIRE(bottom->wait_for_line("mapped"));
        // What the clients printed says what they sent, not what the compositor has read and
        // applied: wait until each zone shows its client's final buffer (the bottom client
        // draws at the configured size only after printing "configure").
        REQUIRE(compositor.run_until([&] {
            return zone_shows_buffer(compositor, "left", 80, 60) &&
                   zone_shows_buffer(compositor, "right", 40, 40) &&
                   zone_shows_buffer(compositor, "bottom", 160, 120);
        }));
    }
};

} // namespace

TEST_CASE("empty zones show their fallback colours", "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    auto shot = compositor.capture();
    CHECK(shot.at(0, 0) == left_fallback);
    CHECK(shot.at(159, 239) == left_fallback);
    CHECK(shot.at(160, 0) == right_fallback);
    CHECK(shot.at(319, 119) == right_fallback);
    CHECK(shot.at(160, 120) == bottom_fallback);
}

TEST_CASE("two ivi clients and an xdg client fill a three-zone layout", "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    ThreeClients clients(compositor);
    // ivi surfaces are told their zone's size.
    CHECK(clients.left->wait_for_line("configure 160 240"));
    CHECK(clients.right->wait_for_line("configure 160 120"));

    auto shot = compositor.capture();
    // left: 80x60 at integer scale 2 = 160x120, centred vertically in 160x240.
    CHECK(shot.at(0, 59) == Rgba{0, 0, 0, 255}); // zone background above it
    CHECK(shot.at(0, 60) == red);
    CHECK(shot.at(16, 60) == blue); // one 8-pixel square, doubled
    CHECK(shot.at(15, 60) == red);
    CHECK(shot.at(159, 179) == red);
    // right: 40x40 stretched over 160x120 (the outermost pixels are filtered at the edge).
    CHECK(shot.at(162, 2) == blue);
    CHECK(shot.at(317, 117) == blue);
    // bottom: the xdg window drew at its zone's size.
    CHECK(shot.at(160, 120) == yellow);
    CHECK(shot.at(319, 239) == yellow);

    // The scene knows what is opaque in zone coordinates: the right surface's opaque 40x40
    // stretched to 160x120, less the edges the bilinear filter blends with what is below.
    const auto* opaque =
        pixman_region32_extents(&content_in(compositor, "right")->main_buffer()->opaque_region);
    CHECK(std::tuple(opaque->x1, opaque->y1, opaque->x2, opaque->y2) == std::tuple(2, 2, 158, 118));

    auto mismatch = compare_with_reference(shot, "three-zones", 0);
    INFO(mismatch);
    CHECK(mismatch.empty());
}

TEST_CASE("a window no rule matches goes to the default zone at its size", "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    // Debian's weston-simple-shm: an xdg window with an app_id no rule names.
    auto client = compositor.spawn({"weston-simple-shm"});
    auto* zones = compositor.server().zones();
    REQUIRE(compositor.run_until([&] {
        return std::ranges::any_of(zones->contents(), [](auto* c) { return c->ready(); });
    }));
    auto* content = zones->contents().front();
    CHECK(content->zone == "bottom");
    CHECK(content->content_box().width == 160);
    CHECK(content->content_box().height == 120);
    // Its pattern is in the buffers it draws on frame callbacks: wait for one drawn after the
    // first was shown.
    REQUIRE(compositor.run_until([&] { return content->frames() >= 2; }));
    auto shot = compositor.capture();
    // It draws its own pattern over the whole zone, not the fallback.
    int covered = 0;
    for (int y = 122; y < 238; y += 4) {
        for (int x = 162; x < 318; x += 4) {
            covered += shot.at(x, y) != bottom_fallback;
        }
    }
    CHECK(covered > 1000);
}

TEST_CASE("a duplicate ivi id is a protocol error for that client only", "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    auto first = compositor.spawn({test_client_path(), "--ivi-id", "100", "--size", "80x60"});
    REQUIRE(first->wait_for_line("mapped"));
    auto second = compositor.spawn({test_client_path(), "--ivi-id", "100"});
    auto status = second->wait_exit();
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 1);
    // The first client is still shown once the compositor has dropped the second, and the
    // compositor serves new clients.
    REQUIRE(compositor.run_until([&] { return compositor.client_count() == 1; }));
    CHECK(compositor.capture().at(0, 60) == red);
    auto third = compositor.spawn({test_client_path(), "--ivi-id", "200"});
    CHECK(third->wait_for_line("mapped"));
}

TEST_CASE("an ivi id can be used again once its surface is gone", "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    auto first = compositor.spawn({test_client_path(), "--ivi-id", "100", "--frames", "1"});
    REQUIRE(first->wait_exit());
    // Its exit is not yet its surface's end: the compositor reads the hang-up later.
    REQUIRE(compositor.run_until([&] { return content_in(compositor, "left") == nullptr; }));
    CHECK(compositor.capture().at(0, 60) == left_fallback);
    auto again = compositor.spawn({test_client_path(), "--ivi-id", "100"});
    CHECK(again->wait_for_line("mapped"));
}

TEST_CASE("a zone that refuses touch keeps touches from its content", "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    TestTouch touch(compositor);
    TestPointer pointer(compositor);
    ThreeClients clients(compositor);
    // The bottom zone takes pointer and keyboard input only.
    touch.down(0, 200, 200);
    touch.up(0);
    pointer.move_to(200, 200);
    pointer.click(BTN_LEFT);
    REQUIRE(clients.bottom->wait_for_line("button 272"));
    // Touch events would have come before the click.
    CHECK(std::ranges::none_of(clients.bottom->lines(),
                               [](const std::string& l) { return l.starts_with("touch-down"); }));
    // Zone-local coordinates reach the client: (200,200) is (40,80) in the bottom zone.
    CHECK(clients.bottom->wait_for_line("pointer-enter 40 80"));
}

TEST_CASE("pointer coordinates are unscaled for scaled content", "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    TestPointer pointer(compositor);
    auto right = compositor.spawn(
        {test_client_path(), "--ivi-id", "200", "--size", "40x40", "--print-input"});
    REQUIRE(right->wait_for_line("mapped"));
    // The right zone stretches 40x40 over 160x120: (240, 60) is the middle of the content.
    pointer.move_to(240, 60);
    bool entered = right->wait_for_line("pointer-enter 20 20");
    INFO(right->output());
    CHECK(entered);
}

TEST_CASE("a profile switch changes every zone in the same frame", "[profile]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    ThreeClients clients(compositor);

    // Probes: the left zone's content (red at its corner) moves right, the right zone's blue
    // moves left, and the bottom zone disappears (backdrop below it).
    constexpr Rgba black{0, 0, 0, 255};
    auto old_layout = [&](const Image& f) {
        return f.at(0, 60) == red && f.at(317, 2) == blue && f.at(300, 230) == yellow;
    };
    // The left zone now covers the right half at full height (its background below its
    // content), the right zone is top left, and the bottom zone is gone.
    auto new_layout = [&](const Image& f) {
        return f.at(160, 60) == red && f.at(2, 2) == blue && f.at(300, 230) == black &&
               f.at(100, 230) != yellow;
    };

    compositor.record_frames();
    const auto& frames = compositor.recorded_frames();
    REQUIRE(compositor.run_until([&] { return frames.size() >= 2; })); // of the old layout
    auto& model = compositor.server().zones()->model();
    REQUIRE(model.set_profile("swapped"));
    compositor.server().zones()->commit();
    // The window of the hidden zone is told nothing new: no configure is scheduled for it.
    // (The ivi zones keep their sizes, 160x240 and 160x120: nothing new for them either.)
    auto* bottom = dynamic_cast<compositor::Toplevel*>(content_in(compositor, "bottom"));
    REQUIRE(bottom);
    CHECK(bottom->xdg()->base->configure_idle == nullptr);
    // The first frame of the new layout, and one more after it.
    REQUIRE(compositor.run_until([&] { return std::ranges::count_if(frames, new_layout) >= 2; }));
    REQUIRE(frames.size() >= 4);
    size_t old_frames = 0, new_frames = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
        bool is_old = old_layout(frames[i]), is_new = new_layout(frames[i]);
        INFO("frame " << i);
        CHECK((is_old || is_new)); // never a mix
        old_frames += is_old;
        new_frames += is_new && !is_old;
        if (new_frames > 0) {
            CHECK(is_new); // once switched, it stays switched
        }
    }
    CHECK(old_frames > 0);
    CHECK(new_frames > 0);
}

TEST_CASE("a malformed layout file stops tessera with file, line and key", "[layout-errors]") {
    // One of the corpus files; the unit tests check each message in detail.
    auto file = test_data_path("broken-layouts/06-unknown-zone-key.toml");
    REQUIRE(std::filesystem::exists(file));
    HeadlessCompositor host; // only for its runtime dir and command runner
    auto result = host.run_command(
        {"/bin/sh", "-c", tessera_binary_path() + " --headless 64x64 --layout " + file + " 2>&1"});
    INFO(result.output);
    CHECK(WIFEXITED(result.status));
    CHECK(WEXITSTATUS(result.status) == 1);
    // "layout: FILE:LINE:COLUMN: KEY: message"
    CHECK(result.output.find("layout: " + file + ":") != std::string::npos);
    CHECK(result.output.find("unknown key") != std::string::npos);
}

TEST_CASE("a click gives an ivi surface the keyboard", "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    TestPointer pointer(compositor);
    TestKeyboard keyboard(compositor);
    auto right = compositor.spawn({test_client_path(), "--ivi-id", "200", "--print-input"});
    REQUIRE(right->wait_for_line("mapped"));
    pointer.move_to(240, 60);
    pointer.click(BTN_LEFT);
    REQUIRE(right->wait_for_line("keyboard-enter"));
    keyboard.tap(KEY_A);
    CHECK(right->wait_for_line("key a"));
}

TEST_CASE("an empty zone shows its fallback image over its fallback colour", "[zones]") {
    HeadlessCompositor host;
    Image pattern(2, 2, red);
    pattern.set(1, 0, blue);
    pattern.set(0, 1, yellow);
    pattern.set(1, 1, Rgba{255, 255, 255, 255});
    REQUIRE(write_png(pattern, host.runtime_dir() + "/fallback.png"));
    std::ofstream(host.runtime_dir() + "/layout.toml") << R"(
[outputs.screen]
index = 0
[zones.only]
output = "screen"
rect = { x = 0, y = 0, width = 160, height = 120 }
fit = "integer"
fallback = { color = "#00ff00", image = "fallback.png" }
[[rules]]
zone = "only"
app-id = "x"
)";
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", host.runtime_dir() + "/layout.toml");
    auto shot = compositor.capture();
    // 2x2 at integer scale 60 = 120x120, centred in 160x120: x 20..139.
    CHECK(shot.at(10, 60) == Rgba{0, 255, 0, 255}); // the colour beside the image
    CHECK(shot.at(30, 10) == red);
    CHECK(shot.at(130, 10) == blue);
    CHECK(shot.at(30, 110) == yellow);
    CHECK(shot.at(130, 110) == Rgba{255, 255, 255, 255});

    // Content replaces the fallback.
    auto client = compositor.spawn({test_client_path(), "--app-id", "x", "--pattern", "solid",
                                    "--color", "000000", "--size", "160x120"});
    REQUIRE(client->wait_for_line("mapped"));
    CHECK(compositor.capture().at(30, 10) == Rgba{0, 0, 0, 255});
}

TEST_CASE("a window with client-side shadows fills its zone with its geometry, shadows outside",
          "[zones]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    // The window's geometry leaves out an 8-pixel grey border, as GTK's shadows are.
    auto client = compositor.spawn({test_client_path(), "--follow-configure", "--pattern", "solid",
                                    "--color", "ffff00", "--shadow", "8"});
    REQUIRE(client->wait_for_line("configure 160 120"));
    REQUIRE(
        compositor.run_until([&] { return zone_shows_buffer(compositor, "bottom", 176, 136); }));
    auto shot = compositor.capture();
    // The bottom zone is 160x120 at 160,120: the geometry covers it corner to corner.
    for (auto [x, y] : {std::pair{160, 120}, {319, 120}, {160, 239}, {319, 239}, {240, 180}}) {
        INFO(x << "," << y);
        CHECK(shot.at(x, y) == yellow);
    }
}

TEST_CASE("a free window with client-side shadows is placed by its geometry", "[window-state]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--size", "64x48", "--pattern", "solid",
                                    "--color", "ffff00", "--shadow", "8"});
    REQUIRE(client->wait_for_line("mapped"));
    auto* window = compositor.server().stacking().front();
    REQUIRE(compositor.run_until([&] { return window->geometry().width == 64; }));
    auto box = window->geometry();
    CHECK(box.height == 48);
    // Centred on the 320x240 output by its geometry, not by its buffer.
    CHECK(box.x == (320 - 64) / 2);
    CHECK(box.y == (240 - 48) / 2);
    auto shot = compositor.capture();
    const Rgba shadow{0x80, 0x80, 0x80, 255};
    CHECK(shot.at(box.x, box.y) == yellow);
    CHECK(shot.at(box.x + 63, box.y + 47) == yellow);
    CHECK(shot.at(box.x - 1, box.y - 1) == shadow);
    CHECK(shot.at(box.x + 64, box.y + 48) == shadow);
}
