// tessera-ctl and the control socket: listings, moving a surface, zone changes, screenshots,
// reloads, and malformed requests.
#include "headless_compositor.hpp"
#include "zone_scene.hpp"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace tessera;
using namespace tessera::test;
using json = nlohmann::json;

namespace {

constexpr Rgba yellow{255, 255, 0, 255};

struct Ctl {
    HeadlessCompositor& compositor;

    // Runs tessera-ctl; stdout and stderr together.
    HeadlessCompositor::Result operator()(const std::string& args) {
        return compositor.run_command({"/bin/sh", "-c", tessera_ctl_path() + " " + args + " 2>&1"});
    }
    json json_of(const std::string& args) {
        auto result = (*this)("--json " + args);
        INFO(result.output);
        REQUIRE(exit_code(result) == 0);
        return json::parse(result.output);
    }
    static int exit_code(const HeadlessCompositor::Result& result) {
        return WIFEXITED(result.status) ? WEXITSTATUS(result.status) : -1;
    }
};

std::string three_zones() {
    return test_data_path("layouts/three-zones.toml");
}

std::string copy_layout(HeadlessCompositor& host, const std::string& name) {
    auto path = host.runtime_dir() + "/" + name;
    std::filesystem::copy_file(three_zones(), path);
    return path;
}

// A window that draws yellow at whatever size its zone gives it; it lands in "bottom".
std::unique_ptr<ClientProcess> spawn_yellow_window(HeadlessCompositor& compositor) {
    auto client = compositor.spawn(
        {test_client_path(), "--follow-configure", "--pattern", "solid", "--color", "ffff00"});
    REQUIRE(client->wait_for_line("mapped"));
    return client;
}

// Sends raw lines on the control socket and reads one reply line each.
class RawControl {
public:
    explicit RawControl(HeadlessCompositor& compositor) : compositor_(compositor) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        auto path = compositor.server().control_socket_path();
        std::copy(path.begin(), path.end(), address.sun_path);
        fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    }
    ~RawControl() { close(fd_); }

    std::string request(const std::string& line) {
        std::string data = line + "\n";
        size_t sent = 0;
        compositor_.run_until([&] {
            ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            sent += n > 0 ? static_cast<size_t>(n) : 0;
            return sent == data.size() || (n < 0 && errno != EAGAIN);
        });
        std::string reply;
        bool closed = false;
        compositor_.run_until([&] {
            char buffer[4096];
            ssize_t n = read(fd_, buffer, sizeof(buffer));
            if (n > 0) {
                reply.append(buffer, static_cast<size_t>(n));
            } else if (n == 0) {
                closed = true;
            }
            return closed || reply.find('\n') != std::string::npos;
        });
        return reply.substr(0, reply.find('\n'));
    }

private:
    HeadlessCompositor& compositor_;
    int fd_ = -1;
};

} // namespace

TEST_CASE("tessera-ctl lists outputs, zones and surfaces", "[ctl]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    auto client = spawn_yellow_window(compositor);
    Ctl ctl{compositor};

    auto zones = ctl("zones");
    INFO(zones.output);
    CHECK(Ctl::exit_code(zones) == 0);
    for (auto name : {"left", "right", "bottom"}) {
        CHECK(zones.output.find(name) != std::string::npos);
    }
    auto zones_json = ctl.json_of("zones");
    REQUIRE(zones_json["zones"].size() == 3);
    CHECK(zones_json["zones"][2]["name"] == "bottom");
    CHECK(zones_json["zones"][2]["width"] == 160);

    auto surfaces = ctl.json_of("surfaces");
    REQUIRE(surfaces["surfaces"].size() == 1);
    CHECK(surfaces["surfaces"][0]["zone"] == "bottom");
    CHECK(surfaces["surfaces"][0]["app_id"] == "tessera-test-client");
    CHECK(surfaces["surfaces"][0]["width"] == 160);
    CHECK(surfaces["surfaces"][0]["frames"].get<int>() >= 1);

    auto outputs = ctl.json_of("outputs");
    CHECK(outputs["outputs"][0]["width"] == 320);
    auto stats = ctl.json_of("stats");
    CHECK(stats["outputs"][0]["frames"].get<int>() > 0);
}

