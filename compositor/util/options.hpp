#pragma once

#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

struct HeadlessOutputSpec {
    int width = 0;
    int height = 0;
    int refresh_mhz = 60000; // millihertz, as wlroots counts

    bool operator==(const HeadlessOutputSpec&) const = default;
};

// "WxH" or "WxH@Hz" (Hz may have decimals): the argument of --headless.
std::expected<HeadlessOutputSpec, std::string> parse_headless_output(std::string_view text);

struct KeymapOptions {
    std::string rules, model, layout, variant, options; // empty: xkbcommon's defaults
};

struct Options {
    enum class Action { run, help, version };
    Action action = Action::run;

    std::vector<HeadlessOutputSpec> headless_outputs; // empty: DRM, or nested in a session
    std::vector<std::string> startup_commands;
    std::string log_spec;            // e.g. "debug" or "info,wlr=error"
    std::string socket_name;         // empty: the first free wayland-N
    std::string layout_path;         // empty: no zones, a desktop
    bool devices_in_process = false; // guests' devices without their process wall
    bool xwayland = true;            // X11 applications through Xwayland, started on demand
    bool allow_tearing = false;      // fullscreen windows that ask may tear (DRM outputs)
    KeymapOptions keymap;

    [[nodiscard]] bool headless() const { return !headless_outputs.empty(); }
};

// Parses the command line (without argv[0]). Errors name the offending argument.
std::expected<Options, std::string> parse_options(std::span<const std::string_view> args);

std::string usage_text(std::string_view program);

} // namespace tessera
