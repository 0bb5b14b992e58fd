// Protocols of a desktop session beyond windows and input: xdg-activation (focus handed over with
// a token), gamma control, tearing control and content type.
#include "headless_compositor.hpp"
#include "input_devices.hpp"
#include "output.hpp"
#include "seat.hpp"
#include "toplevel.hpp"
#include "xdg_activation.hpp"

#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include <linux/input-event-codes.h>
#include <sys/wait.h>

#include <csignal>

#include <algorithm>

using namespace tessera;
using namespace tessera::test;
using json = nlohmann::json;

namespace {

std::string focused_app_id(HeadlessCompositor& compositor) {
    auto* focused = compositor.server().seat().focused_toplevel();
    return focused ? std::string(focused->app_id()) : std::string();
}

bool printed(const ClientProcess& client, const std::string& line) {
    return std::ranges::find(client.lines(), line) != client.lines().end();
}

// Whether `line` was printed after `earlier`.
bool printed_after(const ClientProcess& client, const std::string& earlier,
                   const std::string& line) {
    auto from = std::ranges::find(client.lines(), earlier);
    return from != client.lines().end() &&
           std::find(from, client.lines().end(), line) != client.lines().end();
}

json ctl_json(HeadlessCompositor& compositor, const std::vector<std::string>& args) {
    std::vector<std::string> argv{tessera_ctl_path(), "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = compositor.run_command(argv);
    INFO(result.output);
    REQUIRE(result.status == 0);
    return json::parse(result.output);
}

} // namespace

TEST_CASE("An activation token from a real input event hands focus to another window",
          "[desktop-protocols]") {
    HeadlessCompositor compositor;
    TestKeyboard keyboard(compositor); // the seat has a keyboard, so windows get keyboard focus
    auto client = compositor.spawn({activation_client_path(), "--from-input"});
    // "first" maps and has the focus, then "second" maps and takes it; second's keyboard-enter
    // serial makes the token.
    REQUIRE(client->wait_for_line("focus second"));
    REQUIRE(client->wait_for_line("settled"));
    CHECK(printed(*client, "token"));
    CHECK(printed_after(*client, "focus second", "focus first"));
    CHECK(focused_app_id(compositor) == "first");
    CHECK(compositor.server().xdg_activation().activated() == 1);
    CHECK(compositor.server().xdg_activation().refused() == 0);
}

TEST_CASE("An activation token that no input event backs does not steal the focus",
          "[desktop-protocols]") {
    HeadlessCompositor compositor;
    TestKeyboard keyboard(compositor);
    auto client = compositor.spawn({activation_client_path(), "--from-nothing"});
    REQUIRE(client->wait_for_line("focus second"));
    // "settled" comes after the compositor handled the activation: no focus change before it.
    REQUIRE(client->wait_for_line("settled"));
    CHECK(printed(*client, "token"));
    CHECK_FALSE(printed_after(*client, "focus second", "focus first"));
    CHECK(focused_app_id(compositor) == "second");
    CHECK(compositor.server().xdg_activation().activated() == 0);
    CHECK(compositor.server().xdg_activation().refused() == 1);
}

TEST_CASE("A gamma ramp for an output without a gamma table fails its client, nothing else",
          "[desktop-protocols]") {
    // The headless output has no gamma table (KMS CRTCs have one): the client is told at once
    // and the output goes on.
    HeadlessCompositor compositor;
    auto client = compositor.spawn({gamma_client_path()});
    REQUIRE(client->wait_for_line("failed"));
    auto status = client->wait_exit();
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 3);
    CHECK_FALSE(printed(*client, "set"));
    auto* output = compositor.server().outputs().front().get();
    const uint64_t before = output->frames_committed();
    auto window = compositor.spawn({test_client_path(), "--pattern", "solid"});
    REQUIRE(window->wait_for_line("mapped"));
    CHECK(compositor.run_until([&] { return output->frames_committed() > before; }));
}

