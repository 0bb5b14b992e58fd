#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>

#include <vector>

#include "frontend.hpp"
#include "gpu-backend/base/bytes.hpp"
#include "gpu-backend/virtqueue/split_queue.hpp"
#include "harness.hpp"

using namespace tessera;
using namespace tessera::gpu;
using namespace tessera::gpu::test;

namespace {

std::shared_ptr<const GuestMemory> map_memory(const Frontend& frontend) {
    std::vector<UniqueFd> fds;
    for (size_t i = 0; i < frontend.regions().size(); ++i) {
        fds.emplace_back(fcntl(frontend.memfd(), F_DUPFD_CLOEXEC, 0));
    }
    auto memory = GuestMemory::map(frontend.regions(), std::move(fds));
    REQUIRE(memory.has_value());
    return *memory;
}

QueueConfig config_of(const Frontend& frontend, unsigned q, bool event_idx, uint16_t base = 0) {
    return QueueConfig{frontend.queue_size(q), base, event_idx};
}

// The ring areas by guest-physical address: the walker takes host memory, whoever located it.
RingAreas areas_of(const GuestRam& memory, const Frontend& frontend, unsigned q) {
    uint64_t n = frontend.queue_size(q);
    auto desc = memory.translate_contiguous(frontend.desc_gpa(q), RingAreas::desc_bytes(n));
    auto avail = memory.translate_contiguous(frontend.avail_gpa(q), RingAreas::avail_bytes(n));
    auto used = memory.translate_contiguous(frontend.used_gpa(q), RingAreas::used_bytes(n));
    REQUIRE(desc);
    REQUIRE(avail);
    REQUIRE(used);
    return RingAreas{*desc, *avail, *used};
}

// A SplitQueue on the frontend's first ring, without any vhost-user connection.
struct Rig {
    TestEventLoop loop;
    Frontend frontend;
    std::shared_ptr<const GuestMemory> memory;
    std::optional<SplitQueue> queue;

    explicit Rig(FrontendOptions options = {}, bool event_idx = true)
        : frontend(loop, std::move(options)), memory(map_memory(frontend)) {
        auto created = SplitQueue::create(memory, areas_of(*memory, frontend, 0),
                                          config_of(frontend, 0, event_idx));
        REQUIRE(created.has_value());
        queue.emplace(std::move(*created));
    }

    DescriptorChain pop_one() {
        auto chain = queue->pop();
        REQUIRE(chain.has_value());
        REQUIRE(chain->has_value());
        return std::move(**chain);
    }
};

// A command header with explicit little-endian fields, as the device model reads it.
struct Header {
    le32 type;
    le32 flags;
    le64 fence_id;
    le32 ctx_id;
    uint8_t ring_idx;
    uint8_t padding[3];
};
static_assert(sizeof(Header) == 24);

} // namespace

TEST_CASE("pop returns nothing on an empty ring", "[virtqueue]") {
    Rig rig;
    auto chain = rig.queue->pop();
    REQUIRE(chain.has_value());
    CHECK_FALSE(chain->has_value());
    // With event-idx, finding it empty asks the driver to kick for the next entry.
    CHECK(rig.frontend.avail_event(0) == 0);
}

TEST_CASE("A chain reads and writes as byte streams across descriptors", "[virtqueue]") {
    Rig rig;
    ByteWriter command;
    command.u32(0x105).u32(1).u64(77).u32(0).u32(0); // a virtio-gpu header
    command.u32(0xabcdef01);
    auto bytes = std::move(command).take();
    // Split at awkward places: 5 + 20 + 3 bytes readable, 4 + 100 writable.
    std::vector<std::vector<std::byte>> readable = {{bytes.begin(), bytes.begin() + 5},
                                                    {bytes.begin() + 5, bytes.begin() + 25},
                                                    {bytes.begin() + 25, bytes.end()}};
    auto head = rig.frontend.submit(0, readable, {4, 100});
    REQUIRE(head);

    auto chain = rig.pop_one();
    CHECK(chain.head() == *head);
    CHECK(chain.readable_size() == 28);
    CHECK(chain.writable_size() == 104);
    CHECK(chain.readable().size() == 3);
    CHECK(chain.writable().size() == 2);

    ChainReader reader(chain);
    auto header = reader.read_obj<Header>();
    REQUIRE(header);
    CHECK(header->type.get() == 0x105);
    CHECK(header->flags.get() == 1);
    CHECK(header->fence_id.get() == 77);
    CHECK(reader.consumed() == 24);
    CHECK(reader.remaining() == 4);
    // Too much: nothing is consumed.
    CHECK_FALSE(reader.read_obj<uint64_t>());
    CHECK(reader.remaining() == 4);
    auto tail = reader.read_obj<le32>();
    REQUIRE(tail);
    CHECK(tail->get() == 0xabcdef01);
    CHECK_FALSE(reader.skip(1));

    ChainWriter writer(chain);
    Header response{};
    response.type = 0x1100;
    response.fence_id = 77;
    CHECK(writer.write_obj(response));
    CHECK(writer.written() == 24);
    CHECK_FALSE(writer.write(std::vector<std::byte>(81)));
    CHECK(writer.written() == 24);
    REQUIRE(rig.queue->push(chain, static_cast<uint32_t>(writer.written())));

    auto used = rig.frontend.wait_used(0);
    REQUIRE(used);
    CHECK(used->id == *head);
    CHECK(used->len == 24);
    CHECK(load_le<uint32_t>(used->data.data()) == 0x1100);
    CHECK(load_le<uint64_t>(used->data.data() + 8) == 77);
    CHECK(rig.queue->in_flight() == 0);
}