TEST_CASE("tessera-ctl moves a surface and takes a zone screenshot that matches", "[ctl]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    auto client = spawn_yellow_window(compositor);
    Ctl ctl{compositor};
    auto id = ctl.json_of("surfaces")["surfaces"][0]["id"].get<uint64_t>();

    auto moved = ctl(std::format("move {} left", id));
    INFO(moved.output);
    REQUIRE(Ctl::exit_code(moved) == 0);
    // The window is told the new zone's size and redraws at it.
    REQUIRE(client->wait_for_line("configure 160 240"));
    REQUIRE(compositor.run_until([&] { return compositor.capture().at(0, 0) == yellow; }));

    auto file = compositor.runtime_dir() + "/left.png";
    auto shot = ctl("screenshot zone left " + file);
    INFO(shot.output);
    REQUIRE(Ctl::exit_code(shot) == 0);
    auto image = read_png(file);
    REQUIRE(image);
    CHECK(compare_images(*image, Image(160, 240, yellow), 0).matches());
    // The same region of a whole-output capture.
    CHECK(compare_images(*image, compositor.capture().crop(0, 0, 160, 240), 0).matches());
    // The zone it left shows its fallback again.
    CHECK(compositor.capture().at(200, 200) == Rgba{0, 0, 0x40, 255});
}

TEST_CASE("tessera-ctl changes a zone and switches profiles", "[ctl]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    Ctl ctl{compositor};
    REQUIRE(Ctl::exit_code(ctl("zone right hide")) == 0);
    CHECK(compositor.capture().at(200, 10) != Rgba{0, 0x40, 0, 255});
    REQUIRE(Ctl::exit_code(ctl("zone right show rect 0 0 50% 25%")) == 0);
    auto shot = compositor.capture();
    CHECK(shot.at(10, 10) == Rgba{0, 0x40, 0, 255});
    CHECK(shot.at(10, 70) == Rgba{0x40, 0, 0, 255}); // left zone below it again

    // A watcher started before the switch is told of it, in its human form, and stops after
    // the one event it asked for.
    auto watcher = compositor.spawn({tessera_ctl_path(), "watch", "--count", "1"});
    REQUIRE(compositor.run_until([&] { return compositor.server().health().subscribers() == 1; }));
    REQUIRE(Ctl::exit_code(ctl("profile swapped")) == 0);
    auto zones = ctl.json_of("zones");
    CHECK(zones["profile"] == "swapped");
    CHECK(zones["zones"][0]["x"] == 160);
    auto status = watcher->wait_exit();
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    REQUIRE(watcher->lines().size() == 1);
    CHECK(watcher->lines()[0].ends_with(" profile name=swapped"));
}

TEST_CASE("tessera-ctl reports errors with a message and a status", "[ctl]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    Ctl ctl{compositor};
    auto no_zone = ctl("zone nowhere hide");
    CHECK(Ctl::exit_code(no_zone) == 1);
    CHECK(no_zone.output == "tessera-ctl: no zone named 'nowhere'\n");
    auto bad_profile = ctl("profile nope");
    CHECK(Ctl::exit_code(bad_profile) == 1);
    auto bad_opacity = ctl("zone left opacity 3");
    CHECK(Ctl::exit_code(bad_opacity) == 1);
    CHECK(bad_opacity.output.find("opacity must be between 0 and 1") != std::string::npos);
    auto no_surface = ctl("move 999 left");
    CHECK(Ctl::exit_code(no_surface) == 1);
    CHECK(Ctl::exit_code(ctl("frobnicate")) == 2);
    CHECK(Ctl::exit_code(ctl("move x left")) == 2);
    CHECK(Ctl::exit_code(ctl("watch --count")) == 2);
    CHECK(Ctl::exit_code(ctl("watch --count 0")) == 2);
    CHECK(Ctl::exit_code(ctl("watch --count many")) == 2);
    CHECK(Ctl::exit_code(ctl("watch now")) == 2);
    CHECK(Ctl::exit_code(ctl("--socket /nonexistent/socket zones")) == 3);
}