TEST_CASE("A fullscreen window that asks to tear is wanted tearing only where tearing is allowed",
          "[desktop-protocols]") {
    SECTION("allowed: wanted, and not torn where the output cannot (headless)") {
        HeadlessCompositor compositor({{320, 240, 60000}}, "us", {},
                                      [](Options& options) { options.allow_tearing = true; });
        auto* output = compositor.server().outputs().front().get();
        auto game = compositor.spawn({test_client_path(), "--fullscreen", "--follow-configure",
                                      "--tearing", "--frames", "100000"});
        REQUIRE(game->wait_for_line("mapped"));
        REQUIRE(compositor.run_until([&] { return output->tearing_wanted(); }));
        auto outputs = ctl_json(compositor, {"outputs"})["outputs"];
        CHECK(outputs[0]["tearing"]["allowed"] == true);
        CHECK(outputs[0]["tearing"]["wanted"] == true);
        CHECK(outputs[0]["tearing"]["frames"] == 0); // the headless backend flips nothing
        auto human = compositor.run_command({tessera_ctl_path(), "outputs"});
        CHECK(human.output.find("tearing wanted, 0 frames torn") != std::string::npos);

        // Not fullscreen any more (gone): nothing wants tearing.
        game->kill(SIGTERM);
        REQUIRE(game->wait_exit());
        CHECK(compositor.run_until([&] { return !output->tearing_wanted(); }));
    }
    SECTION("not allowed (the default): never wanted") {
        HeadlessCompositor compositor;
        auto* output = compositor.server().outputs().front().get();
        auto game = compositor.spawn(
            {test_client_path(), "--fullscreen", "--follow-configure", "--tearing"});
        REQUIRE(game->wait_for_line("mapped"));
        CHECK_FALSE(output->tearing_wanted());
        CHECK(ctl_json(compositor, {"outputs"})["outputs"][0]["tearing"]["allowed"] == false);
    }
    SECTION("allowed, but the window asking is not fullscreen") {
        HeadlessCompositor compositor({{320, 240, 60000}}, "us", {},
                                      [](Options& options) { options.allow_tearing = true; });
        auto* output = compositor.server().outputs().front().get();
        auto window = compositor.spawn({test_client_path(), "--tearing"});
        REQUIRE(window->wait_for_line("mapped"));
        CHECK_FALSE(output->tearing_wanted());
    }
}

TEST_CASE("What a window says it shows is listed with it", "[desktop-protocols]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us",
                                  test_data_path("layouts/three-zones.toml"));
    auto video = compositor.spawn(
        {test_client_path(), "--app-id", "tessera-left", "--content-type", "video"});
    auto plain = compositor.spawn({test_client_path(), "--app-id", "tessera-right"});
    REQUIRE(video->wait_for_line("mapped"));
    REQUIRE(plain->wait_for_line("mapped"));
    auto surfaces = ctl_json(compositor, {"surfaces"})["surfaces"];
    REQUIRE(surfaces.size() == 2);
    for (const auto& surface : surfaces) {
        INFO(surface.dump());
        CHECK(surface["content_type"] ==
              (surface.value("app_id", "") == "tessera-left" ? "video" : "none"));
    }
}

TEST_CASE("An input method composes text into the focused field and takes the keys it grabs",
          "[desktop-protocols]") {
    HeadlessCompositor compositor;
    TestKeyboard keyboard(compositor);
    auto app = compositor.spawn({ime_client_path(), "--app"});
    REQUIRE(app->wait_for_line("text-enter")); // mapped, focused: its field is enabled
    auto method = compositor.spawn({ime_client_path(), "--method"});
    REQUIRE(method->wait_for_line("activate"));
    CHECK(app->wait_for_line("text hello"));

    // The input method grabs the keyboard: keys go to it, not to the window.
    keyboard.key(KEY_A, true);
    keyboard.key(KEY_A, false);
    CHECK(method->wait_for_line("grabbed-key 30 1"));
    CHECK(method->wait_for_line("grabbed-key 30 0"));
    CHECK_FALSE(printed(*app, "key 30 1"));

    // One input method at a time.
    auto second = compositor.spawn({ime_client_path(), "--method"});
    CHECK(second->wait_for_line("unavailable"));
    auto status = second->wait_exit();
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 3);

    // Gone, it leaves the keyboard to the window.
    method->kill(SIGTERM);
    REQUIRE(method->wait_exit());
    REQUIRE(compositor.run_until([&] { return compositor.client_count() == 1; }));
    keyboard.key(KEY_B, true);
    CHECK(app->wait_for_line("key 48 1"));
}

TEST_CASE("A pen reaches a tablet-v2 client as a tablet tool", "[desktop-protocols]") {
    HeadlessCompositor compositor; // 320x240: a 64x48 window opens in its middle, at 128,96
    TestTablet tablet(compositor);
    auto client = compositor.spawn({test_client_path(), "--print-tablet"});
    REQUIRE(client->wait_for_line("mapped"));
    tablet.proximity(138, 106, true);
    CHECK(client->wait_for_line("tablet-in 10 10"));
    tablet.tip(true);
    CHECK(client->wait_for_line("tablet-down"));
    tablet.pressure(0.5);
    CHECK(client->wait_for_line_ending("tablet-pressure 32767"));
    tablet.motion(148, 116);
    CHECK(client->wait_for_line("tablet-motion 20 20"));
    tablet.tip(false);
    CHECK(client->wait_for_line("tablet-up"));
    tablet.proximity(148, 116, false);
    CHECK(client->wait_for_line("tablet-out"));
    // Not as a pointer as well.
    CHECK_FALSE(printed(*client, "button 272"));
}

TEST_CASE("A pen drives the pointer over a client that knows no tablets", "[desktop-protocols]") {
    HeadlessCompositor compositor;
    TestTablet tablet(compositor);
    auto client = compositor.spawn({test_client_path(), "--print-input"});
    REQUIRE(client->wait_for_line("mapped"));
    tablet.proximity(138, 106, true);
    CHECK(client->wait_for_line("pointer-enter 10 10"));
    tablet.tip(true);
    CHECK(client->wait_for_line("button 272")); // BTN_LEFT
}
