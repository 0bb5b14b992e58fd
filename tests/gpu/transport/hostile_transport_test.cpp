// A hostile guest or frontend against the transport: ring violations stop the device (failure
// level 2), malformed messages close that one connection (level 1). Nothing crashes, hangs or
// leaks an fd.
#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gpu-backend/base/bytes.hpp"
#include "harness.hpp"

using namespace tessera;
using namespace tessera::gpu;
using namespace tessera::gpu::test;
using vhost::RequestCode;

namespace {

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

// Breaks queue 0's ring, kicks, and checks that the device stopped and nothing else did.
void expect_ring_violation(const std::function<void(Frontend&)>& corrupt, std::string_view reason) {
    Harness h;
    REQUIRE(h.frontend.start());
    corrupt(h.frontend);
    h.frontend.kick(0);
    h.loop.run_until_idle();
    REQUIRE(h.ring_errors.size() == 1);
    CAPTURE(h.ring_errors[0]);
    CHECK(contains(h.ring_errors[0], reason));
    CHECK(h.connection->device_broken());
    CHECK_FALSE(h.connection->queue(0));
    CHECK_FALSE(h.connection->queue(1)); // the whole device stops
    CHECK(h.frontend.take_errors(0) == 1);
    // Further kicks find no queue; the connection itself carries on.
    h.frontend.kick(0);
    h.loop.run_until_idle();
    CHECK(h.ring_errors.size() == 1);
    CHECK(h.connection->is_open());
    CHECK_FALSE(h.closed);
    CHECK(h.frontend.get_u64(RequestCode::get_queue_num) == 2);
    CHECK(h.loop.stale_fds() == 0);
}

// Sends something malformed and checks that the backend closed this connection cleanly.
void expect_closed(const std::function<void(Frontend&)>& send_bad, std::string_view reason) {
    size_t probes_before = open_fds_named("leak-probe");
    {
        Harness h;
        REQUIRE(h.frontend.start());
        send_bad(h.frontend);
        h.loop.run_until_idle();
        CHECK(h.frontend.backend_closed());
        REQUIRE(h.closed);
        CAPTURE(*h.closed);
        CHECK(contains(*h.closed, reason));
        CHECK_FALSE(h.connection->is_open());
        CHECK(h.rings_stopped == 1);
        CHECK(h.loop.watch_count() == 0);
        CHECK(h.loop.stale_fds() == 0);
        // Every fd the backend received is closed already, not only once it is destroyed.
        CHECK(open_fds_named("leak-probe") == probes_before);
    }
}

// An fd that can be recognised in /proc/self/fd.
UniqueFd probe_fd() {
    return UniqueFd(memfd_create("leak-probe", MFD_CLOEXEC));
}

std::vector<std::byte> state(uint32_t index, uint32_t num) {
    ByteWriter w;
    w.u32(index).u32(num);
    return std::move(w).take();
}

std::vector<std::byte> u64(uint64_t value) {
    ByteWriter w;
    w.u64(value);
    return std::move(w).take();
}

} // namespace

TEST_CASE("Looping descriptor chains stop the device", "[hostile-transport]") {
    SECTION("two descriptors pointing at each other") {
        expect_ring_violation(
            [](Frontend& f) {
                uint64_t buf = f.alloc(16);
                f.write_desc(0, 0, {buf, 4, vring::desc_f_next, 1});
                f.write_desc(0, 1, {buf, 4, vring::desc_f_next, 0});
                f.publish(0, 0);
            },
            "loops");
    }
    SECTION("a descriptor pointing at itself") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 7, {f.alloc(16), 4, vring::desc_f_next, 7});
                f.publish(0, 7);
            },
            "loops");
    }
    SECTION("a loop inside an indirect table") {
        expect_ring_violation(
            [](Frontend& f) {
                uint64_t buf = f.alloc(16);
                uint64_t table = f.alloc(32);
                ByteWriter w;
                w.u64(buf).u32(4).u16(vring::desc_f_next).u16(1);
                w.u64(buf).u32(4).u16(vring::desc_f_next).u16(0);
                f.write(table, w.data());
                f.write_desc(0, 0, {table, 32, vring::desc_f_indirect, 0});
                f.publish(0, 0);
            },
            "loops");
    }
}

