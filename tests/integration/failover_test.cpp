// Output failover: a zone that names fallback outputs moves to the next present one in the
// same frame as its output goes, and back when it returns; profiles that name a set of outputs
// are chosen when that set is present; headless outputs are plugged and unplugged at run time
// with tessera-ctl output.
#include "guest_rig.hpp"
#include "health_watcher.hpp"
#include "output.hpp"
#include "zone_scene.hpp"

#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <memory>
#include <optional>

using namespace tessera;
using namespace tessera::test;
using json = nlohmann::json;

namespace {

constexpr Rgba red{255, 0, 0, 255};  // speed's fallback
constexpr Rgba blue{0, 0, 255, 255}; // nav's fallback

int exit_code(const HeadlessCompositor::Result& result) {
    return WIFEXITED(result.status) ? WEXITSTATUS(result.status) : -1;
}

} // namespace

TEST_CASE("A zone moves to its fallback output in the frame its output goes, and back",
          "[failover]") {
    HeadlessCompositor compositor({{320, 240, 60000}, {320, 240, 60000}}, "us",
                                  test_data_path("layouts/failover.toml"));
    std::optional<size_t> frames_before_removal; // output 0's frames recorded until then
    HealthWatcher watcher(compositor.server().health(), [&](const json& event) {
        if (event["event"] == "output-removed") {
            frames_before_removal = compositor.recorded_frames().size();
        }
    });
    auto& events = watcher.events;
    auto& zones = *compositor.server().zones();
    CHECK(zones.model().find("speed")->output == "cluster");
    CHECK(compositor.capture(0).at(80, 120) == blue);
    CHECK(compositor.capture(1).at(80, 120) == red);

    // The cluster display is unplugged: the first frame the centre display shows after it has
    // the speed zone, resolved on its size.
    compositor.record_frames(0);
    auto removed = compositor.run_command({tessera_ctl_path(), "output", "remove", "HEADLESS-2"});
    REQUIRE(exit_code(removed) == 0);
    CHECK(compositor.server().outputs().size() == 1);
    CHECK(zones.model().find("speed")->output == "centre");
    REQUIRE(frames_before_removal);
    REQUIRE(compositor.run_until(
        [&] { return compositor.recorded_frames().size() > *frames_before_removal; }));
    const auto& first_after = compositor.recorded_frames()[*frames_before_removal];
    CHECK(first_after.at(80, 120) == red);
    CHECK(first_after.at(240, 120) == blue);
    auto named = [&](std::string_view name) {
        return std::ranges::find_if(events, [&](const json& e) { return e["event"] == name; });
    };
    REQUIRE(named("output-removed") != events.end());
    CHECK((*named("output-removed"))["output"] == "HEADLESS-2");
    REQUIRE(named("zone-output") != events.end());
    CHECK(*named("zone-output") == json{{"event", "zone-output"},
                                        {"seq", (*named("zone-output"))["seq"]},
                                        {"time_ms", (*named("zone-output"))["time_ms"]},
                                        {"zone", "speed"},
                                        {"output", "centre"},
                                        {"previous", "cluster"}});

    // Plugged in again (a new name, the same place among the outputs): back on the cluster.
    events.clear();
    auto added = compositor.run_command({tessera_ctl_path(), "output", "add", "400x200@30"});
    REQUIRE(exit_code(added) == 0);
    CHECK(added.output == "added HEADLESS-3\n");
    REQUIRE(compositor.server().outputs().size() == 2);
    CHECK(compositor.server().outputs()[1]->wlr()->width == 400);
    CHECK(zones.model().find("speed")->output == "cluster");
    CHECK(zones.model().find("speed")->rect == ivi::Rect{0, 0, 200, 200});
    CHECK(compositor.capture(0).at(80, 120) == blue);
    CHECK(compositor.capture(1).at(80, 120) == red);
    REQUIRE(named("output-added") != events.end());
    CHECK((*named("output-added"))["output"] == "HEADLESS-3");
    CHECK((*named("zone-output"))["output"] == "cluster");
}

