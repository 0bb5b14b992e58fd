// Debian's own Wayland clients against the compositor: grim, wlr-randr, swaybg, wtype,
// wayland-info, weston-simple-shm.
#include "headless_compositor.hpp"
#include "output.hpp"
#include "reference_image.hpp"

#include <catch2/catch_test_macros.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <format>

using namespace tessera;
using namespace tessera::test;

namespace {

bool exited_ok(int status) {
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace

TEST_CASE("grim captures the same pixels through screencopy", "[screencopy]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--size", "64x48"});
    REQUIRE(client->wait_for_line("mapped"));
    auto direct = compositor.capture();

    auto path = compositor.runtime_dir() + "/grim.png";
    auto grim = compositor.run_command({"grim", "-t", "png", path});
    INFO(grim.output);
    REQUIRE(exited_ok(grim.status));
    auto shot = read_png(path);
    REQUIRE(shot);
    auto comparison = compare_images(*shot, direct, 0);
    INFO(comparison.describe());
    CHECK(comparison.matches());
    CHECK(shot->at(128, 96) == Rgba{255, 0, 0, 255});
}

TEST_CASE("grim captures one region of the output", "[screencopy]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn(
        {test_client_path(), "--size", "64x48", "--pattern", "solid", "--color", "123456"});
    REQUIRE(client->wait_for_line("mapped"));
    auto path = compositor.runtime_dir() + "/region.png";
    auto grim = compositor.run_command({"grim", "-g", "128,96 64x48", path});
    REQUIRE(exited_ok(grim.status));
    auto shot = read_png(path);
    REQUIRE(shot);
    CHECK(compare_images(*shot, Image(64, 48, {0x12, 0x34, 0x56, 255}), 0).matches());
}

TEST_CASE("wlr-randr lists the headless output and changes its mode", "[output-management]") {
    HeadlessCompositor compositor;
    std::string name(compositor.server().outputs().at(0)->name());
    auto listed = compositor.run_command({"wlr-randr"});
    INFO(listed.output);
    REQUIRE(exited_ok(listed.status));
    CHECK(listed.output.find(name) != std::string::npos);
    CHECK(listed.output.find("320x240") != std::string::npos);

    auto changed =
        compositor.run_command({"wlr-randr", "--output", name, "--custom-mode", "640x480@30Hz"});
    INFO(changed.output);
    REQUIRE(exited_ok(changed.status));
    auto* output = compositor.server().outputs().at(0)->wlr();
    CHECK(output->width == 640);
    CHECK(output->height == 480);
    CHECK(output->refresh == 30000);

    auto shot = compositor.capture();
    CHECK(shot.width() == 640);
    CHECK(shot.height() == 480);

    auto relisted = compositor.run_command({"wlr-randr"});
    INFO(relisted.output);
    CHECK(relisted.output.find("640x480") != std::string::npos);
}

TEST_CASE("wlr-randr turns an output off and on again", "[output-management]") {
    HeadlessCompositor compositor({{320, 240, 60000}, {200, 100, 60000}});
    auto& outputs = compositor.server().outputs();
    // Headless output numbers count up across compositors in one process.
    std::string second(outputs.at(1)->name());
    auto off = compositor.run_command({"wlr-randr", "--output", second, "--off"});
    INFO(off.output);
    REQUIRE(exited_ok(off.status));
    CHECK_FALSE(outputs.at(1)->wlr()->enabled);
    auto listed = compositor.run_command({"wlr-randr"});
    INFO(listed.output);
    CHECK(listed.output.find("Enabled: no") != std::string::npos);

    auto on = compositor.run_command({"wlr-randr", "--output", second, "--on", "--pos", "320,0"});
    INFO(on.output);
    REQUIRE(exited_ok(on.status));
    CHECK(outputs.at(1)->wlr()->enabled);
    auto box = outputs.at(1)->layout_box();
    CHECK(box.x == 320);
    CHECK(box.width == 200);
    CHECK(compositor.capture(1).width() == 200);
}

TEST_CASE("a layer-shell wallpaper from swaybg covers the backdrop", "[layer-shell]") {
    HeadlessCompositor compositor;
    auto swaybg = compositor.spawn({"swaybg", "-c", "#336699"});
    Image shot;
    bool painted = compositor.run_until(
        [&] {
            shot = compositor.capture();
            return shot.at(0, 0) == Rgba{0x33, 0x66, 0x99, 255};
        },
        10s);
    REQUIRE(painted);
    CHECK(compare_images(shot, Image(320, 240, {0x33, 0x66, 0x99, 255}), 0).matches());

    // Windows stay above the wallpaper.
    auto client = compositor.spawn({test_client_path(), "--pattern", "solid"});
    REQUIRE(client->wait_for_line("mapped"));
    CHECK(compositor.capture().at(160, 120) == Rgba{255, 0, 0, 255});
}

TEST_CASE("wtype types into the focused window through a virtual keyboard", "[input]") {
    HeadlessCompositor compositor;
    auto client = compositor.spawn({test_client_path(), "--print-input"});
    REQUIRE(client->wait_for_line("mapped"));
    // The seat gains a keyboard only when wtype connects, and the client then binds it: wtype
    // waits a second before typing so that the keys do not race the client's wl_keyboard.
    auto wtype = compositor.spawn({"wtype", "-s", "1000", "hi"});
    CHECK(client->wait_for_line("keyboard-enter"));
    auto status = wtype->wait_exit();
    INFO(client->output());
    REQUIRE(status);
    CHECK(exited_ok(*status));
    CHECK(client->wait_for_line("key h"));
    CHECK(client->wait_for_line("key i"));
}

