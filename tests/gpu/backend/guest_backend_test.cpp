#include <catch2/catch_test_macros.hpp>

#include "frontend.hpp"
#include "gpu-backend/backend/driver_progress.hpp"
#include "gpu-backend/backend/guest_backend.hpp"
#include "gpu-backend/base/bytes.hpp"
#include "gpu-backend/vhost_user/message.hpp"
#include "gpu-backend/virtqueue/split_queue.hpp"
#include "guest_driver.hpp"
#include "test_loop.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

// The transport and the device model joined: a Frontend playing QEMU and a GuestDriver playing
// the Linux driver against one GuestBackend, all on one TestEventLoop.
using namespace tessera;
using namespace tessera::gpu;
using namespace tessera::gpu::test;

namespace {

struct BackendRig {
    TestEventLoop loop;
    Frontend frontend;
    GuestDriver driver{frontend};
    std::unique_ptr<GuestBackend> backend;

    struct Shown {
        uint32_t scanout;
        uint32_t resource_id; // 0: nothing
    };
    std::vector<Shown> scanouts;
    std::vector<uint32_t> flushed_pixel; // the first pixel of each flushed resource
    std::vector<Cursor> cursors;
    std::optional<std::string> disconnected;

    explicit BackendRig(FrontendOptions options = {}) : frontend(loop, std::move(options)) {
        DeviceConfig config{{{640, 480, 60'000}, {800, 600, 60'000}}, {}};
        BackendCallbacks callbacks;
        callbacks.add_fd = loop.add_fd_callback();
        callbacks.remove_fd = loop.remove_fd_callback();
        callbacks.device.on_scanout = [this](uint32_t s, const Resource* r, const ScanoutImage&) {
            scanouts.push_back({s, r ? r->id() : 0});
        };
        callbacks.device.on_flush = [this](uint32_t, const Resource& r, proto::Rect) {
            // A Linux-like guest's framebuffer is shown from its memory, mapped.
            REQUIRE(r.mapped_memory);
            flushed_pixel.push_back(load_le<uint32_t>(r.mapped_memory->bytes().data()));
        };
        callbacks.device.on_cursor = [this](uint32_t, const Cursor& c, bool) {
            cursors.push_back(c);
        };
        callbacks.on_disconnected = [this](std::string_view why) {
            disconnected = std::string(why);
        };
        backend = std::make_unique<GuestBackend>(frontend.take_backend_socket(), config,
                                                 std::move(callbacks));
    }
};

} // namespace

TEST_CASE("A guest's page flips reach the compositor's callbacks", "[guest-backend]") {
    BackendRig rig;
    REQUIRE(rig.frontend.start());
    CHECK(rig.backend->running());

    auto modes = rig.driver.display_info();
    REQUIRE(modes);
    CHECK((*modes)[0].enabled);
    CHECK((*modes)[0].width == 640);
    CHECK((*modes)[1].height == 600);
    CHECK_FALSE((*modes)[2].enabled);

    auto fb = rig.driver.create_framebuffer(640, 480);
    REQUIRE(fb);
    rig.driver.draw(*fb, [](uint32_t, uint32_t) { return 0x00336699u; });
    REQUIRE(rig.driver.flip(0, *fb));
    REQUIRE(rig.scanouts.size() == 1);
    CHECK(rig.scanouts[0].resource_id == fb->id);
    REQUIRE(rig.flushed_pixel.size() == 1);
    CHECK(rig.flushed_pixel[0] == 0x00336699u);

    rig.driver.draw(*fb, [](uint32_t, uint32_t) { return 0x00ff0000u; });
    REQUIRE(rig.driver.flip(0, *fb));
    CHECK(rig.scanouts.size() == 1); // same framebuffer: no new SET_SCANOUT
    CHECK(rig.flushed_pixel.back() == 0x00ff0000u);
    CHECK(rig.backend->stats().requests >= 8);
}

