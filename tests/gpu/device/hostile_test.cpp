#include "device_fixture.hpp"

#include "gpu-backend/base/log_limiter.hpp"
#include "gpu-backend/base/log.hpp"

#include <catch2/catch_test_macros.hpp>

#include <array>
#include <limits>
#include <random>
#include <string>

using namespace tessera;
using namespace tessera::gpu;
using namespace tessera::gpu::test;
using proto::Response;

namespace {

constexpr uint32_t ok = code(Response::ok_nodata);
constexpr uint32_t bad_id = code(Response::err_invalid_resource_id);
constexpr uint32_t bad_param = code(Response::err_invalid_parameter);
constexpr uint32_t bad_scanout = code(Response::err_invalid_scanout_id);
constexpr uint32_t unspec = code(Response::err_unspec);
constexpr uint32_t oom = code(Response::err_out_of_memory);
constexpr uint32_t u32_max = std::numeric_limits<uint32_t>::max();
constexpr uint64_t u64_max = std::numeric_limits<uint64_t>::max();

std::vector<std::string>& log_lines() {
    static std::vector<std::string> lines;
    return lines;
}

} // namespace

TEST_CASE("hostile: unknown and truncated commands get errors, the device goes on", "[hostile]") {
    GuestFixture g;
    CHECK(g.control(Request(0x1234).take()) == unspec);
    CHECK(g.control(Bytes{}) == unspec);
    CHECK(g.control(Bytes(23, std::byte{0xff})) == unspec);
    for (Bytes full : {create_2d(1, xrgb, 8, 8), set_scanout(0, 1, {0, 0, 8, 8}),
                       transfer(1, {0, 0, 8, 8}, 0), attach(1, {}), get_edid(0)}) {
        for (size_t cut = 24; cut < full.size(); ++cut) {
            CHECK(g.control(Bytes(full.begin(), full.begin() + cut)) == unspec);
        }
    }
    CHECK(g.device.resource_count() == 0);
    CHECK(g.control(create_2d(1, xrgb, 8, 8)) == ok);
    CHECK(g.device.stats().errors == g.device.stats().commands - 1);
}

TEST_CASE("hostile: resource ids that are 0, unknown or taken", "[hostile]") {
    GuestFixture g;
    CHECK(g.control(create_2d(0, xrgb, 8, 8)) == bad_id);
    CHECK(g.control(create_2d(1, xrgb, 8, 8)) == ok);
    CHECK(g.control(create_2d(1, xrgb, 16, 16)) == bad_id);
    CHECK(g.device.find_resource(1)->width() == 8);
    std::array<proto::MemEntry, 1> entries{{{ram_base, 4096}}};
    for (uint32_t id : {0u, 2u, u32_max}) {
        CHECK(g.control(unref(id)) == bad_id);
        CHECK(g.control(set_scanout(0, id, {0, 0, 8, 8})) == (id == 0 ? ok : bad_id));
        CHECK(g.control(flush(id, {0, 0, 8, 8})) == bad_id);
        CHECK(g.control(transfer(id, {0, 0, 8, 8}, 0)) == bad_id);
        CHECK(g.control(attach(id, entries)) == bad_id);
        CHECK(g.control(detach(id)) == bad_id);
        CHECK(g.control(assign_uuid(id)) == bad_id);
    }
}

TEST_CASE("hostile: unknown formats and sizes out of range", "[hostile]") {
    GuestFixture g;
    for (uint32_t format : {0u, 5u, 100u, u32_max}) {
        CHECK(g.control(create_2d(1, format, 8, 8)) == bad_param);
    }
    CHECK(g.control(create_2d(1, xrgb, 0, 8)) == bad_param);
    CHECK(g.control(create_2d(1, xrgb, 8, 0)) == bad_param);
    CHECK(g.control(create_2d(1, xrgb, 16385, 1)) == bad_param);
    CHECK(g.control(create_2d(1, xrgb, 1, u32_max)) == bad_param);
    // Within the dimension limit but over the memory quota (16384^2 * 4 = 1 GiB).
    CHECK(g.control(create_2d(1, xrgb, 16384, 16384)) == oom);
    CHECK(g.device.resource_count() == 0);
}

TEST_CASE("hostile: rectangles outside the resource, wrapping included", "[hostile]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64);
    const std::array<Rect, 7> outside{{
        {0, 0, 65, 64},
        {0, 0, 64, 65},
        {1, 0, 64, 64},
        {65, 0, 0, 0},
        {0xfffffff0, 0, 0x20, 1}, // x + width wraps to 0x10 in 32 bits
        {0, 0xffffffff, 1, 1},
        {0, 1, 1, u32_max},
    }};
    for (const auto& r : outside) {
        CAPTURE(r.x, r.y, r.width, r.height);
        CHECK(g.control(transfer(1, r, 0)) == bad_param);
        CHECK(g.control(flush(1, r)) == bad_param);
        CHECK(g.control(set_scanout(0, 1, r)) == bad_param);
    }
    CHECK(g.control(set_scanout(0, 1, {0, 0, 0, 64})) == bad_param); // empty scanout
    CHECK(g.flushes.empty());
    CHECK(g.scanouts.empty());
}