TEST_CASE("Out-of-range indices stop the device", "[hostile-transport]") {
    SECTION("head index") {
        expect_ring_violation([](Frontend& f) { f.publish(0, 256); }, "head index 256");
    }
    SECTION("next index") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {f.alloc(16), 4, vring::desc_f_next, 300});
                f.publish(0, 0);
            },
            "next index 300");
    }
    SECTION("next index past an indirect table") {
        expect_ring_violation(
            [](Frontend& f) {
                uint64_t buf = f.alloc(16);
                uint64_t table = f.alloc(32);
                ByteWriter w;
                w.u64(buf).u32(4).u16(vring::desc_f_next).u16(2);
                w.u64(buf).u32(4).u16(0).u16(0);
                f.write(table, w.data());
                f.write_desc(0, 0, {table, 32, vring::desc_f_indirect, 0});
                f.publish(0, 0);
            },
            "next index 2");
    }
    SECTION("avail index more than a ring ahead") {
        expect_ring_violation([](Frontend& f) { f.set_avail_idx(0, 257); }, "ahead");
    }
}

TEST_CASE("Buffers outside guest memory stop the device", "[hostile-transport]") {
    SECTION("beyond the end of RAM") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {64 << 20, 16, 0, 0});
                f.publish(0, 0);
            },
            "outside guest memory");
    }
    SECTION("address arithmetic that would wrap") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {~uint64_t{0} - 8, 16, 0, 0});
                f.publish(0, 0);
            },
            "outside guest memory");
    }
    SECTION("a huge length") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {f.alloc(16), 0xffff'ffff, vring::desc_f_write, 0});
                f.publish(0, 0);
            },
            "outside guest memory");
    }
    SECTION("an indirect table outside memory") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {64 << 20, 32, vring::desc_f_indirect, 0});
                f.publish(0, 0);
            },
            "outside guest memory");
    }
}

TEST_CASE("Malformed chains stop the device", "[hostile-transport]") {
    SECTION("readable after writable") {
        expect_ring_violation(
            [](Frontend& f) {
                uint64_t buf = f.alloc(16);
                f.write_desc(0, 0, {buf, 4, vring::desc_f_write | vring::desc_f_next, 1});
                f.write_desc(0, 1, {buf, 4, 0, 0});
                f.publish(0, 0);
            },
            "readable descriptor after a writable one");
    }
    SECTION("indirect table length not a multiple of 16") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {f.alloc(32), 17, vring::desc_f_indirect, 0});
                f.publish(0, 0);
            },
            "indirect table of 17 bytes");
    }
    SECTION("empty indirect table") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {f.alloc(32), 0, vring::desc_f_indirect, 0});
                f.publish(0, 0);
            },
            "indirect table of 0 bytes");
    }
    SECTION("indirect table longer than the queue") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {f.alloc(16 * 257), 16 * 257, vring::desc_f_indirect, 0});
                f.publish(0, 0);
            },
            "indirect table of 4112 bytes");
    }
    SECTION("nested indirect") {
        expect_ring_violation(
            [](Frontend& f) {
                uint64_t table = f.alloc(16);
                ByteWriter w;
                w.u64(table).u32(16).u16(vring::desc_f_indirect).u16(0);
                f.write(table, w.data());
                f.write_desc(0, 0, {table, 16, vring::desc_f_indirect, 0});
                f.publish(0, 0);
            },
            "indirect descriptor inside a chain");
    }
    SECTION("indirect after a direct descriptor") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0, {f.alloc(16), 4, vring::desc_f_next, 1});
                f.write_desc(0, 1, {f.alloc(16), 16, vring::desc_f_indirect, 0});
                f.publish(0, 0);
            },
            "indirect descriptor inside a chain");
    }
    SECTION("indirect with NEXT") {
        expect_ring_violation(
            [](Frontend& f) {
                f.write_desc(0, 0,
                             {f.alloc(16), 16, vring::desc_f_indirect | vring::desc_f_next, 1});
                f.publish(0, 0);
            },
            "indirect descriptor with NEXT");
    }
}

TEST_CASE("A broken device works again after the guest restarts it", "[hostile-transport]") {
    Harness h;
    REQUIRE(h.frontend.start());
    h.frontend.publish(0, 999);
    h.frontend.kick(0);
    h.loop.run_until_idle();
    REQUIRE(h.connection->device_broken());
    auto bases = h.frontend.stop();
    REQUIRE(bases);
    CHECK((*bases)[0] == 0); // the bad entry was never consumed
    CHECK_FALSE(h.connection->device_broken());
    // The guest re-initialises the device with fresh rings.
    h.frontend.reset_rings();
    REQUIRE(h.frontend.start());
    REQUIRE(h.frontend.submit(0, {bytes_of("ok")}, {2}));
    h.frontend.kick(0);
    auto used = h.frontend.wait_used(0);
    REQUIRE(used);
    CHECK(used->data == bytes_of("ok"));
}