TEST_CASE("malformed control messages get an error reply and change nothing", "[ctl]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    RawControl control(compositor);
    const char* corpus[] = {
        "",
        "not json",
        "[1, 2, 3]",
        "\"command\"",
        "{}",
        R"({"command": 5})",
        R"({"command": "zone"})",
        R"({"command": "zone", "name": "left", "opacity": "high"})",
        // Atomic: the valid visibility change must not apply without the invalid opacity.
        R"({"command": "zone", "name": "left", "visible": false, "opacity": 7})",
        R"({"command": "zone", "name": "left", "rect": {"x": 0}})",
        R"({"command": "zone", "name": "left", "rect": {"x": -5, "y": 0, "width": 10, "height": 10}})",
        R"({"command": "move", "surface": -1, "zone": "left"})",
        R"({"command": "move", "surface": "one", "zone": "left"})",
        R"({"command": "screenshot"})",
        R"({"command": "screenshot", "output": "NOPE-1"})",
        R"({"command": "profile", "name": null})",
        R"({"command": "log-level", "spec": "comp=shouty"})",
        R"({"command": "touch", "action": "press", "id": 1, "x": 1, "y": 1})",
        R"({"command": "touch", "action": "down", "id": -1, "x": 1, "y": 1})",
        R"({"command": "touch", "action": "down", "id": 64, "x": 1, "y": 1})",
        R"({"command": "touch", "action": "down", "id": 1, "x": "1", "y": 1})",
        R"({"command": "touch", "action": "motion", "id": 1})",
        "{\"command\": \"zones\"\xff}",
    };
    for (const char* message : corpus) {
        INFO(message);
        auto reply = json::parse(control.request(message), nullptr, false);
        REQUIRE(reply.is_object());
        CHECK(reply["ok"] == false);
        CHECK(reply["error"].is_string());
        CHECK_FALSE(reply["error"].get<std::string>().empty());
    }
    CHECK(compositor.server().zones()->model().find("left")->visible);
    auto fine = json::parse(control.request(R"({"command": "outputs"})"));
    CHECK(fine["ok"] == true);
}

TEST_CASE("a request longer than the limit is refused and the connection closed", "[ctl]") {
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", three_zones());
    RawControl control(compositor);
    auto reply = json::parse(control.request(std::string(100 * 1024, 'x')), nullptr, false);
    REQUIRE(reply.is_object());
    CHECK(reply["error"] == "request too long");
    // Others are still served.
    RawControl another(compositor);
    CHECK(json::parse(another.request(R"({"command": "zones"})"))["ok"] == true);
}

TEST_CASE("a reload of a broken layout is refused and the running one stays", "[ctl]") {
    HeadlessCompositor host;
    auto path = copy_layout(host, "reloadable.toml");
    HeadlessCompositor compositor({{320, 240, 60000}}, "us", path);
    Ctl ctl{compositor};
    auto before = compositor.server().zones()->model().zones();

    std::ofstream(path, std::ios::app)
        << "\n[zones.extra]\noutput = \"screen\"\nfit = \"squash\"\n";
    auto refused = ctl("reload");
    INFO(refused.output);
    CHECK(Ctl::exit_code(refused) == 1);
    CHECK(refused.output.find(path + ":") != std::string::npos);
    CHECK(refused.output.find("zones.extra") != std::string::npos);
    CHECK(compositor.server().zones()->model().zones() == before);

    // A good file is taken, in one go.
    std::filesystem::copy_file(three_zones(), path,
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(path, std::ios::app) << "\n[profiles.extra.zones.bottom]\nvisible = false\n";
    auto reloaded = ctl("reload");
    INFO(reloaded.output);
    CHECK(Ctl::exit_code(reloaded) == 0);
    CHECK(Ctl::exit_code(ctl("profile extra")) == 0);
    CHECK_FALSE(compositor.server().zones()->model().find("bottom")->visible);
}

TEST_CASE("the control socket is private to its user", "[ctl]") {
    HeadlessCompositor compositor;
    struct stat info{};
    REQUIRE(stat(compositor.server().control_socket_path().c_str(), &info) == 0);
    CHECK(S_ISSOCK(info.st_mode));
    CHECK((info.st_mode & 0777) == 0600);
}
