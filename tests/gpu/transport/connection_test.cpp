#include <catch2/catch_test_macros.hpp>

#include <sys/eventfd.h>

#include <chrono>
#include <string>
#include <vector>

#include "gpu-backend/base/bytes.hpp"
#include "gpu-backend/vhost_user/vhost_log.hpp"
#include "harness.hpp"
#include "gpu-backend/base/log.hpp"

using namespace tessera;
using namespace tessera::gpu;
using namespace tessera::gpu::test;
using vhost::RequestCode;

TEST_CASE("QEMU 10's startup sequence starts both queues", "[vhost-connection]") {
    Harness h({}, gpu_model(2, gpu_feature::edid));
    REQUIRE(h.frontend.negotiate());
    // Negotiation alone starts nothing.
    CHECK(h.ready.empty());
    uint64_t offered = h.frontend.backend_features();
    CHECK(offered & feature::version_1);
    CHECK(offered & feature::ring_indirect_desc);
    CHECK(offered & feature::ring_event_idx);
    CHECK(offered & feature::protocol_features);
    CHECK(offered & gpu_feature::edid);
    CHECK_FALSE(offered & feature::ring_packed);
    uint64_t protocol = h.frontend.protocol_features();
    CHECK(protocol == (protocol_feature::reply_ack | protocol_feature::backend_req |
                       protocol_feature::config | protocol_feature::reset_device));

    REQUIRE(h.frontend.driver_ok());
    CHECK(h.ready == std::vector<unsigned>{0, 1});
    CHECK(h.connection->is_open());
    CHECK_FALSE(h.closed);
    REQUIRE(h.connection->queue(0));
    REQUIRE(h.connection->queue(1));
    CHECK(h.connection->queue(0)->size() == 256);
    CHECK(h.connection->queue(0)->config().event_idx);
    CHECK(h.connection->acked_features() & feature::ring_reset); // taken though not offered
    CHECK(h.connection->acked_protocol_features() == protocol);
    CHECK(h.connection->memory());
    CHECK(h.connection->gpu_socket() >= 0);
    for (unsigned q = 0; q < 2; ++q) {
        const auto& vring = h.connection->vring(q);
        CHECK(vring.kick.valid());
        CHECK(vring.call.valid());
        CHECK(vring.err.valid());
        CHECK(vring.enabled);
    }
    // The socket and two kick fds.
    CHECK(h.loop.watch_count() == 3);
    CHECK(h.loop.stale_fds() == 0);
}

TEST_CASE("A config change reaches the frontend on the backend channel", "[vhost-connection]") {
    SECTION("the channel QEMU hands over") {
        Harness h;
        REQUIRE(h.frontend.start());
        h.loop.run_until_idle();
        CHECK(h.frontend.backend_requests().empty());
        CHECK(h.connection->notify_config_change());
        CHECK(h.connection->notify_config_change());
        CHECK(h.frontend.backend_requests() ==
              std::vector<uint32_t>(2, code(vhost::BackendRequestCode::config_change)));
    }
    SECTION("no channel: nothing to say it on") {
        FrontendOptions options;
        options.backend_channel = false;
        Harness h(options);
        REQUIRE(h.frontend.start());
        CHECK_FALSE(h.connection->notify_config_change());
    }
    SECTION("a channel that is not a socket closes the connection") {
        Harness h;
        REQUIRE(h.frontend.start());
        UniqueFd event(eventfd(0, EFD_CLOEXEC));
        std::array<int, 1> fds{event.get()};
        h.frontend.send(RequestCode::set_backend_req_fd, {}, fds);
        h.loop.run_until_idle();
        CHECK_FALSE(h.connection->is_open());
        REQUIRE(h.closed);
        CHECK(h.closed->find("not a socket") != std::string::npos);
        CHECK_FALSE(h.connection->notify_config_change());
    }
    SECTION("a frontend that does not read its channel loses notices, nothing else") {
        Harness h;
        REQUIRE(h.frontend.start());
        int sent = 0;
        while (h.connection->notify_config_change() && sent < 1'000'000) {
            ++sent;
        }
        CHECK(sent > 0);
        CHECK(sent < 1'000'000); // the socket buffer filled: refused, not blocked
        CHECK(h.connection->is_open());
    }
}