TEST_CASE("Malformed messages close the connection", "[hostile-transport]") {
    SECTION("wrong protocol version") {
        expect_closed([](Frontend& f) { f.send(RequestCode::get_features, {}, {}, 2); },
                      "protocol version 2");
    }
    SECTION("a reply sent by the frontend") {
        expect_closed(
            [](Frontend& f) {
                f.send(RequestCode::get_features, {}, {}, vhost::flag_version | vhost::flag_reply);
            },
            "sent a reply");
    }
    SECTION("an oversized payload, refused before it is read") {
        expect_closed(
            [](Frontend& f) {
                ByteWriter w;
                w.u32(vhost::code(RequestCode::set_config)).u32(vhost::flag_version);
                w.u32(1 << 20);
                f.send_raw(w.data());
            },
            "payload of 1048576 bytes");
    }
    SECTION("wrong payload size") {
        expect_closed(
            [](Frontend& f) {
                std::vector<std::byte> four(4);
                f.send(RequestCode::set_vring_num, four);
            },
            "payload of 4 bytes, expected 8");
    }
    SECTION("ring sizes that are not a power of two, zero or too big") {
        for (uint32_t num : {3U, 0U, 65536U}) {
            CAPTURE(num);
            expect_closed([&](Frontend& f) { f.send(RequestCode::set_vring_num, state(0, num)); },
                          "ring size");
        }
    }
    SECTION("a ring the device does not have") {
        expect_closed([](Frontend& f) { f.send(RequestCode::set_vring_num, state(2, 64)); },
                      "ring 2");
        expect_closed(
            [](Frontend& f) {
                auto fd = probe_fd();
                f.set_vring_fd(RequestCode::set_vring_kick, 5, fd.get());
            },
            "ring 5");
    }
    SECTION("a split-ring base above 16 bits") {
        expect_closed([](Frontend& f) { f.send(RequestCode::set_vring_base, state(0, 70000)); },
                      "base 70000");
    }
    SECTION("an enable value other than 0 and 1") {
        expect_closed([](Frontend& f) { f.send(RequestCode::set_vring_enable, state(0, 2)); },
                      "enable value 2");
    }
    SECTION("packed virtqueues") {
        expect_closed(
            [](Frontend& f) {
                f.set_u64(RequestCode::set_features, feature::version_1 | feature::ring_packed);
            },
            "packed");
    }
    SECTION("overlapping memory regions") {
        expect_closed(
            [](Frontend& f) {
                ByteWriter w;
                w.u32(2).u32(0);
                w.u64(0).u64(1 << 20).u64(Frontend::uva_base).u64(0);
                w.u64(4096).u64(1 << 20).u64(Frontend::uva_base).u64(0);
                std::vector<int> fds{f.memfd(), f.memfd()};
                f.send(RequestCode::set_mem_table, w.data(), fds);
            },
            "overlap");
    }
    SECTION("a memory region larger than its fd") {
        expect_closed(
            [](Frontend& f) {
                auto probe = probe_fd();
                REQUIRE(ftruncate(probe.get(), 4096) == 0);
                ByteWriter w;
                w.u32(1).u32(0).u64(0).u64(1 << 20).u64(Frontend::uva_base).u64(0);
                std::vector<int> fds{probe.get()};
                f.send(RequestCode::set_mem_table, w.data(), fds);
            },
            "not at least");
    }
    SECTION("a memory table with a missing fd") {
        expect_closed(
            [](Frontend& f) {
                auto payload = f.mem_table_payload();
                f.send(RequestCode::set_mem_table, payload);
            },
            "0 fds for 1 regions");
    }
    SECTION("an extra fd") {
        expect_closed(
            [](Frontend& f) {
                auto a = probe_fd();
                auto b = probe_fd();
                std::vector<int> fds{a.get(), b.get()};
                f.send(RequestCode::set_vring_call, u64(0), fds);
            },
            "2 fds, expected 1");
    }
    SECTION("more fds than any message carries") {
        expect_closed(
            [](Frontend& f) {
                auto probe = probe_fd();
                std::vector<int> fds(12, probe.get());
                f.send(RequestCode::set_mem_table, f.mem_table_payload(), fds);
            },
            "more than 8 fds");
    }
    SECTION("end of file inside a message") {
        expect_closed(
            [](Frontend& f) {
                auto bytes = vhost::encode(vhost::code(RequestCode::set_vring_num),
                                           vhost::flag_version, state(0, 64));
                f.send_raw(std::span(bytes).first(15));
                f.close_socket();
            },
            "end of file inside a message");
    }
    SECTION("ring addresses outside guest memory") {
        expect_closed(
            [](Frontend& f) {
                ByteWriter w;
                w.u32(0).u32(0).u64(0x1000).u64(0x2000).u64(0x3000).u64(0);
                f.send(RequestCode::set_vring_addr, w.data());
            },
            "ring outside guest memory");
    }
    SECTION("a kick fd that is not an eventfd") {
        expect_closed(
            [](Frontend& f) {
                int pipe_fds[2];
                REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
                UniqueFd read_end(pipe_fds[0]);
                UniqueFd write_end(pipe_fds[1]);
                f.set_vring_fd(RequestCode::set_vring_kick, 0, read_end.get());
                write_end.reset(); // the read end is now readable forever, with nothing in it
            },
            "not an eventfd");
    }
}

