// Input to guests: the seat's touch, pointer and keys over a guest's zone reach the guest's own
// virtio-input devices (tessera-sim-input plays QEMU's vhost-user-input-pci and Linux's
// driver), at the scanout's pixels through the zone's fit, and nothing of one guest reaches or
// slows another.
#include "guest_rig.hpp"
#include "health_watcher.hpp"
#include "input_devices.hpp"

#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <format>
#include <string>
#include <vector>

using namespace tessera;
using namespace tessera::test;

namespace {

std::string ev(int type, int code, int value) {
    return std::format("event {} {} {}", type, code, value);
}
const std::string syn = ev(EV_SYN, SYN_REPORT, 0);

// A simulated input device of a guest, connected to the socket of one of its input devices.
struct SimInput {
    std::unique_ptr<ClientProcess> process;
    size_t next_line = 0;
    size_t reports = 0;

    // Waits for `count` more reports (SYN_REPORT) and returns the events read since the last
    // call, reports included.
    std::vector<std::string> frames(size_t count) {
        reports += count;
        if (!process->wait_for_line(syn, 10s, reports)) {
            return {"(only " + std::to_string(reports - count) + "+ reports came)"};
        }
        std::vector<std::string> events;
        const auto& lines = process->lines();
        for (; next_line < lines.size(); ++next_line) {
            if (lines[next_line].starts_with("event ")) {
                events.push_back(lines[next_line]);
            }
        }
        return events;
    }
};

struct InputRig : GuestRig {
    InputRig() : GuestRig(test_data_path("layouts/guest-input.toml")) {}

