#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>
#include <sys/socket.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend.hpp"
#include "gpu-backend/backend/input_backend.hpp"
#include "gpu-backend/base/bytes.hpp"
#include "gpu-backend/vhost_user/message.hpp"
#include "input_driver.hpp"
#include "test_loop.hpp"

// The transport and the virtio-input model joined: a Frontend playing QEMU's
// vhost-user-input-pci and an InputDriver playing Linux's virtio_input against one InputBackend.
using namespace tessera;
using namespace tessera::gpu;
using namespace tessera::gpu::input;
using namespace tessera::gpu::test;
using vhost::RequestCode;

namespace {

constexpr InputEvent syn{EV_SYN, SYN_REPORT, 0};

struct InputRig {
    TestEventLoop& loop;
    Frontend frontend;
    InputDriver driver{frontend};
    std::unique_ptr<InputBackend> backend;
    std::vector<uint32_t> leds;
    std::optional<std::string> disconnected;

    explicit InputRig(TestEventLoop& shared_loop, InputProfile profile,
                      size_t fifo_capacity = EventFifo::default_capacity)
        : loop(shared_loop), frontend(shared_loop, input_frontend_options()) {
        InputBackendCallbacks callbacks;
        callbacks.add_fd = loop.add_fd_callback();
        callbacks.remove_fd = loop.remove_fd_callback();
        callbacks.on_leds = [this](uint32_t l) { leds.push_back(l); };
        callbacks.on_disconnected = [this](std::string_view why) {
            disconnected = std::string(why);
        };
        backend = std::make_unique<InputBackend>(frontend.take_backend_socket(), std::move(profile),
                                                 std::move(callbacks), fifo_capacity);
    }

    // QEMU starts the device and the driver probes it and posts its four event buffers.
    void start() {
        REQUIRE(frontend.start());
        REQUIRE(backend->running());
        REQUIRE(driver.post_event_buffers());
    }
};

std::vector<InputEvent> two_fingers_down() {
    return {{EV_ABS, ABS_MT_SLOT, 0},
            {EV_ABS, ABS_MT_TRACKING_ID, 1},
            {EV_ABS, ABS_MT_POSITION_X, 100},
            {EV_ABS, ABS_MT_POSITION_Y, 200},
            {EV_ABS, ABS_MT_SLOT, 1},
            {EV_ABS, ABS_MT_TRACKING_ID, 2},
            {EV_ABS, ABS_MT_POSITION_X, 300},
            {EV_ABS, ABS_MT_POSITION_Y, 400},
            {EV_KEY, BTN_TOUCH, 1},
            {EV_ABS, ABS_X, 100},
            {EV_ABS, ABS_Y, 200},
            syn};
}

} // namespace

TEST_CASE("QEMU's vhost-user-input sequence: config, features, both queues", "[input-backend]") {
    TestEventLoop loop;
    InputRig rig(loop, touchscreen_profile(0, 1024, 768));
    REQUIRE(rig.frontend.negotiate());
    CHECK(rig.frontend.protocol_features() & protocol_feature::config);
    CHECK(rig.frontend.backend_features() & feature::version_1);
    CHECK(rig.frontend.get_u64(RequestCode::get_queue_num) == 2);
    auto name = rig.driver.query(static_cast<uint8_t>(ConfigSelect::id_name), 0);
    REQUIRE(name);
    CHECK(std::string(reinterpret_cast<const char*>(name->data()), name->size()) ==
          "tessera touchscreen Virtual-1");
    auto props = rig.driver.query(static_cast<uint8_t>(ConfigSelect::prop_bits), 0);
    REQUIRE(props);
    REQUIRE_FALSE(props->empty());
    CHECK((static_cast<unsigned>((*props)[0]) & (1u << INPUT_PROP_DIRECT)) != 0);
    // The whole space reads as one 136-byte struct; past it, nothing.
    CHECK(rig.frontend.get_config(0, config_size));
    CHECK_FALSE(rig.frontend.get_config(0, config_size + 1));
    REQUIRE(rig.frontend.driver_ok());
    CHECK(rig.backend->running());
    CHECK_FALSE(rig.disconnected);
}

