// Chaos: four guests misbehave at once beside a native client (tests/data/layouts/chaos.toml).
// One VMM hangs (SIGSTOP), one floods its device with frames and malformed commands, one VM
// reboots in a loop, one is the cluster. For ten seconds the cluster must be presented at the
// output's rate, the hung guest's zone must show its fallback within its watchdog time and one
// refresh, the health events must tell all of it, and when everything has gone tessera holds
// no more fds than before and its memory has not grown.
#include "guest_rig.hpp"
#include "health_watcher.hpp"
#include "listener.hpp"
#include "pacing_window.hpp"
#include "output.hpp"
#include "wlr.hpp"
#include "zone_scene.hpp"

#include <catch2/catch_test_macros.hpp>

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace tessera;
using namespace tessera::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr Rgba hung_fallback{0, 0x40, 0, 255};
constexpr int watchdog_ms = 100; // chaos.toml's cluster and hung zones
constexpr double refresh_ms = 1000.0 / 60;
// A loaded machine runs the watchdog's timer and the next frame late by a few milliseconds;
// the allowance keeps that from failing the test while a late stall (a frame's worth and more)
// still does.
constexpr double scheduling_allowance_ms = 30;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool address_sanitizer = true; // its quarantine holds freed memory: RSS grows anyway
#else
constexpr bool address_sanitizer = false;
#endif

// Not counted: /dev/urandom, which wlroots opens with its first random token (a window's
// foreign-toplevel identifier) and keeps open for the next ones.
size_t open_fds() {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        if (std::filesystem::read_symlink(entry.path(), error) != "/dev/urandom") {
            ++n;
        }
    }
    return n - 1; // the directory iterator's own
}

double rss_mib() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            double kib = 0;
            status >> kib;
            return kib / 1024;
        }
        status.ignore(1 << 12, '\n');
    }
    return 0;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// CLOCK_MONOTONIC milliseconds (health events' time_ms) as a time point of the steady clock,
// which is CLOCK_MONOTONIC on Linux.
Clock::time_point from_event_ms(double ms) {
    return Clock::time_point(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms)));
}

struct ChaosRig : GuestRig {
    HealthWatcher watcher{compositor.server().health()};
    std::vector<Clock::time_point> presents; // when each output frame was presented
    Listener<wlr_output_event_present> on_present;

    ChaosRig() : GuestRig(test_data_path("layouts/chaos.toml"), {{640, 480, 60000}}) {
        on_present.connect(&output().wlr()->events.present, [this](wlr_output_event_present* e) {
            if (e->presented) {
                presents.push_back(Clock::now());
            }
        });
    }
    compositor::Output& output() { return *compositor.server().outputs().front(); }
    compositor::ScanoutStats stats(const char* name) { return guest(name).scanouts()[0]->stats(); }
    bool presenting(const char* name, uint64_t frames) {
        return compositor.run_until(
            [&] {
                return guest(name).state() == compositor::Guest::State::running &&
                       stats(name).presented >= frames;
            },
            30s);
    }
    // The first present at or after `t`.
    std::optional<Clock::time_point> first_present_after(Clock::time_point t) const {
        for (auto p : presents) {
            if (p >= t) {
                return p;
            }
        }
        return std::nullopt;
    }
};

} // namespace

