#include "ivi/layout_file.hpp"

#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <format>
#include <fstream>
#include <string>
#include <vector>

using namespace tessera::ivi;
namespace fs = std::filesystem;

namespace {

const fs::path source_dir = TESSERA_SOURCE_DIR;

LayoutError error_of(std::string_view text, const std::string& file = "test.toml") {
    auto parsed = parse_layout(text, file);
    REQUIRE_FALSE(parsed);
    INFO(parsed.error().describe());
    return parsed.error();
}

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

// The smallest valid layout, with `extra` appended (after line 6).
std::string minimal(std::string_view extra = "") {
    return std::format("[outputs.main]\n"
                       "index = 0\n"
                       "[zones.a]\n"
                       "output = \"main\"\n"
                       "rect = {{ x = 0, y = 0, width = \"100%\", height = \"100%\" }}\n"
                       "\n"
                       "{}",
                       extra);
}

std::vector<fs::path> files_in(const fs::path& dir, std::string_view extension) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == extension) {
            files.push_back(entry.path());
        }
    }
    std::ranges::sort(files);
    return files;
}

Length px(double value) {
    return {value, false};
}
Length pc(double value) {
    return {value, true};
}

constexpr std::string_view full_layout = R"(# line 1
[layout]
name = "full"
default-zone = "centre"
profile = "parked"

[outputs.main]
connector = "HDMI-A-1"
index = 0

[outputs.side]
connector = "DP-1"

[zones.centre]
output = "main"
rect = { x = "33.333%", y = 10, width = "33.334%", height = "50.5" }
z = -3
background = "#10203040"
fit = "integer"
opacity = 0.5
visible = false
input = ["keyboard", "touch"]
plane-priority = -1000
fallback = { color = "#ff0000", image = "images/centre.png" }
freeze-timeout-ms = 3600000
floating = true

[zones.cluster]
output = "side"
rect = { x = 0, y = 0, width = 800, height = 480 }
input = []
opacity = 1
fallback = { image = "/usr/share/tessera/cluster.png" }

[zones.b-2_x]
output = "main"
rect = { x = 0, y = 0, width = 1, height = 1 }
[zones.b-2_x.fallback]
color = "#00ff00"

[profiles.parked.zones.centre]
visible = true
opacity = 0
z = 7
rect = { x = 0, y = 0, width = "100%", height = "100%" }

[profiles.driving]

[profiles.driving.zones.cluster]
visible = false

[guests.ivi-vm]
socket = "/run/vms/ivi.sock"
scanouts = 2
max-resources = 64
max-memory-mb = 512
socket-group = "root"
allow-users = ["nobody", 4343]
3d = true

[guests.nav]
socket = "nav.sock"
socket-mode = 0o660
input = ["keyboard", "touch"]

[[rules]]
zone = "cluster"
ivi-id = "9000-9999"
app-id = "org.example.*"

[[rules]]
zone = "centre"
guest = "ivi-vm"
scanout = 1

[[rules]]
zone = "b-2_x"
ivi-id = 4294967295
)";

// The one zone of a layout with these keys in it (and a rect unless they give one).
ZoneSpec one_zone(std::string_view keys) {
    auto rect = keys.starts_with("rect") ? "" : "rect = { x = 0, y = 0, width = 1, height = 1 }";
    auto text = std::format("[outputs.main]\nindex = 0\n[zones.a]\noutput = \"main\"\n{}\n{}\n",
                            rect, keys);
    auto result = parse_layout(text, "t.toml");
    INFO(keys);
    INFO((result ? "" : result.error().describe()));
    REQUIRE(result);
    return result->zones[0];
}

} // namespace