TEST_CASE("A two-finger frame reaches the guest in order through four buffers", "[input-backend]") {
    TestEventLoop loop;
    InputRig rig(loop, touchscreen_profile(0, 1024, 768));
    rig.start();
    auto frame = two_fingers_down();
    REQUIRE(frame.size() > 4); // more than the ring holds at once
    REQUIRE(rig.backend->send_frame(frame));
    CHECK(rig.driver.events(frame.size()) == frame);
    CHECK(rig.backend->queued_events() == 0);
    CHECK(rig.backend->fifo_stats().events_delivered == frame.size());

    // Many frames at once, none lost, each ending in its SYN_REPORT.
    std::vector<InputEvent> expected;
    for (int i = 0; i < 20; ++i) {
        std::vector<InputEvent> move{
            {EV_ABS, ABS_MT_SLOT, i % 2}, {EV_ABS, ABS_MT_POSITION_X, 100 + i}, syn};
        REQUIRE(rig.backend->send_frame(move));
        expected.insert(expected.end(), move.begin(), move.end());
    }
    CHECK(rig.driver.events(expected.size()) == expected);
    CHECK(rig.backend->fifo_stats().frames_dropped == 0);
}

TEST_CASE("Frames are checked against the device's profile", "[input-backend]") {
    TestEventLoop loop;
    InputRig rig(loop, touchscreen_profile(0, 640, 480));
    rig.start();
    // A key a touchscreen does not have is left out, a position past the screen is clamped,
    // a SYN_REPORT in the middle does not split the frame, and one ends it when missing.
    std::vector<InputEvent> frame{
        {EV_ABS, ABS_MT_SLOT, 0},          {EV_ABS, ABS_MT_TRACKING_ID, 4}, {EV_KEY, KEY_A, 1}, syn,
        {EV_ABS, ABS_MT_POSITION_X, 5000}, {EV_ABS, ABS_MT_POSITION_Y, -3}, {EV_REL, REL_X, 1}};
    REQUIRE(rig.backend->send_frame(frame));
    std::vector<InputEvent> expected{{EV_ABS, ABS_MT_SLOT, 0},
                                     {EV_ABS, ABS_MT_TRACKING_ID, 4},
                                     {EV_ABS, ABS_MT_POSITION_X, 639},
                                     {EV_ABS, ABS_MT_POSITION_Y, 0},
                                     syn};
    CHECK(rig.driver.events(expected.size()) == expected);
    CHECK(rig.backend->stats().refused_events == 2);
    // A lift keeps its -1.
    std::vector<InputEvent> lift{{EV_ABS, ABS_MT_TRACKING_ID, -1}, syn};
    REQUIRE(rig.backend->send_frame(lift));
    CHECK(rig.driver.events(2) == lift);
    // Nothing left: no frame at all.
    CHECK_FALSE(rig.backend->send_frame(std::vector<InputEvent>{{EV_KEY, KEY_A, 1}}));
}

TEST_CASE("Keyboard LEDs come from the status queue", "[input-backend]") {
    TestEventLoop loop;
    InputRig rig(loop, keyboard_profile());
    rig.start();
    REQUIRE(rig.driver.send_status({EV_LED, LED_CAPSL, 1}));
    REQUIRE(rig.driver.send_status({EV_SYN, SYN_REPORT, 0}));
    REQUIRE(rig.driver.send_status({EV_LED, LED_NUML, 1}));
    REQUIRE(rig.driver.send_status({EV_LED, LED_CAPSL, 0}));
    CHECK(rig.leds == std::vector<uint32_t>{1u << LED_CAPSL, (1u << LED_CAPSL) | (1u << LED_NUML),
                                            1u << LED_NUML});
    CHECK(rig.backend->leds() == 1u << LED_NUML);
    CHECK(rig.backend->stats().status_events == 4);
}