    std::string input_socket(const char* name, ivi::InputKind kind, int scanout = 0) {
        for (const auto& input : guest(name).inputs().status()) {
            if (input.device.kind == kind && input.device.scanout == scanout) {
                return input.socket_path;
            }
        }
        FAIL("no such input device");
        return {};
    }
    // Connects a simulated input device and waits until tessera sees its driver run.
    SimInput attach(const char* name, ivi::InputKind kind, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{sim_input_path(), "--socket", input_socket(name, kind)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        SimInput sim{compositor.spawn(argv)};
        REQUIRE(sim.process->wait_for_line("ready"));
        REQUIRE(compositor.run_until([&] { return guest(name).inputs().running(kind); }, 10s));
        return sim;
    }
    // A guest's VM, showing frames (a touch needs a picture to land on).
    std::unique_ptr<ClientProcess> start_shown(const char* name) {
        auto vm = start(name);
        REQUIRE(vm->wait_for_line("mode 0 320x240"));
        REQUIRE(frames_reach(name, 2));
        return vm;
    }
    std::vector<std::unique_ptr<ClientProcess>> start_both() {
        std::vector<std::unique_ptr<ClientProcess>> vms;
        vms.push_back(start_shown("a"));
        vms.push_back(start_shown("b"));
        return vms;
    }
    compositor::GuestInputStatus status(const char* name, ivi::InputKind kind) {
        for (auto& input : guest(name).inputs().status()) {
            if (input.device.kind == kind) {
                return input;
            }
        }
        FAIL("no such input device");
        return {};
    }
};

} // namespace

TEST_CASE("A guest's touchscreen is named after its scanout and spans it", "[guest-input]") {
    InputRig rig;
    auto vm = rig.start_shown("a");
    auto touch = rig.attach("a", ivi::input_touch);
    const auto& lines = touch.process->lines();
    auto has = [&](const std::string& line) { return std::ranges::contains(lines, line); };
    CHECK(has("name tessera touchscreen Virtual-1"));
    CHECK(has("serial Virtual-1"));
    CHECK(has("props 02")); // INPUT_PROP_DIRECT
    CHECK(has(std::format("abs {} 0 319", ABS_X)));
    CHECK(has(std::format("abs {} 0 239", ABS_Y)));
    CHECK(has(std::format("abs {} 0 9", ABS_MT_SLOT))); // ten fingers
}

TEST_CASE("Touches on a guest's zone arrive as multitouch contacts at its pixels, in order",
          "[guest-input]") {
    InputRig rig;
    auto vm = rig.start_shown("a");
    auto touch = rig.attach("a", ivi::input_touch);
    TestTouch finger(rig.compositor);

    finger.down(1, 100, 50);
    finger.down(2, 200, 120);
    finger.motion(1, 110, 60);
    finger.motion(2, 500, 120); // off the zone: the contact stays, held at the edge
    finger.up(1);
    finger.up(2);
    CHECK(touch.frames(6) ==
          std::vector<std::string>{
              // first finger: slot 0, and the single-touch axes follow it
              ev(EV_ABS, ABS_MT_SLOT, 0), ev(EV_ABS, ABS_MT_TRACKING_ID, 0),
              ev(EV_ABS, ABS_MT_POSITION_X, 100), ev(EV_ABS, ABS_MT_POSITION_Y, 50),
              ev(EV_ABS, ABS_X, 100), ev(EV_ABS, ABS_Y, 50), ev(EV_KEY, BTN_TOUCH, 1), syn,
              // second finger: slot 1
              ev(EV_ABS, ABS_MT_SLOT, 1), ev(EV_ABS, ABS_MT_TRACKING_ID, 1),
              ev(EV_ABS, ABS_MT_POSITION_X, 200), ev(EV_ABS, ABS_MT_POSITION_Y, 120), syn,
              ev(EV_ABS, ABS_MT_SLOT, 0), ev(EV_ABS, ABS_MT_POSITION_X, 110),
              ev(EV_ABS, ABS_MT_POSITION_Y, 60), ev(EV_ABS, ABS_X, 110), ev(EV_ABS, ABS_Y, 60), syn,
              ev(EV_ABS, ABS_MT_SLOT, 1), ev(EV_ABS, ABS_MT_POSITION_X, 319),
              ev(EV_ABS, ABS_MT_POSITION_Y, 120), syn,
              // lifted: tracking id -1, BTN_TOUCH up with the last finger
              ev(EV_ABS, ABS_MT_SLOT, 0), ev(EV_ABS, ABS_MT_TRACKING_ID, -1), syn,
              ev(EV_ABS, ABS_MT_SLOT, 1), ev(EV_ABS, ABS_MT_TRACKING_ID, -1),
              ev(EV_KEY, BTN_TOUCH, 0), syn});
    REQUIRE(rig.device_synced("a"));
    CHECK(rig.status("a", ivi::input_touch).device_stats.events_delivered == 30);
    CHECK(rig.status("a", ivi::input_touch).device_stats.frames_dropped == 0);
}

TEST_CASE("A touch through a scaled, letterboxed zone lands on the pixel shown there",
          "[guest-input]") {
    InputRig rig;
    auto vm = rig.start("a", {"--fixed-mode"}); // keeps 320x240 in a smaller zone
    REQUIRE(vm->wait_for_line("mode 0 320x240"));
    auto touch = rig.attach("a", ivi::input_touch);
    auto resized = rig.compositor.run_command(
        {tessera_ctl_path(), "zone", "left", "rect", "0", "0", "160", "240"});
    REQUIRE(resized.status == 0);
    // Fit: 320x240 at half size, 160x120, between bars 60 pixels high above and below.
    REQUIRE(rig.frames_reach("a", rig.frames("a") + 3));
    TestTouch finger(rig.compositor);
    finger.down(1, 80, 30); // a bar: nothing for the guest
    finger.up(1);
    finger.down(2, 40, 90); // scanout pixel (80, 60)
    finger.up(2);
    CHECK(touch.frames(2) ==
          std::vector<std::string>{ev(EV_ABS, ABS_MT_SLOT, 0), ev(EV_ABS, ABS_MT_TRACKING_ID, 0),
                                   ev(EV_ABS, ABS_MT_POSITION_X, 80),
                                   ev(EV_ABS, ABS_MT_POSITION_Y, 60), ev(EV_ABS, ABS_X, 80),
                                   ev(EV_ABS, ABS_Y, 60), ev(EV_KEY, BTN_TOUCH, 1), syn,
                                   ev(EV_ABS, ABS_MT_SLOT, 0), ev(EV_ABS, ABS_MT_TRACKING_ID, -1),
                                   ev(EV_KEY, BTN_TOUCH, 0), syn});
}

TEST_CASE("The pointer and keys go to the guest under them; focus moves with a touch",
          "[guest-input]") {
    InputRig rig;
    auto vms = rig.start_both();
    auto pointer_a = rig.attach("a", ivi::input_pointer);
    auto keyboard_a = rig.attach("a", ivi::input_keyboard);
    auto pointer_b = rig.attach("b", ivi::input_pointer);
    auto keyboard_b = rig.attach("b", ivi::input_keyboard);
    auto touch_b = rig.attach("b", ivi::input_touch);
    TestPointer mouse(rig.compositor);
    TestKeyboard keys(rig.compositor);
    TestTouch finger(rig.compositor);

    mouse.move_to(40, 30);
    keys.key(KEY_LEFTSHIFT, true); // held before the guest has the keyboard
    mouse.click(BTN_LEFT);
    CHECK(pointer_a.frames(3) ==
          std::vector<std::string>{ev(EV_ABS, ABS_X, 40), ev(EV_ABS, ABS_Y, 30), syn,
                                   ev(EV_KEY, BTN_LEFT, 1), syn, ev(EV_KEY, BTN_LEFT, 0), syn});
    mouse.scroll(240); // two notches down: towards the user, negative in evdev
    CHECK(pointer_a.frames(1) == std::vector<std::string>{ev(EV_REL, REL_WHEEL, -2), syn});
    mouse.scroll(-60); // a high-resolution wheel's half notches add up to one
    mouse.scroll(-60);
    CHECK(pointer_a.frames(1) == std::vector<std::string>{ev(EV_REL, REL_WHEEL, 1), syn});
    // The click gave guest a the keyboard, with the shift held.
    keys.tap(KEY_A);
    CHECK(keyboard_a.frames(3) == std::vector<std::string>{ev(EV_KEY, KEY_LEFTSHIFT, 1), syn,
                                                           ev(EV_KEY, KEY_A, 1), syn,
                                                           ev(EV_KEY, KEY_A, 0), syn});
    keys.key(KEY_B, true);
    CHECK(keyboard_a.frames(1) == std::vector<std::string>{ev(EV_KEY, KEY_B, 1), syn});
    keys.key(KEY_LEFTSHIFT, false);
    CHECK(keyboard_a.frames(1) == std::vector<std::string>{ev(EV_KEY, KEY_LEFTSHIFT, 0), syn});

    // The right zone passes no pointer: moving there sends b nothing. A touch there gives b the
    // keyboard, and a lets go of what was held in it.
    mouse.move_to(400, 30);
    finger.down(1, 400, 30);
    finger.up(1);
    CHECK(touch_b.frames(2).size() == 12);
    CHECK(keyboard_a.frames(1) == std::vector<std::string>{ev(EV_KEY, KEY_B, 0), syn});
    keys.key(KEY_B, false); // pressed in a, released in b: b never had it
    keys.tap(KEY_C);
    CHECK(keyboard_b.frames(2) ==
          std::vector<std::string>{ev(EV_KEY, KEY_C, 1), syn, ev(EV_KEY, KEY_C, 0), syn});
    REQUIRE(rig.device_synced("b"));
    CHECK(rig.status("b", ivi::input_pointer).frames_sent == 0);
    CHECK(pointer_b.process->lines().back() == "ready");
}

TEST_CASE("A guest that stops reading input loses frames, counted; its neighbour loses none",
          "[guest-input]") {
    InputRig rig;
    HealthWatcher watcher(rig.compositor.server().health());
    auto vms = rig.start_both();
    auto touch_a = rig.attach("a", ivi::input_touch);
    auto stalled = rig.attach("b", ivi::input_touch, {"--stall"});
    TestTouch finger(rig.compositor);
    // Touches as a hand makes them, each read by guest a before the next; b never reads.
    constexpr int touches = 300;
    for (int i = 0; i < touches; ++i) {
        finger.down(1, 400 + i % 100, 100);
        finger.up(1);
        finger.down(2, i % 100, 100);
        finger.up(2);
        REQUIRE(touch_a.frames(2).size() == 12);
    }
    REQUIRE(rig.device_synced("b"));
    auto b = rig.status("b", ivi::input_touch);
    CHECK(b.frames_sent == 2u * touches);
    CHECK(b.device_stats.frames_dropped > 0);
    CHECK(b.device_stats.queued <= 256u); // the FIFO's bound, whatever the guest does
    CHECK(rig.status("a", ivi::input_touch).device_stats.frames_dropped == 0);
    CHECK(rig.guest("b").state() == compositor::Guest::State::running);
    // Its events waited with no buffer taken: the guest is reported stalled on that device.
    REQUIRE(rig.compositor.run_until([&] { return watcher.find("stalled", "b"); }, 10s));
    const auto& event = *watcher.find("stalled", "b");
    INFO(event.dump());
    CHECK(event["device"] == "touch 0");
    CHECK(event["queue"].get<std::string>().starts_with("input "));
    CHECK(event["waiting"].get<int>() > 0);
    CHECK_FALSE(watcher.find("stalled", "a"));
}

TEST_CASE("Input devices that connect before the GPU wait for it; a VMM restart reconnects all",
          "[guest-input]") {
    InputRig rig;
    std::vector<std::string> argv{sim_input_path(), "--socket",
                                  rig.input_socket("a", ivi::input_touch)};
    SimInput early{rig.compositor.spawn(argv)};
    REQUIRE(rig.compositor.run_until(
        [&] { return rig.status("a", ivi::input_touch).state == "waiting"; }, 10s));
    auto vm = rig.start("a");
    REQUIRE(early.process->wait_for_line("ready"));
    REQUIRE(rig.frames_reach("a", 2));
    REQUIRE(rig.compositor.run_until(
        [&] { return rig.guest("a").inputs().running(ivi::input_touch); }, 10s));
    TestTouch finger(rig.compositor);
    finger.down(1, 10, 10);
    CHECK(early.frames(1).size() == 8);
    // Another connection to the device while it has one is refused: it would take its input.
    auto intruder = rig.compositor.spawn(argv);
    REQUIRE(intruder->wait_exit());
    CHECK(rig.status("a", ivi::input_touch).refused == 1);
    finger.motion(1, 12, 10);
    CHECK(early.frames(1).size() == 6); // still the first connection's

    // The VMM goes: its input devices go with its device process.
    vm->kill(SIGKILL);
    REQUIRE(vm->wait_exit());
    REQUIRE(early.process->wait_for_line("disconnected"));
    REQUIRE(rig.compositor.run_until(
        [&] { return rig.status("a", ivi::input_touch).state == "listening"; }, 10s));
    finger.up(1);

    auto vm_again = rig.start("a");
    REQUIRE(vm_again->wait_for_line("mode 0 320x240"));
    REQUIRE(rig.frames_reach("a", rig.frames("a") + 2));
    auto touch = rig.attach("a", ivi::input_touch);
    finger.down(3, 20, 20);
    // A fresh device: the contact lifted while the VMM was away is not sent to the new one.
    CHECK(touch.frames(1) ==
          std::vector<std::string>{ev(EV_ABS, ABS_MT_SLOT, 0), ev(EV_ABS, ABS_MT_TRACKING_ID, 1),
                                   ev(EV_ABS, ABS_MT_POSITION_X, 20),
                                   ev(EV_ABS, ABS_MT_POSITION_Y, 20), ev(EV_ABS, ABS_X, 20),
                                   ev(EV_ABS, ABS_Y, 20), ev(EV_KEY, BTN_TOUCH, 1), syn});
    CHECK(rig.status("a", ivi::input_touch).connections == 2);
}

TEST_CASE("tessera-ctl guests shows each input device", "[guest-input]") {
    InputRig rig;
    auto vm = rig.start_shown("a");
    auto touch = rig.attach("a", ivi::input_touch);
    TestTouch finger(rig.compositor);
    finger.down(1, 10, 10);
    finger.up(1);
    REQUIRE(touch.frames(2).size() == 12);
    REQUIRE(rig.device_synced("a"));
    auto result = rig.compositor.run_command({tessera_ctl_path(), "--json", "guests"});
    REQUIRE(result.status == 0);
    auto guests = nlohmann::json::parse(result.output);
    const auto& inputs = guests.at("guests").at(0).at("inputs");
    REQUIRE(inputs.size() == 3);
    CHECK(inputs[0]["kind"] == "touch");
    CHECK(inputs[0]["state"] == "running");
    CHECK(inputs[0]["events_delivered"] == 12);
    CHECK(inputs[0]["frames_dropped"] == 0);
    CHECK(inputs[1]["kind"] == "pointer");
    CHECK(inputs[1]["state"] == "listening");
    auto text = rig.compositor.run_command({tessera_ctl_path(), "guests"});
    INFO(text.output);
    CHECK(text.output.find("input touch 0    events 12 delivered, 0 frames dropped") !=
          std::string::npos);
}

TEST_CASE("tessera-ctl touch reaches the guest under it; a malformed one is refused",
          "[guest-input]") {
    InputRig rig;
    auto vm = rig.start_shown("a");
    auto touch = rig.attach("a", ivi::input_touch);
    REQUIRE(
        rig.compositor.run_command({tessera_ctl_path(), "touch", "down", "4", "30", "40"}).status ==
        0);
    REQUIRE(rig.compositor.run_command({tessera_ctl_path(), "touch", "up", "4"}).status == 0);
    CHECK(touch.frames(2) ==
          std::vector<std::string>{ev(EV_ABS, ABS_MT_SLOT, 0), ev(EV_ABS, ABS_MT_TRACKING_ID, 0),
                                   ev(EV_ABS, ABS_MT_POSITION_X, 30),
                                   ev(EV_ABS, ABS_MT_POSITION_Y, 40), ev(EV_ABS, ABS_X, 30),
                                   ev(EV_ABS, ABS_Y, 40), ev(EV_KEY, BTN_TOUCH, 1), syn,
                                   ev(EV_ABS, ABS_MT_SLOT, 0), ev(EV_ABS, ABS_MT_TRACKING_ID, -1),
                                   ev(EV_KEY, BTN_TOUCH, 0), syn});
    for (std::vector<std::string> bad : {std::vector<std::string>{"touch", "press", "1", "2", "3"},
                                         {"touch", "down", "1", "2"},
                                         {"touch", "down", "x", "2", "3"}}) {
        bad.insert(bad.begin(), tessera_ctl_path());
        auto refused = rig.compositor.run_command(bad);
        CHECK(WIFEXITED(refused.status));
        CHECK(WEXITSTATUS(refused.status) == 2); // a bad command line
    }
}