TEST_CASE("GET_QUEUE_NUM and GET_CONFIG describe a 2D virtio-gpu", "[vhost-connection]") {
    Harness h({}, gpu_model(3));
    CHECK(h.frontend.get_u64(RequestCode::get_queue_num) == 2);
    auto config = h.frontend.get_config(0, 16);
    REQUIRE(config);
    CHECK(load_le<uint32_t>(config->data()) == 0);      // events_read
    CHECK(load_le<uint32_t>(config->data() + 4) == 0);  // events_clear
    CHECK(load_le<uint32_t>(config->data() + 8) == 3);  // num_scanouts
    CHECK(load_le<uint32_t>(config->data() + 12) == 0); // num_capsets
    auto part = h.frontend.get_config(8, 4);
    REQUIRE(part);
    CHECK(load_le<uint32_t>(part->data()) == 3);
    // Outside the config space: an empty reply, which QEMU takes as an error.
    CHECK_FALSE(h.frontend.get_config(12, 8));
    CHECK(h.connection->is_open());
    // SET_CONFIG inside the space is accepted and changes nothing; outside it is refused.
    ByteWriter w;
    w.u32(4).u32(4).u32(0).u32(1);
    REQUIRE(h.frontend.send(RequestCode::set_config, w.data(), {},
                            vhost::flag_version | vhost::flag_need_reply));
    CHECK(h.frontend.expect_ack(RequestCode::set_config));
    CHECK(h.frontend.get_config(8, 4) == part);
    ByteWriter outside;
    outside.u32(16).u32(4).u32(0).u32(1);
    REQUIRE(h.frontend.send(RequestCode::set_config, outside.data(), {},
                            vhost::flag_version | vhost::flag_need_reply));
    CHECK(h.frontend.expect_ack(RequestCode::set_config, /*success=*/false));
    CHECK(h.connection->is_open());
}

TEST_CASE("A kick runs the device, whose answer reaches the driver", "[vhost-connection]") {
    Harness h;
    REQUIRE(h.frontend.start());
    h.frontend.take_calls(0);

    auto head = h.frontend.submit(0, {bytes_of("hello, "), bytes_of("device")}, {8, 8});
    REQUIRE(head);
    h.frontend.kick(0);
    auto used = h.frontend.wait_used(0);
    REQUIRE(used);
    CHECK(used->id == *head);
    CHECK(used->len == 13);
    CHECK(used->data == bytes_of("hello, device"));
    CHECK(h.kicks == std::vector<unsigned>{0});
    CHECK(h.frontend.take_calls(0) == 1);
    CHECK(h.ring_errors.empty());

    // The cursor queue works the same, independently.
    REQUIRE(h.frontend.submit(1, {bytes_of("cursor")}, {16}));
    h.frontend.kick(1);
    auto cursor = h.frontend.wait_used(1);
    REQUIRE(cursor);
    CHECK(cursor->data == bytes_of("cursor"));
    CHECK(h.frontend.take_calls(1) == 1);
    CHECK(h.frontend.take_calls(0) == 0);
}

TEST_CASE("Indirect chains and suppressed interrupts through the connection",
          "[vhost-connection]") {
    Harness h;
    REQUIRE(h.frontend.start());
    h.frontend.take_calls(0);
    auto head = h.frontend.submit(0, {bytes_of("in"), bytes_of("direct")}, {4, 4}, true);
    REQUIRE(head);
    h.frontend.kick(0);
    auto used = h.frontend.wait_used(0);
    REQUIRE(used);
    CHECK(used->id == *head);
    CHECK(used->data == bytes_of("indirect"));
    CHECK(h.frontend.take_calls(0) == 1);

    // The driver does not want an interrupt before used index 100: none comes.
    REQUIRE(h.frontend.submit(0, {bytes_of("quiet")}, {8}));
    h.frontend.set_used_event(0, 100);
    h.frontend.kick(0);
    used = h.frontend.wait_used(0);
    REQUIRE(used);
    CHECK(used->data == bytes_of("quiet"));
    CHECK(h.frontend.take_calls(0) == 0);
    // And the device asked for a kick at its next avail index.
    CHECK(h.frontend.avail_event(0) == 2);
}

TEST_CASE("Shutdown stops the rings, and the guest can start again", "[vhost-connection]") {
    Harness h;
    REQUIRE(h.frontend.start());
    for (int i = 0; i < 3; ++i) {
        REQUIRE(h.frontend.submit(0, {bytes_of("x")}, {4}));
        h.frontend.kick(0);
        REQUIRE(h.frontend.wait_used(0));
    }
    auto bases = h.frontend.stop();
    REQUIRE(bases);
    CHECK((*bases)[0] == 3);
    CHECK((*bases)[1] == 0);
    CHECK(h.rings_stopped == 1); // once, though both rings stopped
    CHECK_FALSE(h.connection->queue(0));
    CHECK_FALSE(h.connection->queue(1));
    CHECK_FALSE(h.connection->vring(0).kick.valid()); // a stopped ring needs a new kick fd
    CHECK(h.loop.watch_count() == 1);

    // A kick on the old fd does nothing now.
    REQUIRE(h.frontend.submit(0, {bytes_of("late")}, {4}));
    h.frontend.kick(0);
    h.loop.run_until_idle();
    CHECK(h.kicks.size() == 3);

    // The whole sequence again, as a guest re-initialising the device; the ring resumes at
    // the base it was given.
    h.ready.clear();
    REQUIRE(h.frontend.start());
    CHECK(h.ready == std::vector<unsigned>{0, 1});
    h.frontend.kick(0);
    auto used = h.frontend.wait_used(0);
    REQUIRE(used);
    CHECK(used->data == bytes_of("late"));
    CHECK(h.loop.stale_fds() == 0);
}