TEST_CASE("A driver that restarts finds a clean device", "[input-backend]") {
    TestEventLoop loop;
    InputRig rig(loop, keyboard_profile());
    rig.start();
    // A key goes down and is seen; more wait when the driver goes away.
    REQUIRE(rig.backend->send_frame(std::vector<InputEvent>{{EV_KEY, KEY_A, 1}, syn}));
    CHECK(rig.driver.events(2).size() == 2);
    REQUIRE(rig.driver.send_status({EV_LED, LED_CAPSL, 1}));
    for (int i = 0; i < 10; ++i) {
        rig.backend->send_frame(std::vector<InputEvent>{{EV_KEY, KEY_B, i % 2}, syn});
    }
    REQUIRE(rig.frontend.stop());
    CHECK(rig.backend->queued_events() == 0);
    CHECK(rig.backend->leds() == 0);
    CHECK(rig.backend->stats().resets == 1);

    // The driver comes back on fresh rings: only what happens from now on reaches it.
    rig.frontend.reset_rings();
    REQUIRE(rig.frontend.driver_ok());
    REQUIRE(rig.driver.post_event_buffers());
    std::vector<InputEvent> next{{EV_KEY, KEY_C, 1}, syn};
    REQUIRE(rig.backend->send_frame(next));
    CHECK(rig.driver.events(2) == next);
    CHECK_FALSE(rig.driver.next_event(true, 200));
}