TEST_CASE("UNREF of a framebuffer on screen is answered once it is off screen", "[guest-backend]") {
    BackendRig rig;
    REQUIRE(rig.frontend.start());
    auto fb = rig.driver.create_framebuffer(64, 64);
    REQUIRE(fb);
    REQUIRE(rig.driver.flip(0, *fb));

    auto unref_head = rig.frontend.submit(0, {unref(fb->id)}, {24});
    REQUIRE(unref_head);
    rig.frontend.kick(0);
    CHECK_FALSE(rig.frontend.wait_used(0, 100)); // held while shown
    CHECK(rig.backend->device().pending_responses() == 1);

    auto off_head = rig.frontend.submit(0, {set_scanout(0, 0, {})}, {24});
    REQUIRE(off_head);
    rig.frontend.kick(0);
    auto first = rig.frontend.wait_used(0);
    auto second = rig.frontend.wait_used(0);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->id == *unref_head); // released from inside the SET_SCANOUT
    CHECK(response_type(first->data) == code(proto::Response::ok_nodata));
    CHECK(second->id == *off_head);
    CHECK(rig.backend->device().resource_count() == 0);
    CHECK(rig.frontend.take_calls(0) > 0);
}

TEST_CASE("The guest's cursor requests are answered without response room", "[guest-backend]") {
    BackendRig rig;
    REQUIRE(rig.frontend.start());
    auto image =
        rig.driver.create_framebuffer(64, 64, static_cast<uint32_t>(proto::Format::b8g8r8a8));
    REQUIRE(image);
    rig.driver.draw(*image, [](uint32_t, uint32_t) { return 0xff00ff00u; });
    REQUIRE(rig.driver.ok(transfer(image->id, {0, 0, 64, 64}, 0)));
    REQUIRE(rig.driver.cursor_command(cursor(true, 0, 10, 20, image->id, 1, 2)));
    REQUIRE(rig.driver.cursor_command(cursor(false, 0, 30, 40, 0)));
    REQUIRE(rig.cursors.size() == 2);
    CHECK(rig.cursors[0].visible);
    CHECK(rig.cursors[0].width == 64);
    CHECK(rig.cursors[1].x == 30);
    CHECK(rig.cursors[1].y == 40);
}

TEST_CASE("A guest shutting down clears its scanouts, and it can start again", "[guest-backend]") {
    BackendRig rig;
    REQUIRE(rig.frontend.start());
    auto fb = rig.driver.create_framebuffer(64, 64);
    REQUIRE(fb);
    REQUIRE(rig.driver.flip(1, *fb));
    // An UNREF still held when the rings stop is dropped with them, never answered.
    REQUIRE(rig.frontend.submit(0, {unref(fb->id)}, {24}));
    rig.frontend.kick(0);
    rig.loop.run_until_idle();

    REQUIRE(rig.frontend.stop());
    CHECK(rig.backend->stats().resets == 1);
    REQUIRE(rig.scanouts.size() == 2);
    CHECK(rig.scanouts[1].scanout == 1);
    CHECK(rig.scanouts[1].resource_id == 0);
    CHECK(rig.backend->device().resource_count() == 0);
    CHECK(rig.backend->device().pending_responses() == 0);

    // The guest reboots: fresh rings, a new framebuffer.
    rig.frontend.reset_rings();
    REQUIRE(rig.frontend.driver_ok());
    GuestDriver rebooted(rig.frontend);
    auto again = rebooted.create_framebuffer(64, 64);
    REQUIRE(again);
    REQUIRE(rebooted.flip(1, *again));
    CHECK(rig.scanouts.back().resource_id == again->id);
    CHECK_FALSE(rig.disconnected);
}