TEST_CASE("hostile: transfer offsets beyond the backing", "[hostile]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64); // 16 KiB of backing
    for (uint64_t offset :
         {uint64_t{16384}, uint64_t{1}, u64_max, u64_max - 255, uint64_t{1} << 63}) {
        CAPTURE(offset);
        CHECK(g.control(transfer(1, {0, 0, 64, 64}, offset)) == bad_param);
    }
    // The last row's end is what counts: one row at the very end is fine, one byte more not.
    CHECK(g.control(transfer(1, {0, 0, 64, 1}, 16384 - 256)) == ok);
    CHECK(g.control(transfer(1, {0, 0, 64, 1}, 16384 - 255)) == bad_param);
    CHECK(g.control(transfer(1, {0, 63, 64, 1}, 16384 - 256)) == ok);
    CHECK(g.control(transfer(1, {0, 0, 1, 64}, 16384 - 64 * 256)) == ok);
    CHECK(g.control(transfer(1, {0, 0, 1, 64}, 16384 - 63 * 256 - 3)) == bad_param);

    // Backing shorter than the resource: transfers must stay inside it.
    REQUIRE(g.control(create_2d(2, xrgb, 64, 64)) == ok);
    std::array<proto::MemEntry, 1> small{{{ram_base, 1024}}};
    REQUIRE(g.control(attach(2, small)) == ok);
    CHECK(g.control(transfer(2, {0, 0, 64, 4}, 0)) == ok);
    CHECK(g.control(transfer(2, {0, 0, 64, 5}, 0)) == bad_param);
}

TEST_CASE("hostile: backing outside guest memory, too many or too long entries", "[hostile]") {
    GuestFixture g;
    REQUIRE(g.control(create_2d(1, xrgb, 64, 64)) == ok);
    auto attach_one = [&](uint64_t addr, uint32_t length) {
        std::array<proto::MemEntry, 2> entries{{{ram_base, 4096}, {addr, length}}};
        return g.control(attach(1, entries));
    };
    CHECK(attach_one(0, 4096) == unspec);
    CHECK(attach_one(ram_base + ram_size - 4096, 4097) == unspec);
    CHECK(attach_one(u64_max - 100, 4096) == unspec);
    CHECK(attach_one(ram_base + ram_size, 1) == unspec);
    CHECK_FALSE(g.device.find_resource(1)->backing.has_value());

    std::vector<proto::MemEntry> many(proto::max_backing_entries + 1, {ram_base, 4096});
    CHECK(g.control(attach(1, many)) == bad_param);

    // Within the entry cap, the same memory many times over passes the byte cap.
    GuestFixture capped(two_scanouts({.max_resource_bytes = 1 << 20}));
    REQUIRE(capped.control(create_2d(1, xrgb, 64, 64)) == ok);
    std::vector<proto::MemEntry> repeated(300, {ram_base, 4096}); // 1.2 MiB
    CHECK(capped.control(attach(1, repeated)) == bad_param);
    repeated.resize(200);
    CHECK(capped.control(attach(1, repeated)) == ok);
}

TEST_CASE("hostile: quotas on resource count, pixel memory and backing ranges", "[hostile]") {
    SECTION("count") {
        GuestFixture g(two_scanouts({.max_resources = 4}));
        for (uint32_t id = 1; id <= 4; ++id) {
            CHECK(g.control(create_2d(id, xrgb, 8, 8)) == ok);
        }
        CHECK(g.control(create_2d(5, xrgb, 8, 8)) == oom);
        CHECK(g.control(unref(2)) == ok);
        CHECK(g.control(create_2d(5, xrgb, 8, 8)) == ok);
    }
    SECTION("bytes") {
        GuestFixture g(two_scanouts({.max_resource_bytes = 1 << 20}));
        CHECK(g.control(create_2d(1, xrgb, 256, 512)) == ok); // 512 KiB
        CHECK(g.control(create_2d(2, xrgb, 256, 511)) == ok);
        CHECK(g.control(create_2d(3, xrgb, 256, 2)) == oom);
        CHECK(g.control(create_2d(3, xrgb, 256, 1)) == ok);
        CHECK(g.control(unref(1)) == ok);
        CHECK(g.control(create_2d(4, xrgb, 256, 512)) == ok);
    }
    SECTION("backing ranges") {
        GuestFixture g(two_scanouts({.max_backing_ranges = 10}));
        REQUIRE(g.control(create_2d(1, xrgb, 64, 64)) == ok);
        REQUIRE(g.control(create_2d(2, xrgb, 64, 64)) == ok);
        std::vector<proto::MemEntry> scattered;
        for (uint64_t i = 0; i < 6; ++i) {
            scattered.push_back({ram_base + 2 * i * page, static_cast<uint32_t>(page)});
        }
        CHECK(g.control(attach(1, scattered)) == ok);
        CHECK(g.control(attach(2, scattered)) == oom);
        // Adjacent pages merge into one range and fit.
        std::vector<proto::MemEntry> adjacent;
        for (uint64_t i = 0; i < 6; ++i) {
            adjacent.push_back({ram_base + i * page, static_cast<uint32_t>(page)});
        }
        CHECK(g.control(attach(2, adjacent)) == ok);
        CHECK(g.control(detach(1)) == ok);
        CHECK(g.control(unref(2)) == ok);
        CHECK(g.control(attach(1, scattered)) == ok);
    }
}