TEST_CASE("a full layout fills every field", "[layout-file]") {
    auto parsed = parse_layout(full_layout, "/etc/tessera/layouts/full.toml");
    INFO((parsed ? "" : parsed.error().describe()));
    REQUIRE(parsed);
    const Layout& layout = *parsed;
    CHECK(layout.source == "/etc/tessera/layouts/full.toml");
    CHECK(layout.default_zone == "centre");
    CHECK(layout.initial_profile == "parked");

    REQUIRE(layout.outputs.size() == 2);
    CHECK(layout.outputs[0] == OutputSpec{"main", "HDMI-A-1", 0});
    CHECK(layout.outputs[1] == OutputSpec{"side", "DP-1", std::nullopt});

    // Declaration order, not key order.
    REQUIRE(layout.zones.size() == 3);
    CHECK(layout.zones[0].name == "centre");
    CHECK(layout.zones[1].name == "cluster");
    CHECK(layout.zones[2].name == "b-2_x");

    const ZoneSpec& centre = layout.zones[0];
    CHECK(centre.output == "main");
    CHECK(centre.rect == RectSpec{pc(33.333), px(10), pc(33.334), px(50.5)});
    CHECK(centre.z == -3);
    CHECK(centre.background == Color{0x10 / 255.0f, 0x20 / 255.0f, 0x30 / 255.0f, 0x40 / 255.0f});
    CHECK(centre.fit == FitMode::integer);
    CHECK(centre.opacity == 0.5);
    CHECK_FALSE(centre.visible);
    CHECK(centre.input == (input_keyboard | input_touch));
    CHECK(centre.plane_priority == -1000);
    CHECK(centre.fallback.color == Color{1, 0, 0, 1});
    CHECK(centre.fallback.image == "/etc/tessera/layouts/images/centre.png");
    CHECK(centre.freeze_timeout == std::chrono::milliseconds(3'600'000));
    CHECK(centre.floating);

    const ZoneSpec& cluster = layout.zones[1];
    CHECK(cluster.output == "side");
    CHECK(cluster.rect == RectSpec{px(0), px(0), px(800), px(480)});
    CHECK(cluster.input == input_none);
    CHECK(cluster.opacity == 1.0);
    CHECK(cluster.fallback.image == "/usr/share/tessera/cluster.png");
    CHECK(cluster.fallback.color == Color{0, 0, 0, 1});
    CHECK(layout.zones[2].fallback == Fallback{Color{0, 1, 0, 1}, ""});

    REQUIRE(layout.profiles.size() == 2);
    CHECK(layout.profiles[0].name == "parked");
    CHECK(layout.profiles[1].name == "driving");
    const auto& parked = layout.profiles[0].zones;
    REQUIRE(parked.size() == 1);
    CHECK(parked.at("centre") ==
          ZoneOverride{RectSpec{px(0), px(0), pc(100), pc(100)}, true, 0.0, 7});
    const auto& driving = layout.profiles[1].zones;
    REQUIRE(driving.size() == 1);
    CHECK(driving.at("cluster") == ZoneOverride{std::nullopt, false, std::nullopt, std::nullopt});

    REQUIRE(layout.guests.size() == 2);
    // A group opens the socket to it, users to everyone (the peer check keeps others out).
    CHECK(layout.guests[0] ==
          GuestSpec{
              "ivi-vm", "/run/vms/ivi.sock", 2, 64, 512, 0666, 0, {65534, 4343}, input_none, true});
    CHECK(layout.guests[1] ==
          GuestSpec{"nav", "nav.sock", 1, 1024, 256, 0660, {}, {}, input_keyboard | input_touch});
    // Each input device has a socket of its own, named after the guest's.
    CHECK(input_devices(layout.guests[1]) ==
          std::vector<GuestInputDevice>{{input_touch, 0, "nav-touch-0.sock"},
                                        {input_keyboard, 0, "nav-keyboard.sock"}});
    CHECK(input_devices(layout.guests[0]).empty());
    CHECK(layout.find_guest("nav") == &layout.guests[1]);
    CHECK_FALSE(layout.find_guest("ivi"));

    REQUIRE(layout.rules.size() == 3);
    CHECK(layout.rules[0] ==
          Rule{"cluster", std::pair(9000u, 9999u), "org.example.*", std::nullopt, std::nullopt});
    CHECK(layout.rules[1] == Rule{"centre", std::nullopt, std::nullopt, "ivi-vm", 1});
    CHECK(layout.rules[2] == Rule{"b-2_x", std::pair(4294967295u, 4294967295u), std::nullopt,
                                  std::nullopt, std::nullopt});
    CHECK(layout.zone_for({.ivi_id = 9500, .app_id = "org.example.maps"}) == "cluster");
    CHECK(layout.zone_for({.ivi_id = 9500, .app_id = "other"}) == "centre"); // default zone
}

