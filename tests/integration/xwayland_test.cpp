// X11 applications through Xwayland: Debian's xlogo as the window, xdotool to ask X where it
// is and which window is active.
#include "headless_compositor.hpp"
#include "input_devices.hpp"
#include "seat.hpp"
#include "xwayland.hpp"

#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>
#include <sys/wait.h>

#include <string>

using namespace tessera;
using namespace tessera::test;

namespace {

constexpr Rgba red{255, 0, 0, 255};

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

// xlogo, 100x80, red: X places it in the middle of the 320x240 output, at (110,80).
std::unique_ptr<ClientProcess> start_xlogo(HeadlessCompositor& compositor) {
    auto xlogo = compositor.spawn({"xlogo", "-geometry", "100x80", "-bg", "#ff0000", "-fg",
                                   "#0000ff", "-name", "tessera-xlogo"});
    REQUIRE(compositor.run_until([&] { return compositor.capture().at(112, 82) == red; }, 30s));
    return xlogo;
}

std::string x_window_id(HeadlessCompositor& compositor) {
    auto search = compositor.run_command({"xdotool", "search", "--class", "xlogo"}, 15s);
    INFO(search.output);
    REQUIRE(WIFEXITED(search.status));
    REQUIRE(WEXITSTATUS(search.status) == 0);
    auto id = trimmed(search.output);
    REQUIRE(id.find('\n') == std::string::npos); // one window
    return id;
}

std::string active_window(HeadlessCompositor& compositor) {
    return trimmed(compositor.run_command({"xdotool", "getactivewindow"}, 15s).output);
}

} // namespace

TEST_CASE("Xwayland starts with the first X11 client, whose window is placed and focused",
          "[xwayland]") {
    HeadlessCompositor compositor;
    auto* xwayland = compositor.server().xwayland();
    REQUIRE(xwayland);
    CHECK(xwayland->server_pid() == 0); // nothing started until an X11 client comes

    auto xlogo = start_xlogo(compositor);
    CHECK(xwayland->server_pid() > 0);
    CHECK(xwayland->window_count() >= 1);
    auto id = x_window_id(compositor);
    auto geometry = compositor.run_command({"xdotool", "getwindowgeometry", id}, 15s);
    INFO(geometry.output);
    CHECK(geometry.output.find("Position: 110,80") != std::string::npos);
    CHECK(geometry.output.find("Geometry: 100x80") != std::string::npos);
    CHECK(active_window(compositor) == id);
    auto* focus = compositor.server().seat().wlr()->keyboard_state.focused_surface;
    REQUIRE(focus);
    CHECK(wlr_xwayland_surface_try_from_wlr_surface(focus));
}

TEST_CASE("a click moves the keyboard between an X11 window and a Wayland window", "[xwayland]") {
    HeadlessCompositor compositor;
    TestKeyboard keyboard(compositor);
    TestPointer pointer(compositor);
    auto xlogo = start_xlogo(compositor);
    auto id = x_window_id(compositor);

    // A Wayland window across xlogo, (10,100) to (310,140), takes the keyboard when it maps.
    auto window = compositor.spawn(
        {test_client_path(), "--size", "300x40", "--pattern", "solid", "--print-input"});
    REQUIRE(window->wait_for_line("keyboard-enter"));
    CHECK(active_window(compositor) != id);

    pointer.move_to(112, 82); // xlogo above the Wayland window: it comes to the top
    pointer.click(BTN_LEFT);
    CHECK(window->wait_for_line("keyboard-leave"));
    CHECK(active_window(compositor) == id);

    pointer.move_to(20, 120); // the Wayland window, left of xlogo
    pointer.click(BTN_LEFT);
    CHECK(window->wait_for_line("keyboard-enter", 10s, 2));
    CHECK(active_window(compositor) != id);
}

TEST_CASE("an X11 window goes to the zone its class names, at the zone's size", "[xwayland]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us",
                                  test_data_path("layouts/x11-zone.toml"));
    auto xlogo = compositor.spawn({"xlogo", "-geometry", "100x80", "-bg", "#ff0000", "-fg",
                                   "#0000ff", "-name", "tessera-xlogo"});
    // The zone asks X for its own size and place; xlogo redraws at 120x240.
    REQUIRE(compositor.run_until(
        [&] {
            auto shot = compositor.capture();
            return shot.at(202, 2) == red && shot.at(317, 237) == red;
        },
        30s));
    auto id = x_window_id(compositor);
    auto geometry = compositor.run_command({"xdotool", "getwindowgeometry", id}, 15s);
    INFO(geometry.output);
    CHECK(geometry.output.find("Position: 200,0") != std::string::npos);
    CHECK(geometry.output.find("Geometry: 120x240") != std::string::npos);
    CHECK(compositor.capture().at(100, 120) != red); // nothing of it on the desktop zone
}

TEST_CASE("an override-redirect window (a menu) is drawn where X put it, above the windows, and "
          "takes no focus",
          "[xwayland]") {
    HeadlessCompositor compositor;
    auto xlogo = start_xlogo(compositor); // red, 100x80 at 110,80
    auto id = x_window_id(compositor);
    const Rgba green{0, 255, 0, 255};
    auto menu = compositor.spawn({"python3", source_path("tests/integration/x11_menu.py"), "114",
                                  "84", "30", "20", "00ff00"});
    REQUIRE(menu->wait_for_line("mapped", 30s));
    REQUIRE(compositor.run_until([&] { return compositor.capture().at(115, 85) == green; }, 10s));
    auto shot = compositor.capture();
    CHECK(shot.at(143, 103) == green);      // its far corner
    CHECK(shot.at(112, 82) == red);         // beside it, the window below
    CHECK(active_window(compositor) == id); // the keyboard stays with the window
}