TEST_CASE("Indirect descriptor tables are followed", "[virtqueue]") {
    Rig rig;
    auto head = rig.frontend.submit(0, {bytes_of("ind"), bytes_of("irect")}, {3, 5}, true);
    REQUIRE(head);
    auto chain = rig.pop_one();
    CHECK(chain.head() == *head);
    CHECK(chain.readable_size() == 8);
    CHECK(chain.writable_size() == 8);
    REQUIRE(rig.queue->push(chain, echo_chain(chain)));
    auto used = rig.frontend.wait_used(0);
    REQUIRE(used);
    CHECK(used->data == bytes_of("indirect"));
}

TEST_CASE("Buffers split over two memory regions read as one", "[virtqueue]") {
    FrontendOptions options;
    options.regions = {{0, 1 << 20}, {1 << 20, 1 << 20}};
    Rig rig(options);
    // A 64-byte buffer straddling the boundary, another in the second region.
    uint64_t straddle = (1 << 20) - 32;
    rig.frontend.alloc(32, 16, 1); // the part of it in the second region
    std::vector<std::byte> data(64);
    for (size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<std::byte>(i);
    }
    rig.frontend.write(straddle, data);
    uint64_t reply = rig.frontend.alloc(64, 16, 1);
    REQUIRE(rig.frontend.submit_segments(0, {{straddle, 64, false}, {reply, 64, true}}));
    auto chain = rig.pop_one();
    CHECK(chain.readable().size() == 2); // two pieces for one descriptor
    std::vector<std::byte> got(64);
    ChainReader reader(chain);
    REQUIRE(reader.read(got));
    CHECK(got == data);
}

TEST_CASE("Ring indices wrap around at 65536", "[virtqueue]") {
    TestEventLoop loop;
    Frontend frontend(loop, {});
    frontend.set_avail_idx(0, 65530);
    frontend.set_used_idx(0, 65530);
    auto memory = map_memory(frontend);
    auto queue = SplitQueue::create(memory, areas_of(*memory, frontend, 0),
                                    config_of(frontend, 0, true, 65530));
    REQUIRE(queue);
    for (int i = 0; i < 12; ++i) {
        REQUIRE(frontend.submit(0, {bytes_of("w")}, {1}));
        auto chain = queue->pop();
        REQUIRE(chain);
        REQUIRE(*chain);
        REQUIRE(queue->push(**chain, echo_chain(**chain)));
        auto used = frontend.wait_used(0);
        REQUIRE(used);
        CHECK(used->data == bytes_of("w"));
    }
    CHECK(queue->next_avail() == 6);
    CHECK(queue->next_used() == 6);
    CHECK(frontend.used_idx(0) == 6);
}

TEST_CASE("event-idx suppresses notifications the driver did not ask for", "[virtqueue]") {
    Rig rig;
    auto serve = [&] {
        auto chain = rig.pop_one();
        REQUIRE(rig.queue->push(chain, 0));
    };
    // The frontend's submit asks for an interrupt at the next used entry.
    REQUIRE(rig.frontend.submit(0, {bytes_of("a")}, {}));
    serve();
    CHECK(rig.queue->needs_notification());
    CHECK_FALSE(rig.queue->needs_notification()); // nothing new since

    // The driver wants to hear only once the used index passes 10.
    REQUIRE(rig.frontend.submit(0, {bytes_of("b")}, {}));
    REQUIRE(rig.frontend.submit(0, {bytes_of("c")}, {}));
    rig.frontend.set_used_event(0, 10);
    serve();
    serve();
    CHECK_FALSE(rig.queue->needs_notification()); // used idx 3
    for (int i = 0; i < 8; ++i) {
        REQUIRE(rig.frontend.submit(0, {bytes_of("d")}, {}));
        rig.frontend.set_used_event(0, 10);
        serve();
    }
    CHECK(rig.queue->needs_notification()); // used idx went 3 -> 11, past 10

    // After draining the ring the device asks for a kick at the next avail index.
    auto empty = rig.queue->pop();
    REQUIRE(empty);
    CHECK_FALSE(*empty);
    CHECK(rig.frontend.avail_event(0) == rig.queue->next_avail());
    CHECK(rig.queue->next_avail() == 11);
}

