#include "options.hpp"

#include <charconv>
#include <cmath>
#include <format>

namespace tessera {
namespace {

constexpr int max_output_dimension = 16384;

std::optional<int> parse_int(std::string_view text) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<double> parse_double(std::string_view text) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

} // namespace

std::expected<HeadlessOutputSpec, std::string> parse_headless_output(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return std::unexpected(std::format("invalid output size '{}': {}", text, why));
    };
    HeadlessOutputSpec spec;
    std::string_view size = text;
    if (auto at = text.find('@'); at != std::string_view::npos) {
        size = text.substr(0, at);
        auto hz = parse_double(text.substr(at + 1));
        if (!hz || *hz < 1.0 || *hz > 1000.0) {
            return bad("refresh rate must be a number of Hz between 1 and 1000");
        }
        spec.refresh_mhz = static_cast<int>(std::lround(*hz * 1000.0));
    }
    auto x = size.find('x');
    if (x == std::string_view::npos) {
        return bad("expected WIDTHxHEIGHT[@HZ]");
    }
    auto width = parse_int(size.substr(0, x));
    auto height = parse_int(size.substr(x + 1));
    if (!width || !height) {
        return bad("expected WIDTHxHEIGHT[@HZ]");
    }
    if (*width < 1 || *height < 1 || *width > max_output_dimension ||
        *height > max_output_dimension) {
        return bad(std::format("width and height must be between 1 and {}", max_output_dimension));
    }
    spec.width = *width;
    spec.height = *height;
    return spec;
}

std::expected<Options, std::string> parse_options(std::span<const std::string_view> args) {
    Options options;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        std::optional<std::string_view> inline_value;
        if (arg.starts_with("--")) {
            if (auto eq = arg.find('='); eq != std::string_view::npos) {
                inline_value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
            }
        }
        auto value = [&]() -> std::expected<std::string_view, std::string> {
            if (inline_value) {
                return *inline_value;
            }
            if (i + 1 >= args.size()) {
                return std::unexpected(std::format("option '{}' needs a value", arg));
            }
            return args[++i];
        };
        auto flag = [&]() -> std::expected<void, std::string> {
            if (inline_value) {
                return std::unexpected(std::format("option '{}' takes no value", arg));
            }
            return {};
        };

        std::expected<void, std::string> ok;
        if (arg == "-h" || arg == "--help") {
            ok = flag();
            options.action = Options::Action::help;
        } else if (arg == "-v" || arg == "--version") {
            ok = flag();
            options.action = Options::Action::version;
        } else if (arg == "-d" || arg == "--debug") {
            ok = flag();
            options.log_spec = "debug";
        } else if (arg == "--log-level") {
            ok = value().transform([&](std::string_view v) { options.log_spec = v; });
        } else if (arg == "-s" || arg == "--startup") {
            ok = value().transform(
                [&](std::string_view v) { options.startup_commands.emplace_back(v); });
        } else if (arg == "-l" || arg == "--layout") {
            ok = value().transform([&](std::string_view v) { options.layout_path = v; });
        } else if (arg == "--devices-in-process") {
            ok = flag();
            options.devices_in_process = true;
        } else if (arg == "--no-xwayland") {
            ok = flag();
            options.xwayland = false;
        } else if (arg == "--allow-tearing") {
            ok = flag();
            options.allow_tearing = true;
        } else if (arg == "--socket") {
            ok = value().transform([&](std::string_view v) { options.socket_name = v; });
        } else if (arg == "--headless") {
            ok = value().and_then([&](std::string_view v) -> std::expected<void, std::string> {
                auto spec = parse_headless_output(v);
                if (!spec) {
                    return std::unexpected(spec.error());
                }
                options.headless_outputs.push_back(*spec);
                return {};
            });
        } else if (arg == "--xkb-rules") {
            ok = value().transform([&](std::string_view v) { options.keymap.rules = v; });
        } else if (arg == "--xkb-model") {
            ok = value().transform([&](std::string_view v) { options.keymap.model = v; });
        } else if (arg == "--xkb-layout") {
            ok = value().transform([&](std::string_view v) { options.keymap.layout = v; });
        } else if (arg == "--xkb-variant") {
            ok = value().transform([&](std::string_view v) { options.keymap.variant = v; });
        } else if (arg == "--xkb-options") {
            ok = value().transform([&](std::string_view v) { options.keymap.options = v; });
        } else {
            ok = std::unexpected(std::format("unknown argument '{}'", args[i]));
        }
        if (!ok) {
            return std::unexpected(ok.error());
        }
    }
    return options;
}

std::string usage_text(std::string_view program) {
    return std::format(
        R"(Usage: {} [OPTIONS]

A Wayland compositor for virtual machines' and applications' screens, zone by zone.

Options:
  -h, --help               Show this help and exit.
  -v, --version            Show the version and exit.
  -s, --startup CMD        Run CMD with /bin/sh once the compositor is ready (repeatable).
                           WAYLAND_DISPLAY is set for it.
      --headless WxH[@Hz]  Use the headless backend with an output of that size (repeatable).
                           Without it: nested when WAYLAND_DISPLAY or DISPLAY is set,
                           otherwise DRM and libinput through the seat (logind or seatd).
  -l, --layout FILE        Divide the outputs into the zones of a layout file (see
                           data/layouts/README.md). Without it: a plain desktop.
      --socket NAME        Listen on NAME in $XDG_RUNTIME_DIR instead of the first free
                           wayland-N.
      --no-xwayland        No X11 applications (otherwise Xwayland starts with the first
                           one, and DISPLAY is set for what tessera starts).
      --allow-tearing      A fullscreen window that asks to tear (tearing-control: games)
                           has its frames flipped at once instead of at vblank, on DRM
                           outputs that can. Off: every frame waits for vblank.
      --devices-in-process Run guests' virtio devices inside tessera instead of a sandboxed
                           process per guest (to measure what that wall costs; not for
                           guests you do not trust).
  -d, --debug              Log everything at debug level.
      --log-level SPEC     Log levels per subsystem, e.g. "info,wlr=error,comp=debug"
                           (levels: silent error warn info debug trace; also $TESSERA_LOG).
      --xkb-layout L       Keyboard layout (also --xkb-rules, --xkb-model, --xkb-variant,
                           --xkb-options; defaults come from $XKB_DEFAULT_*).
)",
        program);
}

} // namespace tessera
