#include "util/options.hpp"

#include <catch2/catch_test_macros.hpp>

#include <string_view>
#include <vector>

using namespace tessera;

namespace {
std::expected<Options, std::string> parse(std::vector<std::string_view> args) {
    return parse_options(args);
}
} // namespace

TEST_CASE("headless output sizes parse with and without a refresh rate", "[options]") {
    CHECK(parse_headless_output("320x240") == HeadlessOutputSpec{320, 240, 60000});
    CHECK(parse_headless_output("1920x1080@144") == HeadlessOutputSpec{1920, 1080, 144000});
    CHECK(parse_headless_output("800x600@59.94") == HeadlessOutputSpec{800, 600, 59940});
}

TEST_CASE("bad headless output sizes are refused with the reason", "[options]") {
    for (auto bad : {"", "320", "x240", "320x", "0x240", "320x0", "-1x5", "99999x10", "320x240@",
                     "320x240@0", "320x240@abc", "320x240@5000", "320 x240", "1e3x2"}) {
        INFO(bad);
        auto parsed = parse_headless_output(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().find("invalid output size") != std::string::npos);
    }
}

TEST_CASE("the command line follows compositor conventions", "[options]") {
    auto options =
        parse({"--headless", "640x480", "--headless=320x200@30", "-s", "foot", "--startup", "grim",
               "-d", "--socket", "wayland-test", "-l", "cockpit.toml"});
    REQUIRE(options);
    CHECK(options->action == Options::Action::run);
    REQUIRE(options->headless_outputs.size() == 2);
    CHECK(options->headless_outputs[1] == HeadlessOutputSpec{320, 200, 30000});
    CHECK(options->startup_commands == std::vector<std::string>{"foot", "grim"});
    CHECK(options->log_spec == "debug");
    CHECK(options->socket_name == "wayland-test");
    CHECK(options->layout_path == "cockpit.toml");
    CHECK(options->headless());

    CHECK(parse({"--help"})->action == Options::Action::help);
    CHECK(parse({"-h"})->action == Options::Action::help);
    CHECK(parse({"-v"})->action == Options::Action::version);
    CHECK(parse({"--version"})->action == Options::Action::version);
    CHECK_FALSE(parse({})->headless());
}

TEST_CASE("keymap options are kept for the keyboards", "[options]") {
    auto options =
        parse({"--xkb-layout", "de,us", "--xkb-variant=nodeadkeys", "--xkb-options",
               "terminate:ctrl_alt_bksp", "--xkb-model", "pc105", "--xkb-rules", "evdev"});
    REQUIRE(options);
    CHECK(options->keymap.layout == "de,us");
    CHECK(options->keymap.variant == "nodeadkeys");
    CHECK(options->keymap.options == "terminate:ctrl_alt_bksp");
    CHECK(options->keymap.model == "pc105");
    CHECK(options->keymap.rules == "evdev");
}

TEST_CASE("command line errors name the argument", "[options]") {
    auto unknown = parse({"--frobnicate"});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error() == "unknown argument '--frobnicate'");

    auto missing = parse({"-s"});
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == "option '-s' needs a value");

    auto flag_value = parse({"--debug=yes"});
    REQUIRE_FALSE(flag_value);
    CHECK(flag_value.error() == "option '--debug' takes no value");

    auto bad_size = parse({"--headless", "big"});
    REQUIRE_FALSE(bad_size);
    CHECK(bad_size.error().starts_with("invalid output size 'big'"));
}

TEST_CASE("the help text documents every option", "[options]") {
    auto text = usage_text("tessera");
    for (auto option :
         {"--help", "--version", "--startup", "--headless", "--layout", "--socket", "--debug",
          "--log-level", "--xkb-layout", "--no-xwayland", "--allow-tearing"}) {
        INFO(option);
        CHECK(text.find(option) != std::string::npos);
    }
}

TEST_CASE("Xwayland is on unless --no-xwayland turns it off", "[options]") {
    auto plain = parse({});
    REQUIRE(plain);
    CHECK(plain->xwayland);
    auto off = parse({"--no-xwayland"});
    REQUIRE(off);
    CHECK_FALSE(off->xwayland);
    CHECK_FALSE(parse({"--no-xwayland=yes"}));
}

TEST_CASE("Tearing is off unless --allow-tearing turns it on", "[options]") {
    auto plain = parse({});
    REQUIRE(plain);
    CHECK_FALSE(plain->allow_tearing);
    auto on = parse({"--allow-tearing"});
    REQUIRE(on);
    CHECK(on->allow_tearing);
    CHECK_FALSE(parse({"--allow-tearing=yes"}));
}