TEST_CASE("the compositor offers the protocols clients expect", "[globals]") {
    HeadlessCompositor compositor;
    auto info = compositor.run_command({"wayland-info"});
    INFO(info.output);
    REQUIRE(exited_ok(info.status));
    for (auto interface : {"wl_compositor",
                           "wl_subcompositor",
                           "wl_shm",
                           "wl_seat",
                           "wl_output",
                           "wl_data_device_manager",
                           "xdg_wm_base",
                           "zwlr_layer_shell_v1",
                           "wp_presentation",
                           "wp_viewporter",
                           "wp_single_pixel_buffer_manager_v1",
                           "zwlr_screencopy_manager_v1",
                           "zwlr_output_manager_v1",
                           "zxdg_output_manager_v1",
                           "wp_fractional_scale_manager_v1",
                           "ext_session_lock_manager_v1",
                           "ext_idle_notifier_v1",
                           "zwp_idle_inhibit_manager_v1",
                           "wp_security_context_manager_v1",
                           "ext_foreign_toplevel_list_v1",
                           "wp_cursor_shape_manager_v1",
                           "zwp_pointer_constraints_v1",
                           "zwp_relative_pointer_manager_v1",
                           "zwp_keyboard_shortcuts_inhibit_manager_v1",
                           "wp_alpha_modifier_v1",
                           "zwlr_output_power_manager_v1",
                           "xdg_activation_v1",
                           "zwlr_gamma_control_manager_v1",
                           "wp_tearing_control_manager_v1",
                           "wp_content_type_manager_v1",
                           "zxdg_decoration_manager_v1",
                           "zwp_tablet_manager_v2",
                           "zwp_text_input_manager_v3",
                           "zwp_input_method_manager_v2",
                           "zwp_virtual_keyboard_manager_v1",
                           "zwlr_virtual_pointer_manager_v1",
                           "zwlr_export_dmabuf_manager_v1",
                           "zwp_primary_selection_device_manager_v1"}) {
        INFO(interface);
        CHECK(info.output.find(std::format("'{}'", interface)) != std::string::npos);
    }
    // The pixman renderer cannot import dma-bufs, so linux-dmabuf must not be advertised; the
    // headless backend has no DRM device to lease; wlroots 0.18 cannot honour explicit sync.
    for (auto absent :
         {"zwp_linux_dmabuf_v1", "wp_drm_lease_device_v1", "wp_linux_drm_syncobj_manager_v1"}) {
        INFO(absent);
        CHECK(info.output.find(absent) == std::string::npos);
    }
}

TEST_CASE("wlopm switches an output off and on, and it keeps its place", "[output-management]") {
    HeadlessCompositor compositor;
    auto* output = compositor.server().outputs().at(0).get();
    std::string name(output->name());
    auto listed = compositor.run_command({"wlopm"});
    INFO(listed.output);
    REQUIRE(exited_ok(listed.status));
    CHECK(listed.output.find(name + " on") != std::string::npos);

    auto off = compositor.run_command({"wlopm", "--off", name});
    INFO(off.output);
    REQUIRE(exited_ok(off.status));
    CHECK(compositor.run_until([&] { return !output->wlr()->enabled; }));
    CHECK(output->layout_box().width == 320); // still in the layout, windows stay put
    auto relisted = compositor.run_command({"wlopm"});
    CHECK(relisted.output.find(name + " off") != std::string::npos);

    auto on = compositor.run_command({"wlopm", "--on", name});
    REQUIRE(exited_ok(on.status));
    CHECK(compositor.run_until([&] { return output->wlr()->enabled; }));
    auto client = compositor.spawn(
        {test_client_path(), "--size", "64x48", "--pattern", "solid", "--color", "123456"});
    REQUIRE(client->wait_for_line("mapped"));
    CHECK(compositor.capture().at(160, 120) == Rgba{0x12, 0x34, 0x56, 255});
}

TEST_CASE("a taskbar lists mapped windows with their app id and title, and sees them close",
          "[toplevel-list]") {
    HeadlessCompositor compositor;
    auto taskbar = compositor.spawn({toplevel_list_path()});
    REQUIRE(taskbar->wait_for_line("listening"));
    auto editor = compositor.spawn(
        {test_client_path(), "--app-id", "org.example.editor", "--title", "notes.txt"});
    REQUIRE(editor->wait_for_line("mapped"));
    CHECK(taskbar->wait_for_line("toplevel org.example.editor notes.txt"));

    // A second taskbar started later sees the window that is already there.
    auto late = compositor.spawn({toplevel_list_path()});
    CHECK(late->wait_for_line("toplevel org.example.editor notes.txt"));

    editor->kill(SIGTERM);
    REQUIRE(editor->wait_exit());
    CHECK(taskbar->wait_for_line("closed org.example.editor"));
    CHECK(late->wait_for_line("closed org.example.editor"));
}