TEST_CASE("Unplugging and plugging outputs is refused with a reason when it cannot be done",
          "[failover]") {
    HeadlessCompositor compositor;
    auto ctl = [&](std::vector<std::string> args) {
        args.insert(args.begin(), tessera_ctl_path());
        return compositor.run_command(args);
    };
    CHECK(exit_code(ctl({"output", "remove", "NOPE-1"})) == 1);
    CHECK(exit_code(ctl({"output", "add", "0x100"})) == 1);
    CHECK(exit_code(ctl({"output", "add", "100000x100"})) == 1);
    CHECK(exit_code(ctl({"output", "add", "100x100@0"})) == 1);
    CHECK(exit_code(ctl({"output", "add"})) == 2);
    CHECK(exit_code(ctl({"output", "plug", "100x100"})) == 2);
    for (size_t i = compositor.server().outputs().size(); i < compositor::Server::max_outputs;
         ++i) {
        REQUIRE(exit_code(ctl({"output", "add", "64x64"})) == 0);
    }
    auto over = ctl({"output", "add", "64x64"});
    CHECK(exit_code(over) == 1);
    CHECK(compositor.server().outputs().size() == compositor::Server::max_outputs);
    // The last output may go too: tessera runs on without one.
    for (size_t i = 0; i < compositor::Server::max_outputs; ++i) {
        auto name = std::string(compositor.server().outputs().front()->name());
        REQUIRE(exit_code(ctl({"output", "remove", name})) == 0);
    }
    CHECK(compositor.server().outputs().empty());
    REQUIRE(exit_code(ctl({"output", "add", "320x240"})) == 0);
    CHECK(compositor.capture().width() == 320);
}

TEST_CASE("A profile naming the outputs present is chosen when they change, and the guest is "
          "offered its zone's new size",
          "[failover]") {
    GuestRig rig(test_data_path("layouts/outputs-profiles.toml"),
                 {{320, 240, 60000}, {320, 240, 60000}});
    auto& compositor = rig.compositor;
    HealthWatcher watcher(compositor.server().health());
    auto& zones = *compositor.server().zones();
    CHECK(zones.model().profile() == "docked");
    auto guest = rig.start("cluster");
    REQUIRE(rig.frames_reach("cluster", 5));
    auto& scanout = *rig.guest("cluster").scanouts()[0];
    CHECK(scanout.width() == 320);

    // The cluster display goes: the centre-only profile puts the speed zone in a quarter of the
    // centre display, and the guest, offered that size, draws at it.
    auto cluster_output = std::string(compositor.server().outputs()[1]->name());
    auto removed = compositor.run_command({tessera_ctl_path(), "output", "remove", cluster_output});
    REQUIRE(exit_code(removed) == 0);
    CHECK(zones.model().profile() == "centre-only");
    CHECK(zones.model().find("speed")->output == "centre");
    CHECK(zones.model().find("speed")->rect == ivi::Rect{0, 0, 160, 120});
    CHECK(rig.guest("cluster").offered(0).width == 160);
    CHECK(rig.guest("cluster").offered(0).height == 120);
    REQUIRE(compositor.run_until([&] { return scanout.width() == 160 && scanout.height() == 120; },
                                 10s));
    const auto* switched = watcher.find("profile");
    REQUIRE(switched);
    CHECK((*switched)["name"] == "centre-only");

    // A profile chosen by name holds while the outputs stay as they are...
    REQUIRE(exit_code(compositor.run_command({tessera_ctl_path(), "profile", "docked"})) == 0);
    CHECK(zones.model().find("speed")->rect == ivi::Rect{0, 0, 320, 240});
    // ...and the outputs choose again when they change: both back, docked, full size.
    REQUIRE(exit_code(compositor.run_command({tessera_ctl_path(), "profile", "centre-only"})) == 0);
    auto added = compositor.run_command({tessera_ctl_path(), "output", "add", "320x240"});
    REQUIRE(exit_code(added) == 0);
    CHECK(zones.model().profile() == "docked");
    CHECK(zones.model().find("speed")->output == "cluster");
    REQUIRE(compositor.run_until([&] { return scanout.width() == 320 && scanout.height() == 240; },
                                 10s));
}