TEST_CASE("Without event-idx, VRING_AVAIL_F_NO_INTERRUPT suppresses", "[virtqueue]") {
    Rig rig({}, false);
    REQUIRE(rig.frontend.submit(0, {bytes_of("a")}, {}));
    auto chain = rig.pop_one();
    REQUIRE(rig.queue->push(chain, 0));
    CHECK(rig.queue->needs_notification());

    rig.frontend.set_avail_flags(0, vring::avail_f_no_interrupt);
    REQUIRE(rig.frontend.submit(0, {bytes_of("b")}, {}));
    chain = rig.pop_one();
    REQUIRE(rig.queue->push(chain, 0));
    CHECK_FALSE(rig.queue->needs_notification());
    // avail_event is not touched without event-idx.
    CHECK(rig.frontend.avail_event(0) == 0);
}

TEST_CASE("vring_need_event matches the kernel's", "[virtqueue]") {
    CHECK(vring::need_event(0, 1, 0));
    CHECK_FALSE(vring::need_event(1, 1, 0));
    CHECK(vring::need_event(5, 8, 3));
    CHECK_FALSE(vring::need_event(9, 8, 3));
    CHECK(vring::need_event(65535, 2, 65534)); // across the wrap
    CHECK_FALSE(vring::need_event(3, 2, 65534));
}

TEST_CASE("push refuses chains the queue did not hand out", "[virtqueue]") {
    Rig rig;
    REQUIRE(rig.frontend.submit(0, {bytes_of("a")}, {4}));
    auto chain = rig.pop_one();
    CHECK_FALSE(rig.queue->push(chain, 5)); // more than the writable space
    REQUIRE(rig.queue->push(chain, 4));
    CHECK_FALSE(rig.queue->push(chain, 0)); // twice

    // A chain from another queue over the same ring (a restarted one).
    REQUIRE(rig.frontend.submit(0, {bytes_of("b")}, {4}));
    auto other = SplitQueue::create(rig.memory, areas_of(*rig.memory, rig.frontend, 0),
                                    config_of(rig.frontend, 0, true, 1));
    REQUIRE(other);
    auto foreign = other->pop();
    REQUIRE(foreign);
    REQUIRE(*foreign);
    REQUIRE(rig.frontend.submit(0, {bytes_of("c")}, {4}));
    auto own = rig.pop_one();
    CHECK_FALSE(rig.queue->push(**foreign, 0));
    CHECK(rig.queue->push(own, 0));
}

TEST_CASE("rebind moves a queue to a new memory table", "[virtqueue]") {
    Rig rig;
    REQUIRE(rig.frontend.submit(0, {bytes_of("a")}, {4}));
    auto chain = rig.pop_one();
    auto fresh = map_memory(rig.frontend);
    REQUIRE(rig.queue->rebind(fresh, areas_of(*fresh, rig.frontend, 0)));
    CHECK(rig.queue->memory() == fresh);
    CHECK(rig.queue->next_avail() == 1);
    REQUIRE(rig.queue->push(chain, 0)); // popped before the new table

    // Areas too small for the ring refuse, and the queue keeps what it had.
    auto cramped = areas_of(*fresh, rig.frontend, 0);
    cramped.used = cramped.used.first(8);
    CHECK_FALSE(rig.queue->rebind(map_memory(rig.frontend), cramped));
    CHECK(rig.queue->memory() == fresh);
    CHECK_FALSE(rig.queue->rebind(nullptr, areas_of(*fresh, rig.frontend, 0)));
    CHECK(rig.queue->memory() == fresh);
}

TEST_CASE("Queue creation checks size, room and alignment", "[virtqueue]") {
    TestEventLoop loop;
    Frontend frontend(loop, {});
    auto memory = map_memory(frontend);
    auto config = config_of(frontend, 0, true);
    auto areas = areas_of(*memory, frontend, 0);
    for (uint32_t size : {0U, 3U, 100U, 65536U}) {
        auto bad = config;
        bad.size = size;
        CHECK_FALSE(SplitQueue::create(memory, areas, bad));
    }
    for (auto RingAreas::* area : {&RingAreas::desc, &RingAreas::avail, &RingAreas::used}) {
        auto short_one = areas;
        short_one.*area = (areas.*area).first((areas.*area).size() - 1);
        CHECK_FALSE(SplitQueue::create(memory, short_one, config));
    }
    auto misaligned = areas;
    misaligned.used = std::span(areas.used.data() + 2, areas.used.size()); // still in the RAM
    CHECK_FALSE(SplitQueue::create(memory, misaligned, config));
    CHECK_FALSE(SplitQueue::create(nullptr, areas, config));
    CHECK(SplitQueue::create(memory, areas, config));
}
