// Health: a zone whose content stops sending frames (watchdog-ms) shows its fallback and comes
// back at the next frame, and whoever watches the control socket (tessera-ctl watch) is told
// what happens to guests and zones, without a slow watcher costing tessera anything.
#include "guest_pattern.hpp"
#include "guest_rig.hpp"
#include "health_events.hpp"
#include "health_watcher.hpp"
#include "guest/driver_stall.hpp"
#include "zone_scene.hpp"

#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <memory>

using namespace tessera;
using namespace tessera::test;
using json = nlohmann::json;

namespace {

constexpr Rgba cluster_fallback{0x40, 0, 0, 255};

// A raw connection to the control socket.
UniqueFd connect_control(HeadlessCompositor& compositor) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const auto& path = compositor.server().control_socket_path();
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    REQUIRE(fd);
    REQUIRE(connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    return fd;
}

// Reads what is there without blocking.
std::string read_available(int fd) {
    std::string text;
    char buffer[65536];
    ssize_t n = 0;
    while ((n = read(fd, buffer, sizeof(buffer))) > 0) {
        text.append(buffer, static_cast<size_t>(n));
    }
    return text;
}

std::vector<json> lines_of(const std::string& text) {
    std::vector<json> out;
    size_t start = 0, newline = 0;
    while ((newline = text.find('\n', start)) != std::string::npos) {
        out.push_back(json::parse(text.substr(start, newline - start)));
        start = newline + 1;
    }
    return out;
}

} // namespace

TEST_CASE("A zone whose guest stops sending frames shows its fallback within its watchdog time "
          "and recovers at its next frame",
          "[health]") {
    GuestRig rig(test_data_path("layouts/watchdog.toml"));
    HealthWatcher watcher(rig.compositor.server().health());
    auto cli = rig.compositor.spawn({tessera_ctl_path(), "--json", "watch"});
    auto& zones = *rig.compositor.server().zones();

    auto cluster = rig.start("a");
    // The centre guest shows five frames and then stays still: its zone has no watchdog.
    auto still = rig.start("b", {"--frames", "5", "--hold"});
    REQUIRE(rig.frames_reach("a", 10));
    REQUIRE(rig.frames_reach("b", 5));
    REQUIRE(watcher.find("guest-running", "a"));
    REQUIRE(watcher.find("zone-content", "cluster"));
    CHECK_FALSE(pattern_mismatch(rig.compositor.capture(), left_zone));
    uint64_t stalls_before = zones.watchdog().stalls("cluster");

    // The cluster VM hangs: connected, its device process alive, no frames.
    cluster->kill(SIGSTOP);
    REQUIRE(cluster->wait_stopped());
    size_t hung = watcher.events.size();
    REQUIRE(
        rig.compositor.run_until([&] { return watcher.find("stalled", "cluster", hung); }, 10s));
    const json stalled = *watcher.find("stalled", "cluster", hung);
    CHECK(stalled["watchdog_ms"] == 200);
    CHECK(stalled["silent_ms"].get<int>() >= 200); // never before its time
    CHECK(stalled["content"] == "guest a:0");
    CHECK(zones.watchdog().stalled("cluster"));
    CHECK(rig.guest("a").state() == compositor::Guest::State::running); // still connected
    auto shot = rig.compositor.capture();
    CHECK(shot.at(160, 120) == cluster_fallback);
    CHECK_FALSE(pattern_mismatch(shot, right_zone)); // the still centre is not stalled
    CHECK_FALSE(watcher.find("stalled", "centre"));
    auto zones_reply = rig.compositor.run_command({tessera_ctl_path(), "--json", "zones"});
    REQUIRE(zones_reply.status == 0);
    auto listed = json::parse(zones_reply.output)["zones"];
    CHECK(listed[0]["name"] == "cluster");
    CHECK(listed[0]["stalled"] == true);
    CHECK(listed[0]["stalls"] == stalls_before + 1);
    CHECK(listed[0]["watchdog_ms"] == 200);

    // It comes back: the next frame ends the stall.
    size_t resumed = watcher.events.size();
    cluster->kill(SIGCONT);
    REQUIRE(rig.compositor.run_until([&] { return watcher.find("recovered", "cluster", resumed); },
                                     10s));
    const json recovered = *watcher.find("recovered", "cluster", resumed);
    CHECK(recovered["silent_ms"].get<int>() >= 200);
    uint64_t frames = rig.frames("a");
    REQUIRE(rig.frames_reach("a", frames + 3));
    CHECK_FALSE(pattern_mismatch(rig.compositor.capture(), left_zone));

    // The VMM goes: the guest is disconnected; its zone freezes and then falls back, which is
    // the freeze timeout's business, not a second stall.
    cluster->kill(SIGKILL);
    REQUIRE(cluster->wait_exit());
    REQUIRE(rig.compositor.run_until([&] { return watcher.find("guest-disconnected", "a"); }));

    // tessera-ctl watch printed the same events, one JSON object per line, none missing from
    // the moment it subscribed.
    auto disconnected = (*watcher.find("guest-disconnected", "a"))["seq"];
    INFO(cli->output());
    REQUIRE(cli->wait_for_lines(
        [&] {
            return !cli->lines().empty() && json::parse(cli->lines().back())["seq"] >= disconnected;
        },
        10s));
    auto first_seq = json::parse(cli->lines().front())["seq"].get<uint64_t>();
    CHECK(first_seq < stalled["seq"].get<uint64_t>());
    for (size_t i = 0; i < cli->lines().size(); ++i) {
        auto event = json::parse(cli->lines()[i]);
        CHECK(event["seq"] == first_seq + i);
        auto same = std::ranges::find_if(watcher.events,
                                         [&](const json& e) { return e["seq"] == event["seq"]; });
        REQUIRE(same != watcher.events.end());
        CHECK(*same == event);
    }
    cli->kill(SIGTERM);
    cli->wait_exit();
}