TEST_CASE("hostile: scanout ids out of range", "[hostile]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64);
    for (uint32_t s : {2u, 16u, u32_max}) {
        CHECK(g.control(set_scanout(s, 1, {0, 0, 64, 64})) == bad_scanout);
        CHECK(g.control(set_scanout(s, 0, {})) == bad_scanout);
        CHECK(g.control(get_edid(s)) == bad_scanout);
        CHECK(g.cursor_queue(cursor(true, s, 0, 0, 1)) == bad_scanout);
        CHECK(g.cursor_queue(cursor(false, s, 0, 0, 0)) == bad_scanout);
    }
}

TEST_CASE("hostile: more than 16 configured scanouts are cut to 16", "[hostile]") {
    GpuDevice device({std::vector<ScanoutConfig>(20, {640, 480, 60'000}), {}});
    CHECK(device.num_scanouts() == 16);
}

TEST_CASE("hostile: random requests never break the device", "[hostile]") {
    GuestFixture g(two_scanouts({.max_resources = 64, .max_resource_bytes = 8 << 20}));
    std::mt19937 random(1234);
    auto pick = [&](uint32_t n) {
        return std::uniform_int_distribution<uint32_t>(0, n - 1)(random);
    };
    // Mostly small ids, sizes and addresses that hit real objects, sometimes anything.
    auto value = [&]() -> uint32_t {
        switch (pick(4)) {
        case 0:
            return pick(4);
        case 1:
            return pick(128);
        case 2:
            return static_cast<uint32_t>(ram_base) + pick(static_cast<uint32_t>(ram_size));
        default:
            return static_cast<uint32_t>(random());
        }
    };
    for (int i = 0; i < 20000; ++i) {
        g.flushes.clear(); // each holds a copy of the pixels
        uint32_t type = pick(10) == 0 ? value() : 0x100 + pick(14);
        if (pick(8) == 0) {
            type = 0x300 + pick(2);
        }
        Request request(type, {pick(4), random(), pick(3), static_cast<uint8_t>(pick(256))});
        uint32_t words = pick(12);
        for (uint32_t w = 0; w < words; ++w) {
            request.u32(value());
        }
        Bytes bytes = request.take();
        if (pick(4) == 0 && !bytes.empty()) {
            bytes.resize(pick(static_cast<uint32_t>(bytes.size())));
        }
        if (type >= 0x300) {
            auto response = g.device.process_cursor(bytes);
            REQUIRE(response.size() == proto::header_size);
        } else if (auto response = g.device.process_control(bytes, i)) {
            REQUIRE(response->size() >= proto::header_size);
            uint32_t t = response_type(*response);
            REQUIRE(((t >= 0x1100 && t <= 0x1105) || (t >= 0x1200 && t <= 0x1205)));
        }
    }
    CHECK(g.device.stats().commands == 20000);
    g.device.reset();
    CHECK(g.device.resource_count() == 0);
}

TEST_CASE("hostile: log lines a guest causes are rate-limited", "[hostile]") {
    log_lines().clear();
    log::set_sink([](std::string_view line) { log_lines().emplace_back(line); });
    GuestFixture g;
    for (int i = 0; i < 1000; ++i) {
        (void)g.device.process_control(unref(99));
    }
    log::set_sink(nullptr);
    CHECK(g.device.stats().errors == 1000);
    CHECK(!log_lines().empty());
    CHECK(log_lines().size() <= 10);
    CHECK(log_lines()[0].find("gpu.cmd") != std::string::npos);
}

namespace {
LogLimiter::Clock::time_point fake_now;
LogLimiter::Clock::time_point fake_clock() {
    return fake_now;
}
} // namespace

TEST_CASE("hostile: the log limiter allows a burst per window and counts the rest", "[hostile]") {
    using namespace std::chrono_literals;
    fake_now = {};
    LogLimiter limiter(2, 1s, &fake_clock);
    uint64_t dropped = 99;
    CHECK(limiter.allow(dropped));
    CHECK(dropped == 0);
    CHECK(limiter.allow(dropped));
    CHECK_FALSE(limiter.allow(dropped));
    CHECK_FALSE(limiter.allow(dropped));
    fake_now += 999ms;
    CHECK_FALSE(limiter.allow(dropped));
    fake_now += 1ms;
    CHECK(limiter.allow(dropped));
    CHECK(dropped == 3);
}