TEST_CASE("A malformed message closes only its own connection", "[hostile-transport]") {
    Harness h;
    Frontend other(h.loop);
    std::optional<std::string> other_closed;
    ConnectionCallbacks callbacks;
    callbacks.add_fd = h.loop.add_fd_callback();
    callbacks.remove_fd = h.loop.remove_fd_callback();
    callbacks.on_closed = [&](std::string_view reason) { other_closed = std::string(reason); };
    Connection second(other.take_backend_socket(), callbacks, gpu_model());

    REQUIRE(h.frontend.start());
    REQUIRE(other.start());
    std::vector<std::byte> garbage(12, std::byte{0xff});
    h.frontend.send_raw(garbage);
    CHECK(h.frontend.backend_closed());
    CHECK(h.closed);

    CHECK(second.is_open());
    CHECK_FALSE(other_closed);
    CHECK(other.get_u64(RequestCode::get_queue_num) == 2);
    CHECK(second.queue(0));
}

TEST_CASE("A frontend that never reads its replies is cut off", "[hostile-transport]") {
    Harness h;
    REQUIRE(h.frontend.negotiate());
    auto request = vhost::encode(vhost::code(RequestCode::get_features), vhost::flag_version, {});
    std::vector<std::byte> batch;
    for (int i = 0; i < 256; ++i) {
        batch.insert(batch.end(), request.begin(), request.end());
    }
    for (int round = 0; round < 4000 && !h.closed; ++round) {
        h.frontend.send_raw(batch);
        h.loop.run_until_idle();
    }
    REQUIRE(h.closed);
    CHECK(contains(*h.closed, "reply"));
    CHECK(h.loop.watch_count() == 0);
}

TEST_CASE("A driver cannot make more chains available than the ring holds", "[hostile-transport]") {
    FrontendOptions options;
    options.queue_size = 4;
    Harness h(options);
    REQUIRE(h.frontend.start());
    h.process_on_kick = false;
    // The device holds every chain (as it holds fenced commands until they complete).
    std::vector<DescriptorChain> held;
    for (int i = 0; i < 4; ++i) {
        REQUIRE(h.frontend.submit(0, {bytes_of("x")}, {}));
    }
    for (int i = 0; i < 4; ++i) {
        auto chain = h.connection->queue(0)->pop();
        REQUIRE(chain);
        REQUIRE(*chain);
        held.push_back(std::move(**chain));
    }
    // A fifth entry can only reuse a descriptor that is still in flight.
    h.frontend.publish(0, 0);
    auto fifth = h.connection->queue(0)->pop();
    REQUIRE_FALSE(fifth);
    CHECK(contains(fifth.error().reason, "chains in flight"));
}