TEST_CASE("REPLY_ACK answers requests that asked for it", "[vhost-connection]") {
    Harness h;
    REQUIRE(h.frontend.negotiate());
    CHECK(h.frontend.set_vring_state(RequestCode::set_vring_num, 0, 128, true));
    CHECK(h.frontend.set_vring_state(RequestCode::set_vring_enable, 0, 0, true));
    CHECK(h.frontend.set_mem_table(true));
    // Unknown requests are ignored, and answered with an error when a reply is wanted.
    std::vector<std::byte> payload(8);
    REQUIRE(h.frontend.send(static_cast<RequestCode>(40), payload, {},
                            vhost::flag_version | vhost::flag_need_reply));
    auto reply = h.frontend.read_reply();
    REQUIRE(reply);
    CHECK(reply->header.request == 40);
    CHECK(load_le<uint64_t>(reply->payload.data()) != 0);
    REQUIRE(h.frontend.send(static_cast<RequestCode>(41), payload));
    CHECK(h.connection->is_open());
    CHECK(h.frontend.get_u64(RequestCode::get_queue_num) == 2);
}

TEST_CASE("A new memory table while running keeps the queues and in-flight chains",
          "[vhost-connection]") {
    Harness h;
    REQUIRE(h.frontend.start());
    h.process_on_kick = false;
    REQUIRE(h.frontend.submit(0, {bytes_of("before")}, {8}));
    h.frontend.kick(0);
    h.loop.run_until_idle();
    auto chain = h.connection->queue(0)->pop();
    REQUIRE(chain);
    REQUIRE(*chain);
    auto old_memory = h.connection->memory();

    REQUIRE(h.frontend.set_mem_table(true));
    CHECK(h.connection->memory() != old_memory);
    CHECK(h.ready == std::vector<unsigned>{0, 1}); // not restarted
    // The chain popped from the old table is still valid and goes back on the same queue.
    CHECK((*chain)->memory() == old_memory);
    ChainWriter writer(**chain);
    writer.write(bytes_of("after"));
    REQUIRE(h.connection->queue(0)->push(**chain, 5));
    auto used = h.frontend.wait_used(0);
    REQUIRE(used);
    CHECK(used->data == bytes_of("after"));
}

TEST_CASE("RESET_DEVICE and disconnection drop the rings", "[vhost-connection]") {
    SECTION("reset") {
        Harness h;
        REQUIRE(h.frontend.start());
        REQUIRE(h.frontend.send(RequestCode::reset_device, {}, {},
                                vhost::flag_version | vhost::flag_need_reply));
        CHECK(h.frontend.expect_ack(RequestCode::reset_device));
        CHECK(h.rings_stopped == 1);
        CHECK_FALSE(h.connection->queue(0));
        CHECK(h.connection->vring(0).num == 0);
        CHECK_FALSE(h.connection->vring(1).call.valid());
        CHECK(h.connection->is_open());
        CHECK(h.loop.watch_count() == 1);
        h.ready.clear();
        REQUIRE(h.frontend.start());
        CHECK(h.ready == std::vector<unsigned>{0, 1});
    }
    SECTION("RESET_OWNER does the same") {
        Harness h;
        REQUIRE(h.frontend.start());
        REQUIRE(h.frontend.send(RequestCode::reset_owner));
        CHECK(h.rings_stopped == 1);
        CHECK_FALSE(h.connection->queue(1));
    }
    SECTION("disconnect") {
        static std::vector<std::string> warnings;
        warnings.clear();
        log::set_sink([](std::string_view line) {
            if (line.find("warn") != std::string_view::npos) {
                warnings.emplace_back(line);
            }
        });
        Harness h;
        REQUIRE(h.frontend.start());
        h.frontend.close_socket();
        h.loop.run_until_idle();
        log::set_sink(nullptr);
        REQUIRE(h.closed);
        CHECK(*h.closed == "the frontend closed the connection");
        CHECK(warnings.empty()); // a VMM that ends its connection normally is no warning
        CHECK(h.rings_stopped == 1);
        CHECK_FALSE(h.connection->is_open());
        CHECK_FALSE(h.connection->memory());
        CHECK(h.loop.watch_count() == 0);
        CHECK(h.loop.stale_fds() == 0);
    }
}