TEST_CASE("A watcher that does not read loses events, not tessera's memory, and is told how many",
          "[health]") {
    HeadlessCompositor compositor;
    auto& health = compositor.server().health();
    auto slow = connect_control(compositor);
    auto fast = connect_control(compositor);
    for (int fd : {slow.get(), fast.get()}) {
        std::string request = R"({"command": "watch"})"
                              "\n";
        REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    }
    REQUIRE(compositor.run_until([&] { return health.subscribers() == 2; }));

    const std::string padding(500, 'x');
    constexpr size_t published = 20'000; // 10 MB of events
    std::string fast_text;
    for (size_t i = 0; i < published; ++i) {
        health.publish("test", {{"n", i}, {"padding", padding}});
        if (i % 50 == 0) {
            fast_text += read_available(fast.get()); // each event is written as it comes
        }
    }
    // A request on each connection: its reply comes after every event queued before it.
    auto replied = [&](int fd, std::string& text) {
        std::string request = R"({"command": "outputs"})"
                              "\n";
        REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
        REQUIRE(compositor.run_until([&] {
            text += read_available(fd);
            return text.find("\"outputs\"") != std::string::npos;
        }));
        auto lines = lines_of(text);
        REQUIRE(lines.back().contains("outputs"));
        lines.pop_back();
        text.clear();
        return lines;
    };
    auto fast_lines = replied(fast.get(), fast_text);
    REQUIRE(fast_lines.size() == published + 1); // the watch reply, then every event
    CHECK(fast_lines[0]["ok"] == true);
    CHECK(fast_lines.back()["n"] == published - 1);
    CHECK(health.lost() > 0);

    // The slow one got what fitted (its socket buffer and tessera's bound), oldest first...
    std::string slow_text;
    auto kept = replied(slow.get(), slow_text);
    REQUIRE(kept.size() > 1);
    size_t kept_events = kept.size() - 1;
    CHECK(kept_events < published);
    CHECK(kept_events * (padding.size() + 60) > compositor::HealthEvents::max_backlog_bytes);
    for (size_t i = 0; i < kept_events; ++i) {
        CHECK(kept[i + 1]["n"] == i);
    }
    CHECK(health.lost() == published - kept_events);
    // ...and, now that it reads, the count of what it lost before the next event.
    health.publish("after", {});
    REQUIRE(compositor.run_until([&] {
        slow_text += read_available(slow.get());
        auto lines = lines_of(slow_text);
        return !lines.empty() && lines.back()["event"] == "after";
    }));
    auto after = lines_of(slow_text);
    REQUIRE(after.size() == 2);
    CHECK(after[0]["event"] == "lost");
    CHECK(after[0]["count"] == published - kept_events);
}

TEST_CASE("A guest that hangs with a frame in flight, taking no answers back, is reported stalled",
          "[health]") {
    GuestRig rig(test_data_path("layouts/watchdog.toml"));
    HealthWatcher watcher(rig.compositor.server().health());
    // The centre zone has no watchdog: a still picture is allowed there, a hung guest is not.
    auto vm = rig.start("b", {"--blob", "--hang-after", "20"});
    REQUIRE(vm->wait_for_line("hung", 20s));
    auto hung_at = std::chrono::steady_clock::now();
    REQUIRE(rig.compositor.run_until([&] { return watcher.find("stalled", "b"); }, 10s));
    const auto& stalled = *watcher.find("stalled", "b");
    INFO(stalled.dump());
    CHECK(stalled["queue"] == "control");
    CHECK(stalled["waiting"].get<int>() >= 1); // its fence's answer at least
    CHECK(stalled["silent_ms"].get<int>() >= compositor::DriverStallWatch::threshold.count());
    // Within the threshold and a heartbeat or two of the hang.
    CHECK(std::chrono::steady_clock::now() - hung_at <
          compositor::DriverStallWatch::threshold + 2s);
    CHECK_FALSE(watcher.find("stalled", "centre")); // the zone's content did not stall

    auto listed = json::parse(
        rig.compositor.run_command({tessera_ctl_path(), "--json", "guests"}).output)["guests"];
    auto b = std::ranges::find_if(listed, [](const json& g) { return g["name"] == "b"; });
    REQUIRE(b != listed.end());
    CHECK((*b)["driver_stalled"] == json::array({"control"}));
    CHECK((*b)["driver_stalls"] == 1);

    // An idle guest that took all its answers is not stalled: the other one, still.
    auto still = rig.start("a", {"--blob", "--frames", "10", "--hold"});
    REQUIRE(still->wait_for_line("holding", 20s));
    rig.compositor.run_for(compositor::DriverStallWatch::threshold + 1s);
    CHECK_FALSE(watcher.find("stalled", "a"));
    vm->kill(SIGKILL);
    REQUIRE(vm->wait_exit());
}
