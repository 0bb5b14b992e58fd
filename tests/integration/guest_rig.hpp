#pragma once

#include "guest/guests.hpp"
#include "guest_pattern_check.hpp"
#include "headless_compositor.hpp"

#include <memory>
#include <string>
#include <vector>

// Two guests, a and b, side by side on one 640x240 headless output
// (tests/data/layouts/two-guests.toml), fed by tessera-sim-guest processes.
namespace tessera::test {

inline constexpr PatternArea left_zone{0, 0, 320, 240};
inline constexpr PatternArea right_zone{320, 0, 320, 240};

struct GuestRig {
    HeadlessCompositor compositor;

    // `layout`: two-guests.toml, or a variant of it with the same zones and guests.
    explicit GuestRig(const std::string& layout = test_data_path("layouts/two-guests.toml"),
                      std::vector<HeadlessOutputSpec> outputs = {{640, 240, 60000}})
        : compositor(std::move(outputs), "us", layout) {}

    compositor::Guest& guest(const char* name) { return *compositor.server().guests()->find(name); }
    std::string socket(const char* name) { return guest(name).socket_path(); }
    uint64_t frames(const char* name) { return guest(name).scanouts()[0]->frames(); }

    // A simulated VM on the guest's socket, with these extra arguments.
    std::unique_ptr<ClientProcess> start(const char* name, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{sim_guest_path(), "--socket", socket(name)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return compositor.spawn(argv);
    }
    bool frames_reach(const char* name, uint64_t count) {
        return compositor.run_until([&] { return frames(name) >= count; }, 20s);
    }
    // Waits until the guest's device process has answered two pings sent from now: it handles
    // what was ready in one round of its loop, so everything the guest had queued before is
    // handled and its reports are in.
    bool device_synced(const char* name) {
        const auto* link = guest(name).link();
        if (!link) {
            return true;
        }
        uint64_t target = link->pings_answered() + 2;
        return compositor.run_until(
            [&] { return !guest(name).link() || guest(name).link()->pings_answered() >= target; },
            10s);
    }
};

} // namespace tessera::test