TEST_CASE("Misbehaving guests cost only their own zones: the cluster keeps its pace, a hung "
          "guest's zone falls back in time, and nothing leaks",
          "[chaos]") {
    ChaosRig rig;
    const size_t fds_before = open_fds();
    const size_t clients_before = rig.compositor.client_count();

    auto cluster = rig.start("cluster", {"--blob"});
    auto hung = rig.start("hung", {"--blob"});
    auto flood = rig.start("flood", {"--cheap", "--fps", "0", "--garbage"});
    auto reboot = rig.start("reboot", {"--fps", "30", "--reboot-every", "15"});
    auto native = rig.compositor.spawn({test_client_path(), "--app-id", "tessera-chaos-client",
                                        "--pattern", "solid", "--frames", "240"});
    REQUIRE(rig.presenting("cluster", 30));
    REQUIRE(rig.presenting("hung", 30));
    REQUIRE(rig.presenting("flood", 30));
    REQUIRE(rig.presenting("reboot", 10));
    REQUIRE(native->wait_for_line("mapped"));
    const double rss_running = rss_mib();

    // Ten seconds of chaos, starting with the hang.
    const size_t events_from = rig.watcher.events.size();
    PacingWindow cluster_pacing(*rig.guest("cluster").scanouts()[0], rig.output());
    const uint64_t resets0 = rig.guest("reboot").backend_stats().resets;
    const uint64_t flood_errors0 = rig.guest("flood").device_stats().errors;
    // It stops right after sending a frame, while it waits for that frame's fence: the answer
    // then waits in its used ring, untaken, which is what makes a guest (not only its zone)
    // stalled. Stopped while drawing, with nothing waiting, it would look idle: rightly so.
    const uint64_t hung_frames = rig.stats("hung").frames;
    REQUIRE(rig.compositor.run_until([&] { return rig.stats("hung").frames > hung_frames; }, 5s));
    hung->kill(SIGSTOP);
    REQUIRE(hung->wait_stopped());
    rig.compositor.run_for(10s);
    cluster_pacing.close();

    // The output kept (nearly) its rate and the cluster was paced to it, each of its frames on
    // the glass with the output's next one.
    cluster_pacing.check_paced(40);
    CHECK_FALSE(rig.watcher.find_where("stalled", "zone", "cluster", events_from));
    CHECK_FALSE(rig.watcher.find_where("stalled", "guest", "cluster", events_from));

    // The hung guest's zone showed its fallback within its watchdog time and a refresh of its
    // last frame (the stall's silent_ms reaches back to it).
    const auto* stalled = rig.watcher.find_where("stalled", "zone", "hung", events_from);
    REQUIRE(stalled);
    const double silent_ms = (*stalled)["silent_ms"].get<double>();
    const auto last_frame = from_event_ms((*stalled)["time_ms"].get<double>() - silent_ms);
    const auto shown = rig.first_present_after(from_event_ms((*stalled)["time_ms"].get<double>()));
    REQUIRE(shown);
    const double fallback_after_ms = ms_between(last_frame, *shown);
    INFO("hung zone: stalled after " << silent_ms << " ms, fallback on screen " << fallback_after_ms
                                     << " ms after its last frame");
    CHECK(silent_ms >= watchdog_ms);
    CHECK(fallback_after_ms <= watchdog_ms + refresh_ms + scheduling_allowance_ms);
    CHECK(rig.compositor.capture().at(480, 120) == hung_fallback);
    CHECK(rig.guest("hung").state() == compositor::Guest::State::running); // hung, connected
    // Its kernel took no answers back: the guest itself is reported stalled too.
    const auto* hung_guest = rig.watcher.find_where("stalled", "guest", "hung", events_from);
    REQUIRE(hung_guest);
    CHECK((*hung_guest)["queue"] == "control");

    // The flooding guest's malformed commands got errors and cost it nothing else; the
    // rebooting guest rebooted again and again; no device process failed.
    CHECK(rig.guest("flood").device_stats().errors - flood_errors0 > 100);
    CHECK(rig.guest("reboot").backend_stats().resets - resets0 >= 5);
    CHECK(rig.watcher.count("guest-connected", "reboot", events_from) >= 5); // each reboot
    CHECK(rig.watcher.count("guest-running", "reboot", events_from) >= 5);
    for (const char* name : {"cluster", "hung", "flood", "reboot"}) {
        CHECK(rig.guest(name).device_failures() == 0);
        CHECK(rig.watcher.count("device-failed", name) == 0);
    }

    // The native client drew its frames in its zone and went.
    auto status = native->wait_exit(20s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(rig.watcher.find("zone-content", "native"));

    // The hung guest wakes: its zone recovers at its next frame.
    hung->kill(SIGCONT);
    REQUIRE(rig.compositor.run_until(
        [&] { return rig.watcher.find_where("recovered", "zone", "hung", events_from); }, 10s));
    REQUIRE(rig.compositor.run_until(
        [&] { return rig.watcher.find_where("recovered", "guest", "hung", events_from); }, 10s));
    const double rss_after = rss_mib();

    // Everything goes: tessera is back to the fds it had before any of it came.
    for (auto* vm : {&cluster, &hung, &flood, &reboot}) {
        (*vm)->kill(SIGTERM);
        REQUIRE((*vm)->wait_exit());
        vm->reset(); // and the pipe of its output
    }
    native.reset();
    REQUIRE(rig.compositor.run_until(
        [&] {
            for (const char* name : {"cluster", "hung", "flood", "reboot"}) {
                if (rig.guest(name).link() ||
                    rig.guest(name).state() != compositor::Guest::State::listening) {
                    return false;
                }
            }
            return rig.compositor.client_count() == clients_before;
        },
        20s));
    for (const char* name : {"cluster", "hung", "flood", "reboot"}) {
        CHECK(rig.watcher.find("guest-disconnected", name, events_from));
    }
    CHECK(open_fds() == fds_before);
    INFO("tessera's RSS: " << rss_running << " MiB running, " << rss_after
                           << " MiB after ten seconds of chaos");
    if (!address_sanitizer) {
        CHECK(rss_after - rss_running < 8);
    }
}