TEST_CASE("A guest that stops reading input costs only its own frames", "[input-hostile]") {
    TestEventLoop loop;
    InputRig stalled(loop, keyboard_profile(), 64);
    InputRig healthy(loop, keyboard_profile(), 64);
    stalled.start();
    healthy.start();
    // The stalled guest has its four buffers filled and never returns them.
    for (int i = 0; i < 5'000; ++i) {
        std::vector<InputEvent> press{{EV_KEY, KEY_A, i % 2 == 0 ? 1 : 0}, syn};
        stalled.backend->send_frame(press);
        REQUIRE(stalled.backend->queued_events() <= 64);
        if (i % 100 == 0) {
            REQUIRE(healthy.backend->send_frame(press));
            CHECK(healthy.driver.events(2) == press);
        }
    }
    // The last word: KEY_A held down, and shift pressed and released again.
    stalled.backend->send_frame(std::vector<InputEvent>{{EV_KEY, KEY_A, 1}, syn});
    stalled.backend->send_frame(std::vector<InputEvent>{{EV_KEY, KEY_LEFTSHIFT, 1}, syn});
    stalled.backend->send_frame(std::vector<InputEvent>{{EV_KEY, KEY_LEFTSHIFT, 0}, syn});
    CHECK(stalled.backend->fifo_stats().frames_dropped > 4'900);
    CHECK(healthy.backend->fifo_stats().frames_dropped == 0);
    CHECK(stalled.backend->connected());

    // When it reads again it is caught up: KEY_A down and shift up, as they are on the host.
    std::vector<InputEvent> seen;
    while (auto event = stalled.driver.next_event(true, 500)) {
        seen.push_back(*event);
    }
    EvdevState guest;
    guest.apply(seen);
    CHECK(guest.key_down(KEY_A));
    CHECK_FALSE(guest.key_down(KEY_LEFTSHIFT));
    CHECK(seen.back() == syn);
    CHECK(stalled.backend->fifo_stats().resyncs == 1);
}

TEST_CASE("Garbage from the guest: config writes, status buffers, ring violations",
          "[input-hostile]") {
    TestEventLoop loop;
    InputRig rig(loop, keyboard_profile());
    rig.start();

    SECTION("SET_CONFIG outside the struct is refused, the device keeps going") {
        std::vector<std::byte> junk(300, std::byte{0xee});
        ByteWriter w;
        w.u32(100).u32(100).u32(0).bytes(std::span(junk).first(100));
        REQUIRE(rig.frontend.send(RequestCode::set_config, w.data(), {},
                                  vhost::flag_version | vhost::flag_need_reply));
        CHECK(rig.frontend.expect_ack(RequestCode::set_config, false));
        auto name = rig.driver.query(static_cast<uint8_t>(ConfigSelect::id_name), 0);
        REQUIRE(name);
        CHECK(name->size() == std::string("tessera keyboard").size());
        // Garbage inside the struct selects nothing known: size 0.
        REQUIRE(rig.frontend.set_config(0, std::span(junk).first(config_size)));
        auto config = rig.frontend.get_config(0, config_size);
        REQUIRE(config);
        CHECK((*config)[2] == std::byte{0});
    }
    SECTION("Status buffers too short, write-only or of unknown events are returned") {
        REQUIRE(rig.frontend.submit(InputDriver::status_queue, {{std::byte{1}, std::byte{2}}}, {}));
        REQUIRE(rig.frontend.submit(InputDriver::status_queue, {}, {8}));
        rig.frontend.kick(InputDriver::status_queue);
        CHECK(rig.frontend.wait_used(InputDriver::status_queue));
        CHECK(rig.frontend.wait_used(InputDriver::status_queue));
        REQUIRE(rig.driver.send_status({EV_LED, 31, 1}));      // an LED it does not have
        REQUIRE(rig.driver.send_status({0xffff, 0xffff, -1})); // no such event
        CHECK(rig.backend->stats().status_garbage == 2);
        CHECK(rig.leds.empty());
        CHECK(rig.backend->running());
    }
    SECTION("An event buffer smaller than an event stops the device (level 2)") {
        rig.frontend.take_errors(InputDriver::event_queue);
        // Two events into two good buffers, read and not posted again; a 4-byte buffer in
        // their place. The next two events fill the other good buffers, the third the bad one.
        std::vector<InputEvent> press{{EV_KEY, KEY_A, 1}, syn};
        std::vector<InputEvent> release{{EV_KEY, KEY_A, 0}, syn};
        REQUIRE(rig.backend->send_frame(press));
        REQUIRE(rig.driver.next_event(false));
        REQUIRE(rig.driver.next_event(false));
        REQUIRE(rig.driver.post_event_buffers(1, 4));
        REQUIRE(rig.backend->send_frame(release));
        CHECK(rig.backend->stats().device_failures == 0);
        rig.backend->send_frame(press);
        CHECK(rig.backend->stats().device_failures == 1);
        CHECK_FALSE(rig.backend->running());
        CHECK(rig.frontend.take_errors(InputDriver::event_queue) > 0);
        CHECK(rig.backend->connected()); // the connection stays; the frontend restarts it
    }
    SECTION("An avail index far ahead stops the device, the connection stays") {
        rig.frontend.set_avail_idx(InputDriver::event_queue, 1000);
        rig.backend->send_frame(std::vector<InputEvent>{{EV_KEY, KEY_A, 1}, syn});
        CHECK(rig.backend->stats().device_failures == 1);
        CHECK_FALSE(rig.backend->running());
        CHECK(rig.backend->connected());
        CHECK(rig.backend->queued_events() == 0);
    }
    SECTION("VHOST_USER_GPU_SET_SOCKET to an input device is refused") {
        int pair[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        UniqueFd a(pair[0]), b(pair[1]);
        std::array<int, 1> fds{b.get()};
        REQUIRE(rig.frontend.send(RequestCode::gpu_set_socket, {}, fds,
                                  vhost::flag_version | vhost::flag_need_reply));
        CHECK(rig.frontend.expect_ack(RequestCode::gpu_set_socket, false));
        CHECK(rig.backend->connection()->gpu_socket() < 0);
        CHECK(rig.backend->running());
    }
    CHECK_FALSE(rig.disconnected);
}