TEST_CASE("Without protocol features a kick fd starts the ring", "[vhost-connection]") {
    FrontendOptions options;
    options.features = feature::version_1; // no VHOST_USER_F_PROTOCOL_FEATURES
    Harness h(options);
    REQUIRE(h.frontend.set_u64(RequestCode::set_features, options.features));
    REQUIRE(h.frontend.set_mem_table(false));
    REQUIRE(h.frontend.set_vring_state(RequestCode::set_vring_num, 0, 256));
    REQUIRE(h.frontend.set_vring_addr(0));
    CHECK(h.ready.empty());
    auto kick = UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    REQUIRE(h.frontend.set_vring_fd(RequestCode::set_vring_kick, 0, kick.get()));
    CHECK(h.ready == std::vector<unsigned>{0});
    CHECK_FALSE(h.connection->queue(0)->config().event_idx);
}

TEST_CASE("The owner may destroy the connection from its callbacks", "[vhost-connection]") {
    SECTION("on_closed") {
        Harness h;
        REQUIRE(h.frontend.start());
        bool destroyed = false;
        ConnectionCallbacks callbacks;
        callbacks.add_fd = h.loop.add_fd_callback();
        callbacks.remove_fd = h.loop.remove_fd_callback();
        // A second connection on the same loop whose on_closed destroys it.
        TestEventLoop& loop = h.loop;
        Frontend other(loop);
        std::unique_ptr<Connection> victim;
        callbacks.on_closed = [&](std::string_view) {
            victim.reset();
            destroyed = true;
        };
        victim = std::make_unique<Connection>(other.take_backend_socket(), callbacks, gpu_model());
        REQUIRE(other.start());
        other.close_socket();
        loop.run_until_idle();
        CHECK(destroyed);
        CHECK(loop.watch_count() == 3); // only h's connection is left
        CHECK(loop.stale_fds() == 0);
    }
    SECTION("on_kick") {
        Harness h;
        REQUIRE(h.frontend.start());
        bool destroyed = false;
        // A second connection on the same loop whose kick handler drops it.
        TestEventLoop& loop = h.loop;
        Frontend other(loop);
        std::unique_ptr<Connection> victim;
        ConnectionCallbacks callbacks;
        callbacks.add_fd = loop.add_fd_callback();
        callbacks.remove_fd = loop.remove_fd_callback();
        callbacks.on_kick = [&](unsigned) {
            victim.reset();
            destroyed = true;
        };
        victim = std::make_unique<Connection>(other.take_backend_socket(), callbacks, gpu_model());
        REQUIRE(other.start());
        REQUIRE(other.submit(0, {bytes_of("x")}, {1}));
        other.kick(0);
        loop.run_until_idle();
        CHECK(destroyed);
        CHECK(loop.watch_count() == 3);
        CHECK(loop.stale_fds() == 0);
    }
}

TEST_CASE("Connections leave no fd behind", "[vhost-connection]") {
    size_t before = open_fd_count();
    {
        Harness h;
        REQUIRE(h.frontend.start());
        REQUIRE(h.frontend.submit(0, {bytes_of("x")}, {4}));
        h.frontend.kick(0);
        REQUIRE(h.frontend.wait_used(0));
        REQUIRE(h.frontend.stop());
        REQUIRE(h.frontend.start());
    }
    CHECK(open_fd_count() == before);
}

TEST_CASE("A connection without an event loop, socket or queues starts closed",
          "[vhost-connection]") {
    TestEventLoop loop;
    Frontend frontend(loop);
    Connection no_loop(frontend.take_backend_socket(), {}, gpu_model());
    CHECK_FALSE(no_loop.is_open());
    ConnectionCallbacks callbacks;
    callbacks.add_fd = loop.add_fd_callback();
    callbacks.remove_fd = loop.remove_fd_callback();
    Connection no_socket(UniqueFd(), callbacks, gpu_model());
    CHECK_FALSE(no_socket.is_open());
    for (unsigned queues : {0U, Connection::max_queues + 1}) {
        Frontend other(loop);
        auto model = gpu_model();
        model.queue_count = queues;
        Connection no_queues(other.take_backend_socket(), callbacks, model);
        CHECK_FALSE(no_queues.is_open());
    }
    CHECK(loop.watch_count() == 0);
    CHECK_FALSE(no_socket.notify(0));
    CHECK_FALSE(no_socket.queue(5));
}