TEST_CASE("optional keys take their documented defaults", "[layout-file]") {
    auto parsed = parse_layout(minimal(), "minimal.toml");
    REQUIRE(parsed);
    CHECK(parsed->source == "minimal.toml");
    CHECK_FALSE(parsed->default_zone);
    CHECK(parsed->initial_profile.empty());
    CHECK(parsed->profiles.empty());
    CHECK(parsed->rules.empty());
    REQUIRE(parsed->outputs.size() == 1);
    CHECK(parsed->outputs[0] == OutputSpec{"main", std::nullopt, 0});
    REQUIRE(parsed->zones.size() == 1);
    ZoneSpec expected;
    expected.name = "a";
    expected.output = "main";
    expected.rect = {px(0), px(0), pc(100), pc(100)};
    CHECK(parsed->zones[0] == expected);
    CHECK(expected.background == Color{0, 0, 0, 1});
    CHECK(expected.fit == FitMode::fit);
    CHECK(expected.input == input_all);
    CHECK(expected.freeze_timeout == std::chrono::milliseconds(1000));
}

TEST_CASE("outputs, zones and profiles keep the order of the file", "[layout-file]") {
    auto parsed = parse_layout(R"(
[outputs.zz]
index = 2
[outputs.aa]
index = 0
[outputs.mm]
index = 1

[zones]
zeta = { output = "aa", rect = { x = 0, y = 0, width = 1, height = 1 } }
alpha.output = "mm"
alpha.rect = { x = 0, y = 0, width = 1, height = 1 }

[zones.mid]
output = "zz"
rect = { x = 0, y = 0, width = 1, height = 1 }

[profiles.b.zones.zeta]
z = 1
[profiles.a]
[profiles.c.zones.mid]
z = 2
)",
                               "order.toml");
    INFO((parsed ? "" : parsed.error().describe()));
    REQUIRE(parsed);
    auto names = [](const auto& items, auto member) {
        std::vector<std::string> out;
        for (const auto& item : items) {
            out.push_back(item.*member);
        }
        return out;
    };
    using Names = std::vector<std::string>;
    CHECK(names(parsed->outputs, &OutputSpec::key) == Names{"zz", "aa", "mm"});
    CHECK(names(parsed->zones, &ZoneSpec::name) == Names{"zeta", "alpha", "mid"});
    CHECK(names(parsed->profiles, &Profile::name) == Names{"b", "a", "c"});
}

TEST_CASE("fallback images are resolved against the layout file's directory", "[layout-file]") {
    auto image_of = [](const std::string& file, std::string_view image) {
        auto parsed =
            parse_layout(minimal(std::format("[zones.a.fallback]\nimage = \"{}\"\n", image)), file);
        REQUIRE(parsed);
        return parsed->zones[0].fallback.image;
    };
    CHECK(image_of("/etc/layouts/a.toml", "a.png") == "/etc/layouts/a.png");
    CHECK(image_of("/etc/layouts/a.toml", "../img/a.png") == "/etc/layouts/../img/a.png");
    CHECK(image_of("data/a.toml", "sub/a.png") == "data/sub/a.png");
    CHECK(image_of("a.toml", "a.png") == "a.png");
    CHECK(image_of("/etc/layouts/a.toml", "/srv/a.png") == "/srv/a.png");
}