TEST_CASE("A ring violation stops the device and takes its scanouts off screen",
          "[guest-backend]") {
    BackendRig rig;
    REQUIRE(rig.frontend.start());
    auto fb = rig.driver.create_framebuffer(64, 64);
    REQUIRE(fb);
    REQUIRE(rig.driver.flip(0, *fb));

    uint64_t buffer = rig.frontend.alloc(16);
    rig.frontend.write_desc(0, 200, {buffer, 4, vring::desc_f_next, 201});
    rig.frontend.write_desc(0, 201, {buffer, 4, vring::desc_f_next, 200});
    rig.frontend.publish(0, 200);
    rig.frontend.kick(0);
    rig.loop.run_until_idle();

    CHECK(rig.backend->stats().device_failures == 1);
    CHECK_FALSE(rig.backend->running());
    CHECK(rig.backend->connected()); // level 2: the connection stays
    CHECK(rig.scanouts.back().resource_id == 0);
    CHECK(rig.frontend.take_errors(0) > 0);
    CHECK_FALSE(rig.disconnected);
}

TEST_CASE("The VMM going away is reported once", "[guest-backend]") {
    BackendRig rig;
    REQUIRE(rig.frontend.start());
    auto fb = rig.driver.create_framebuffer(64, 64);
    REQUIRE(fb);
    REQUIRE(rig.driver.flip(0, *fb));
    rig.frontend.close_socket();
    rig.loop.run_until_idle();
    REQUIRE(rig.disconnected);
    CHECK_FALSE(rig.backend->connected());
    CHECK(rig.scanouts.back().resource_id == 0);
    CHECK(rig.loop.watch_count() == 0);
}

TEST_CASE("Answers the driver has not taken back are seen through its used_event",
          "[guest-backend]") {
    BackendRig rig;
    CHECK_FALSE(rig.backend->unread_answers()); // no ring runs yet
    REQUIRE(rig.frontend.start());
    REQUIRE(rig.driver.display_info()); // asked and taken
    auto taken = rig.backend->unread_answers();
    REQUIRE(taken);
    CHECK(taken->count == 0);

    // Two requests answered while the driver takes nothing (a guest kernel that hangs).
    for (int i = 0; i < 2; ++i) {
        REQUIRE(rig.frontend.submit(0, {get_display_info()}, {512}));
    }
    rig.frontend.kick(0);
    rig.loop.run_until_idle();
    auto waiting = rig.backend->unread_answers();
    REQUIRE(waiting);
    CHECK(waiting->count == 2);
    CHECK(waiting->used_event == taken->used_event);

    // It takes them: its used_event moves past them.
    REQUIRE(rig.frontend.wait_used(0));
    REQUIRE(rig.frontend.wait_used(0));
    auto after = rig.backend->unread_answers();
    REQUIRE(after);
    CHECK(after->count == 0);
    CHECK(after->used_event != taken->used_event);
}

TEST_CASE("Without event-idx the device cannot tell what the driver took", "[guest-backend]") {
    FrontendOptions options;
    options.features &= ~feature::ring_event_idx;
    BackendRig rig(options);
    REQUIRE(rig.frontend.start());
    REQUIRE(rig.driver.display_info());
    CHECK_FALSE(rig.backend->unread_answers());
}

TEST_CASE("A driver is stuck while something waits and it takes nothing", "[driver-progress]") {
    using namespace std::chrono_literals;
    DriverProgress progress;
    const DriverProgress::Clock::time_point t0{10s};
    CHECK(progress.stuck_for(t0) == 0ms);

    progress.observe(false, 7, t0); // nothing waits: an idle guest is never stuck
    CHECK(progress.stuck_for(t0 + 5s) == 0ms);

    progress.observe(true, 7, t0 + 1s); // something waits from here
    CHECK(progress.stuck_for(t0 + 1s) == 0ms);
    progress.observe(true, 7, t0 + 2s);
    CHECK(progress.stuck_for(t0 + 2500ms) == 1500ms);

    progress.observe(true, 8, t0 + 3s); // it took something: counts from there
    CHECK(progress.stuck_for(t0 + 3s) == 0ms);
    CHECK(progress.stuck_for(t0 + 3200ms) == 200ms);

    progress.observe(false, 8, t0 + 4s); // took everything
    CHECK(progress.stuck_for(t0 + 9s) == 0ms);
    CHECK(progress.stuck_for(t0 - 1s) == 0ms); // a clock that went back says nothing
}