namespace {

// An fd of one kind, as a hostile frontend might hand it in any slot.
struct FdKind {
    std::string_view name;
    std::function<UniqueFd()> make;
    bool anon_inode = false; // an eventfd's kind: accepted where an eventfd goes (fd_kind.hpp)
};

std::vector<FdKind> fd_kinds() {
    return {
        {"memfd", [] { return UniqueFd(memfd_create("wrong-kind", MFD_CLOEXEC)); }},
        {"/dev/null", [] { return UniqueFd(open("/dev/null", O_RDWR | O_CLOEXEC)); }},
        {"a directory", [] { return UniqueFd(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); }},
        {"an O_PATH fd", [] { return UniqueFd(open("/", O_PATH | O_CLOEXEC)); }},
        {"a pipe",
         [] {
             int fds[2];
             if (pipe2(fds, O_CLOEXEC) != 0) {
                 return UniqueFd();
             }
             close(fds[1]);
             return UniqueFd(fds[0]);
         }},
        {"a socket", [] { return UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)); }},
        {"an eventfd", [] { return UniqueFd(eventfd(0, EFD_CLOEXEC)); }, true},
        {"an epoll fd", [] { return UniqueFd(epoll_create1(EPOLL_CLOEXEC)); }, true},
        {"a timerfd", [] { return UniqueFd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)); }, true},
    };
}

} // namespace

TEST_CASE("An fd of the wrong kind in any slot closes only that connection",
          "[hostile-transport]") {
    struct Slot {
        std::string_view name;
        std::string_view reason;
        bool wants_eventfd; // else: wants a socket (GPU socket, backend channel) or memory
        bool wants_socket;
        std::function<void(Frontend&, int fd)> send;
    };
    std::vector<Slot> slots = {
        {"kick 0", "SET_VRING_KICK", true, false,
         [](Frontend& f, int fd) { f.set_vring_fd(RequestCode::set_vring_kick, 0, fd); }},
        {"kick 1", "SET_VRING_KICK", true, false,
         [](Frontend& f, int fd) { f.set_vring_fd(RequestCode::set_vring_kick, 1, fd); }},
        {"call 0", "SET_VRING_CALL", true, false,
         [](Frontend& f, int fd) { f.set_vring_fd(RequestCode::set_vring_call, 0, fd); }},
        {"err 1", "SET_VRING_ERR", true, false,
         [](Frontend& f, int fd) { f.set_vring_fd(RequestCode::set_vring_err, 1, fd); }},
        {"backend channel", "SET_BACKEND_REQ_FD", false, true,
         [](Frontend& f, int fd) {
             std::array<int, 1> fds{fd};
             f.send(RequestCode::set_backend_req_fd, {}, fds);
         }},
        {"GPU socket", "GPU_SET_SOCKET", false, true,
         [](Frontend& f, int fd) {
             std::array<int, 1> fds{fd};
             f.send(RequestCode::gpu_set_socket, {}, fds);
         }},
        {"memory table", "SET_MEM_TABLE", false, false,
         [](Frontend& f, int fd) {
             ByteWriter w;
             w.u32(1).u32(0).u64(0).u64(1 << 20).u64(Frontend::uva_base).u64(0);
             std::vector<int> fds{fd};
             f.send(RequestCode::set_mem_table, w.data(), fds);
         }},
    };
    for (const auto& slot : slots) {
        for (const auto& kind : fd_kinds()) {
            bool fits = slot.wants_eventfd  ? kind.anon_inode
                        : slot.wants_socket ? kind.name == "a socket"
                                            : false; // an empty memfd is too small as well
            if (fits) {
                continue;
            }
            DYNAMIC_SECTION(kind.name << " as the " << slot.name) {
                UniqueFd fd = kind.make();
                REQUIRE(fd);
                Harness h;
                Frontend other(h.loop);
                ConnectionCallbacks callbacks;
                callbacks.add_fd = h.loop.add_fd_callback();
                callbacks.remove_fd = h.loop.remove_fd_callback();
                Connection second(other.take_backend_socket(), callbacks, gpu_model());
                REQUIRE(h.frontend.start());
                REQUIRE(other.start());

                slot.send(h.frontend, fd.get());
                h.loop.run_until_idle();
                REQUIRE(h.closed);
                CAPTURE(*h.closed);
                CHECK(contains(*h.closed, slot.reason));
                CHECK_FALSE(h.connection->is_open());
                CHECK(h.frontend.backend_closed());
                CHECK(h.loop.stale_fds() == 0);
                // The other connection carries on.
                CHECK(second.is_open());
                CHECK(other.get_u64(RequestCode::get_queue_num) == 2);
                CHECK(second.queue(0));
            }
        }
    }
}