TEST_CASE("numbers accept their whole documented range", "[layout-file]") {
    auto zone = one_zone;
    CHECK(zone("opacity = 0").opacity == 0.0);
    CHECK(zone("opacity = 1.0").opacity == 1.0);
    CHECK(zone("plane-priority = 1000").plane_priority == 1000);
    CHECK(zone("").planes == std::nullopt);
    CHECK(zone("planes = \"off\"").planes == PlanesMode::off);
    CHECK(zone("planes = \"force\"").planes == PlanesMode::force);
    CHECK(zone("planes = \"auto\"").planes == PlanesMode::automatic);
    CHECK(zone("freeze-timeout-ms = 1").freeze_timeout == std::chrono::milliseconds(1));
    CHECK(zone("").watchdog == std::chrono::milliseconds(0));
    CHECK(zone("watchdog-ms = 10").watchdog == std::chrono::milliseconds(10));
    CHECK(zone("watchdog-ms = 60000").watchdog == std::chrono::milliseconds(60'000));
    CHECK(zone("z = -2147483648").z == -2147483648);
    CHECK(zone("z = 2147483647").z == 2147483647);
    CHECK(zone("input = [\"pointer\"]").input == input_pointer);
    CHECK(zone("fit = \"stretch\"").fit == FitMode::stretch);
    CHECK(zone("fit = \"center\"").fit == FitMode::center);
    CHECK(zone("background = \"#abcdef\"").background ==
          Color{0xab / 255.0f, 0xcd / 255.0f, 0xef / 255.0f, 1});
    CHECK(zone("rect = { x = 100000, y = \"1000%\", width = \"0.5\", height = \"1e2\" }").rect ==
          RectSpec{px(100000), pc(1000), px(0.5), px(100)});
}

TEST_CASE("ivi-id takes a number or an inclusive range", "[layout-file]") {
    auto id = [](std::string_view value) {
        auto parsed = parse_layout(
            minimal(std::format("[[rules]]\nzone = \"a\"\nivi-id = {}\n", value)), "t.toml");
        INFO(value);
        REQUIRE(parsed);
        return *parsed->rules[0].ivi_id;
    };
    CHECK(id("0") == std::pair(0u, 0u));
    CHECK(id("\"5-5\"") == std::pair(5u, 5u));
    CHECK(id("\"0-4294967295\"") == std::pair(0u, 4294967295u));
    for (auto bad : {"\"-5\"", "\"5-\"", "\"5\"", "\"a-b\"", "\"1-2-3\"", "\"+1-2\"", "\" 1-2\"",
                     "\"0-4294967296\"", "-1", "1.0", "true"}) {
        INFO(bad);
        auto error = error_of(minimal(std::format("[[rules]]\nzone = \"a\"\nivi-id = {}\n", bad)));
        CHECK(error.line == 9);
        CHECK(error.key == "rules[0].ivi-id");
    }
}

TEST_CASE("errors name the file, line, column and key path", "[layout-file]") {
    auto error = error_of(minimal("[zones.b]\noutput = \"main\"\nfit = \"cover\"\n"
                                  "rect = { x = 0, y = 0, width = 1, height = 1 }\n"),
                          "dir/bad.toml");
    CHECK(error.file == "dir/bad.toml");
    CHECK(error.line == 9);
    CHECK(error.column == 7);
    CHECK(error.key == "zones.b.fit");
    CHECK(error.describe() == "dir/bad.toml:9:7: zones.b.fit: expected one of stretch, fit, fill, "
                              "center, integer; got 'cover'");

    // A value inside an inline table is located at the value itself.
    error = error_of(minimal("[zones.b]\noutput = \"main\"\n"
                             "rect = { x = 0, y = 0, width = 1, height = \"1 px\" }\n"));
    CHECK(error.line == 9);
    CHECK(error.column == 44);
    CHECK(error.key == "zones.b.rect.height");
}

TEST_CASE("unknown keys are refused with the accepted keys", "[layout-file]") {
    auto error = error_of(minimal("[zones.a.fallback]\ncolour = \"#ffffff\"\n"));
    CHECK(error.line == 8);
    CHECK(error.column == 1);
    CHECK(error.key == "zones.a.fallback.colour");
    CHECK(error.message ==
          "unknown key 'colour'; did you mean 'color'? (accepted keys: color, image)");

    error = error_of(minimal("[zones.a.rect]\n"), "t.toml");
    CHECK(contains(error.message, "cannot redefine")); // toml++: a table defined twice
    CHECK(error.key.empty());

    // Untrusted keys are shortened in messages.
    error = error_of(minimal(std::format("[{}]\n", std::string(5000, 'x'))));
    CHECK(error.key == "'" + std::string(64, 'x') + "...'");
    CHECK(error.message.size() < 200);
}

TEST_CASE("describe() leaves out what is unknown", "[layout-file]") {
    CHECK(LayoutError{"f.toml", 3, 7, "zones.a", "bad"}.describe() == "f.toml:3:7: zones.a: bad");
    CHECK(LayoutError{"f.toml", 3, 0, "zones.a", "bad"}.describe() == "f.toml:3: zones.a: bad");
    CHECK(LayoutError{"f.toml", 0, 0, "outputs", "missing"}.describe() ==
          "f.toml: outputs: missing");
    CHECK(LayoutError{"f.toml", 2, 5, "", "syntax"}.describe() == "f.toml:2:5: syntax");
    CHECK(LayoutError{"", 0, 0, "", "bare"}.describe() == "bare");
}

TEST_CASE("TOML syntax errors carry toml++'s position and description", "[layout-file]") {
    auto error = error_of("[outputs.main]\nindex = 0\nindex = 1\n", "syntax.toml");
    CHECK(error.file == "syntax.toml");
    CHECK(error.line == 3);
    CHECK(error.column > 0);
    CHECK(error.key.empty());
    CHECK(contains(error.message, "redefine"));

    error = error_of("a = [" + std::string(10000, '[') + std::string(10000, ']') + "]\n");
    CHECK(error.line == 1);
    CHECK(error.key.empty());
}

TEST_CASE("deeply nested keys are refused before they reach toml++", "[layout-file]") {
    auto dotted = [](int parts) {
        std::string key = "a";
        for (int i = 1; i < parts; ++i) {
            key += ".a";
        }
        return key;
    };
    // Hundreds of thousands of parts would overflow the stack inside toml++.
    auto deep = dotted(300'000);
    for (const auto& text :
         {"[" + deep + "]\n", deep + " = 1\n", R"(x = { b = """q"""", )" + deep + " = 1 }\n",
          "x = '''\n'''\n[" + deep + "]\n"}) {
        auto error = error_of(text);
        CHECK(error.key.empty());
        CHECK(contains(error.message, "more than 64 dots"));
        CHECK(error.line == (text.starts_with("x = '''") ? 3 : 1));
    }
    auto error = error_of("[outputs.main]\n" + dotted(66) + " = 1\n");
    CHECK(error.line == 2);
    CHECK(error.column == 130);

    // Dots in strings and comments do not count.
    std::string dots(200, '.');
    auto parsed = parse_layout(minimal(std::format("# {0}\nopacity = 0.5 # {0}\n"
                                                   "fallback = {{ image = \"{0}\" }}\n"
                                                   "[[rules]] # {0}\nzone = \"a\"\n"
                                                   "app-id = '{0}'\n"
                                                   "[[rules]]\nzone = \"a\"\n"
                                                   "app-id = \"\\\"{0}\"\n",
                                                   dots)),
                               "t.toml");
    INFO((parsed ? "" : parsed.error().describe()));
    CHECK(parsed);
}

TEST_CASE("the limits on counts are enforced", "[layout-file]") {
    auto with_zones = [](int count) {
        std::string text = "[outputs.main]\nindex = 0\n";
        for (int i = 0; i < count; ++i) {
            text += std::format("[zones.z{}]\noutput = \"main\"\n"
                                "rect = {{ x = {}, y = 0, width = 1, height = 1 }}\n",
                                i, i);
        }
        return text;
    };
    REQUIRE(parse_layout(with_zones(256), "t.toml"));
    auto error = error_of(with_zones(257));
    CHECK(error.line == 3 + 256 * 3); // the 257th zone's header
    CHECK(error.key == "zones.z256");
    CHECK(error.message == "too many zones (at most 256)");

    std::string outputs;
    for (int i = 0; i < 17; ++i) {
        outputs += std::format("[outputs.o{}]\nindex = {}\n", i, i);
    }
    error = error_of(outputs + "[zones.a]\noutput = \"o0\"\n");
    CHECK(error.key == "outputs.o16");
    CHECK(error.line == 33);
    CHECK(error.message == "too many outputs (at most 16)");

    std::string profiles;
    for (int i = 0; i < 65; ++i) {
        profiles += std::format("[profiles.p{}]\n", i);
    }
    error = error_of(minimal(profiles));
    CHECK(error.key == "profiles.p64");
    CHECK(error.line == 7 + 64);

    std::string rules;
    for (int i = 0; i < 1025; ++i) {
        rules += "[[rules]]\nzone = \"a\"\nivi-id = 1\n";
    }
    error = error_of(minimal(rules));
    CHECK(error.key == "rules[1024]");
    CHECK(error.line == 7 + 1024 * 3);
    CHECK(error.message == "too many rules (at most 1024)");
}

TEST_CASE("every example layout parses", "[layout-file]") {
    auto examples = files_in(source_dir / "data" / "layouts", ".toml");
    CHECK(examples.size() >= 4);
    for (const auto& path : examples) {
        auto parsed = load_layout_file(path.string());
        INFO(path.string());
        INFO((parsed ? "" : parsed.error().describe()));
        CHECK(parsed);
    }
}

TEST_CASE("the complete examples in the format reference parse", "[layout-file]") {
    std::ifstream in(source_dir / "data" / "layouts" / "README.md");
    std::string line, block;
    bool in_block = false;
    int complete = 0;
    while (std::getline(in, line)) {
        if (!in_block && line == "```toml") {
            in_block = true;
            block.clear();
        } else if (in_block && line == "```") {
            in_block = false;
            if (contains(block, "[outputs.")) { // only whole layouts, not fragments
                ++complete;
                auto parsed = parse_layout(block, "README.md");
                INFO(block);
                INFO((parsed ? "" : parsed.error().describe()));
                CHECK(parsed);
            }
        } else if (in_block) {
            block += line + "\n";
        }
    }
    CHECK(complete >= 2);
}

TEST_CASE("the cockpit example tiles its output and its profiles change the geometry",
          "[layout-file]") {
    auto parsed = load_layout_file((source_dir / "data/layouts/cockpit-two-vm.toml").string());
    REQUIRE(parsed);
    CHECK(parsed->initial_profile == "driving");
    CHECK(parsed->default_zone == "centre");
    for (Size output : {Size{1920, 720}, Size{3840, 1080}, Size{1366, 768}, Size{1001, 333}}) {
        INFO(output.width << "x" << output.height);
        auto rect = [&](std::string_view zone) {
            return parsed->find_zone(zone)->rect.resolve(output);
        };
        Rect status = rect("status"), cluster = rect("cluster"), centre = rect("centre"),
             passenger = rect("passenger");
        CHECK(status.y + status.height == cluster.y);
        CHECK(cluster.x == 0);
        CHECK(cluster.x + cluster.width == centre.x);
        CHECK(centre.x + centre.width == passenger.x);
        CHECK(passenger.x + passenger.width == output.width);
        CHECK(cluster.y + cluster.height == output.height);
    }
    const Profile* driving = parsed->find_profile("driving");
    const Profile* parked = parsed->find_profile("parked");
    REQUIRE(driving);
    REQUIRE(parked);
    CHECK(driving->zones.at("passenger").visible == false);
    CHECK(parked->zones.at("passenger").visible == true);
    CHECK(driving->zones.at("centre").rect != parked->zones.at("centre").rect);
    CHECK(parsed->find_zone("cluster")->plane_priority >
          parsed->find_zone("centre")->plane_priority);
    CHECK(parsed->zone_for({.guest = "ivi-vm", .scanout = 1}) == "passenger");
    CHECK(parsed->zone_for({.guest = "cluster-vm", .scanout = 0}) == "cluster");
    CHECK(parsed->zone_for({.app_id = "tessera-status-bar"}) == "status");
    CHECK(parsed->zone_for({.ivi_id = 100}) == "cluster");
    CHECK(parsed->zone_for({.app_id = "foot"}) == "centre");
}

TEST_CASE("every broken layout fails with the line, key and message it expects", "[layout-file]") {
    auto files = files_in(source_dir / "tests" / "data" / "broken-layouts", ".toml");
    CHECK(files.size() >= 25);
    for (const auto& path : files) {
        INFO(path.filename().string());
        std::ifstream in(path);
        std::string first;
        std::getline(in, first);
        // "# expect: LINE KEY: MESSAGE-FRAGMENT"
        constexpr std::string_view prefix = "# expect: ";
        REQUIRE(first.starts_with(prefix));
        auto rest = first.substr(prefix.size());
        auto space = rest.find(' ');
        auto colon = rest.find(": ", space);
        REQUIRE(space != std::string::npos);
        REQUIRE(colon != std::string::npos);
        int line = std::stoi(rest.substr(0, space));
        auto key = rest.substr(space + 1, colon - space - 1);
        auto fragment = rest.substr(colon + 2);

        auto parsed = load_layout_file(path.string());
        REQUIRE_FALSE(parsed);
        const auto& error = parsed.error();
        INFO(error.describe());
        CHECK(error.file == path.string());
        CHECK(error.line == line);
        CHECK(error.key == (key == "-" ? "" : key));
        CHECK(contains(error.message, fragment));
        CHECK((error.line == 0) == (error.column == 0));
    }
}

TEST_CASE("load_layout_file reports unreadable and oversized files", "[layout-file]") {
    auto missing = load_layout_file("/nonexistent/tessera/layout.toml");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().file == "/nonexistent/tessera/layout.toml");
    CHECK(missing.error().line == 0);
    CHECK(missing.error().message == "cannot open: No such file or directory");

    auto dir = fs::temp_directory_path() / std::format("tessera-layout-test-{}", ::getpid());
    fs::create_directories(dir);
    auto directory = load_layout_file(dir.string());
    REQUIRE_FALSE(directory);
    CHECK(contains(directory.error().message, "Is a directory"));

    auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir / name, std::ios::binary) << text;
        return (dir / name).string();
    };
    // Exactly 1 MiB is read and parsed (padded with a comment); one byte more is refused.
    std::string full = minimal() + "#" + std::string(1024 * 1024 - minimal().size() - 2, 'x');
    full += "\n";
    REQUIRE(full.size() == 1024 * 1024);
    CHECK(load_layout_file(write("limit.toml", full)));
    CHECK(parse_layout(full, "limit.toml"));
    auto over = load_layout_file(write("over.toml", full + "\n"));
    REQUIRE_FALSE(over);
    CHECK(over.error().message == "file is larger than 1 MiB");
    CHECK_FALSE(parse_layout(full + "\n", "big.toml"));

    auto ok = load_layout_file(write("ok.toml", minimal()));
    CHECK(ok);
    fs::remove_all(dir);
}

TEST_CASE("no input makes the parser throw", "[layout-file]") {
    // Every prefix of a valid layout, and every one-byte corruption of it, yields a layout or an
    // error: never an exception or a crash.
    std::string text(full_layout);
    for (size_t end = 0; end <= text.size(); ++end) {
        CHECK_NOTHROW(parse_layout(std::string_view(text).substr(0, end), "t.toml"));
    }
    for (size_t i = 0; i < text.size(); ++i) {
        for (char c : {'\0', '"', '[', '=', '\n', '\xff', '9'}) {
            std::string corrupt = text;
            corrupt[i] = c;
            CHECK_NOTHROW(parse_layout(corrupt, "t.toml"));
        }
    }
    auto error = error_of(std::string("zones = 1\0x", 11));
    CHECK(error.key.empty());
}

TEST_CASE("a guest with every input device gets a touchscreen per scanout", "[layout-file]") {
    auto parsed = parse_layout(R"(
[guests.vm]
socket = "/run/vm"
scanouts = 2
input = ["pointer", "touch", "keyboard"]

[outputs.main]
index = 0

[zones.a]
output = "main"
rect = { x = 0, y = 0, width = "100%", height = "100%" }
)",
                               "inline.toml");
    REQUIRE(parsed);
    REQUIRE(parsed->guests.size() == 1);
    CHECK(input_devices(parsed->guests[0]) ==
          std::vector<GuestInputDevice>{{input_touch, 0, "/run/vm-touch-0.sock"},
                                        {input_touch, 1, "/run/vm-touch-1.sock"},
                                        {input_pointer, 0, "/run/vm-pointer.sock"},
                                        {input_keyboard, 0, "/run/vm-keyboard.sock"}});
}

TEST_CASE("a zone's outputs list names its output and the ones it falls back to", "[layout-file]") {
    auto parsed = parse_layout(R"(
[outputs.cluster]
index = 0
[outputs.centre]
index = 1
[outputs.rear]
index = 2
[zones.speed]
outputs = ["cluster", "rear", "centre"]
rect = { x = 0, y = 0, width = 10, height = 10 }
[zones.nav]
output = "centre"
rect = { x = 0, y = 0, width = 10, height = 10 }
)",
                               "t.toml");
    INFO((parsed ? "" : parsed.error().describe()));
    REQUIRE(parsed);
    CHECK(parsed->zones[0].output == "cluster");
    CHECK(parsed->zones[0].fallback_outputs == std::vector<std::string>{"rear", "centre"});
    CHECK(parsed->zones[1].output == "centre");
    CHECK(parsed->zones[1].fallback_outputs.empty());
}

TEST_CASE("verify turns on a zone's checks every 60 frames, verify-every at its own rate",
          "[layout-file]") {
    auto zone = one_zone;
    CHECK(zone("").verify_every == 0);
    CHECK(zone("verify = true").verify_every == 60);
    CHECK(zone("verify = false").verify_every == 0);
    CHECK(zone("verify-every = 1").verify_every == 1);
    CHECK(zone("verify = true\nverify-every = 3600").verify_every == 3600);
    CHECK(zone("verify = false\nverify-every = 5").verify_every == 0);
}

TEST_CASE("a profile may name the outputs that choose it", "[layout-file]") {
    auto parsed = parse_layout(R"(
[outputs.cluster]
index = 0
[outputs.centre]
index = 1
[zones.speed]
outputs = ["cluster", "centre"]
rect = { x = 0, y = 0, width = 10, height = 10 }
[profiles.docked]
outputs = ["cluster", "centre"]
[profiles.alone]
outputs = ["centre"]
zones.speed = { visible = false }
[profiles.night]
zones.speed = { opacity = 0.5 }
)",
                               "t.toml");
    INFO((parsed ? "" : parsed.error().describe()));
    REQUIRE(parsed);
    // Kept sorted: a set of outputs, whatever order the file gives.
    CHECK(parsed->profiles[0].when_outputs == std::vector<std::string>{"centre", "cluster"});
    CHECK(parsed->profiles[1].when_outputs == std::vector<std::string>{"centre"});
    CHECK(parsed->profiles[2].when_outputs.empty());
    CHECK(parsed->profile_for_outputs({"centre", "cluster"})->name == "docked");
    CHECK(parsed->profile_for_outputs({"centre"})->name == "alone");
    CHECK_FALSE(parsed->profile_for_outputs({"cluster"}));
    CHECK_FALSE(parsed->profile_for_outputs({}));
}

TEST_CASE("a guest's 3d is a boolean, off by default", "[layout-file]") {
    auto guest = [](std::string_view keys) {
        return minimal(std::format("[guests.g]\nsocket = \"g.sock\"\n{}\n", keys));
    };
    auto parsed = parse_layout(guest(""), "t.toml");
    REQUIRE(parsed);
    CHECK_FALSE(parsed->guests[0].three_d);
    parsed = parse_layout(guest("3d = true"), "t.toml");
    REQUIRE(parsed);
    CHECK(parsed->guests[0].three_d);
    auto error = error_of(guest("3d = \"yes\""));
    CHECK(error.key == "guests.g.3d");
    CHECK(contains(error.message, "boolean"));
    CHECK(error.line == 9);
}
