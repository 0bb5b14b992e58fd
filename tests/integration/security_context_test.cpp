// security-context-v1: a client started through a security context (tessera-sandbox, as
// Flatpak would) does not see the privileged globals, and still works as a window.
#include "headless_compositor.hpp"
#include "security_context.hpp"

#include <catch2/catch_test_macros.hpp>

#include <sys/wait.h>

#include <format>

using namespace tessera;
using namespace tessera::test;

namespace {

bool lists(const std::string& wayland_info, std::string_view interface) {
    return wayland_info.find(std::format("'{}'", interface)) != std::string::npos;
}

} // namespace

TEST_CASE("a sandboxed client sees no privileged global", "[security-context]") {
    HeadlessCompositor compositor;
    auto plain = compositor.run_command({"wayland-info"});
    auto sandboxed = compositor.run_command({sandbox_path(), "wayland-info"});
    INFO(sandboxed.output);
    REQUIRE(WIFEXITED(sandboxed.status));
    REQUIRE(WEXITSTATUS(sandboxed.status) == 0);

    size_t offered = 0;
    for (auto interface : compositor::privileged_interfaces()) {
        INFO(interface);
        offered += lists(plain.output, interface) ? 1 : 0;
        CHECK_FALSE(lists(sandboxed.output, interface));
    }
    // The ones tessera offers today, at least: the check above is not vacuous.
    CHECK(offered >= 9);
    for (auto interface :
         {"zwlr_screencopy_manager_v1", "zwlr_layer_shell_v1", "zwp_virtual_keyboard_manager_v1",
          "ext_session_lock_manager_v1", "wp_security_context_manager_v1", "ivi_application"}) {
        INFO(interface);
        CHECK(lists(plain.output, interface));
    }
    for (auto interface : {"wl_compositor", "wl_shm", "wl_seat", "wl_output", "xdg_wm_base",
                           "wp_presentation", "wp_viewporter", "zwp_idle_inhibit_manager_v1"}) {
        INFO(interface);
        CHECK(lists(sandboxed.output, interface));
    }
}

TEST_CASE("a sandboxed client maps a window like any other", "[security-context]") {
    HeadlessCompositor compositor;
    auto window = compositor.spawn({sandbox_path(), test_client_path(), "--size", "64x48",
                                    "--pattern", "solid", "--color", "00ff00"});
    REQUIRE(window->wait_for_line("mapped"));
    CHECK(compositor.capture().at(160, 120) == Rgba{0, 255, 0, 255});
}
