#include "fake_guest_ram.hpp"

#include "gpu-backend/virtio_gpu/backing.hpp"

#include <catch2/catch_test_macros.hpp>

#include <array>
#include <numeric>

using namespace tessera::gpu;
using tessera::gpu::test::FakeGuestRam;

namespace {

constexpr uint64_t big = uint64_t{1} << 40;

std::vector<std::byte> counting(size_t n, uint8_t start = 0) {
    std::vector<std::byte> v(n);
    for (size_t i = 0; i < n; ++i) {
        v[i] = static_cast<std::byte>(start + i);
    }
    return v;
}

} // namespace

TEST_CASE("backing merges adjacent entries and skips empty ones", "[backing]") {
    FakeGuestRam ram;
    ram.add_region(0x10000, 0x10000);
    std::array<proto::MemEntry, 5> entries{{
        {0x10000, 0x1000},
        {0x11000, 0x1000}, // adjacent: merged
        {0x13000, 0},      // empty: skipped
        {0x13000, 0x800},
        {0x12000, 0x1000}, // adjacent in memory but out of order: kept apart
    }};
    auto backing = Backing::create(entries, ram, big);
    REQUIRE(backing);
    REQUIRE(backing->ranges().size() == 3);
    CHECK(backing->ranges()[0].length == 0x2000);
    CHECK(backing->size() == 0x3800);
}

TEST_CASE("backing entries must lie in guest memory", "[backing]") {
    FakeGuestRam ram;
    ram.add_region(0x10000, 0x10000);
    auto check = [&](proto::MemEntry e) {
        std::array entries{proto::MemEntry{0x10000, 0x1000}, e};
        auto b = Backing::create(entries, ram, big);
        REQUIRE_FALSE(b);
        CHECK(b.error() == Backing::Error::outside_guest_ram);
    };
    check({0x0, 0x1000});
    check({0x1f000, 0x1001});               // runs past the end
    check({0xffff'ffff'ffff'f000, 0x2000}); // wraps
    check({0x20000, 1});
}

TEST_CASE("backing total length is capped", "[backing]") {
    FakeGuestRam ram;
    ram.add_region(0, 0x10000);
    std::vector<proto::MemEntry> entries(16, {0, 0x10000}); // the same memory 16 times
    auto b = Backing::create(entries, ram, 0x80000);
    REQUIRE_FALSE(b);
    CHECK(b.error() == Backing::Error::too_large);
    entries.resize(8);
    CHECK(Backing::create(entries, ram, 0x80000));
}

TEST_CASE("backing reads across entries and memory regions", "[backing]") {
    FakeGuestRam ram;
    ram.add_region(0x10000, 0x1000).add_region(0x11000, 0x1000).add_region(0x40000, 0x1000);
    // Entry 0 crosses from region one into region two; entry 1 elsewhere.
    std::array<proto::MemEntry, 2> entries{{{0x10f00, 0x200}, {0x40000, 0x100}}};
    auto data = counting(0x300);
    ram.write(0x10f00, std::span(data).first(0x200));
    ram.write(0x40000, std::span(data).subspan(0x200));
    auto backing = Backing::create(entries, ram, big).value();

    std::vector<std::byte> out(0x300);
    REQUIRE(backing.read(ram, 0, out));
    CHECK(out == data);

    std::vector<std::byte> middle(0x20);
    REQUIRE(backing.read(ram, 0x1f0, middle));
    CHECK(std::equal(middle.begin(), middle.end(), data.begin() + 0x1f0));

    CHECK(backing.read(ram, 0x300, std::span<std::byte>{}));
    CHECK_FALSE(backing.read(ram, 0x2f0, middle));                 // past the end
    CHECK_FALSE(backing.read(ram, ~uint64_t{0} - 4, middle));      // offset wraps
    CHECK_FALSE(backing.read(ram, 0x301, std::span<std::byte>{})); // empty, but past the end
}

TEST_CASE("backing is translated again on every read", "[backing]") {
    FakeGuestRam before;
    before.add_region(0x10000, 0x1000);
    std::array<proto::MemEntry, 1> entries{{{0x10000, 0x100}}};
    auto backing = Backing::create(entries, before, big).value();

    FakeGuestRam after; // a new memory table: same addresses, other memory
    after.add_region(0x10000, 0x1000);
    after.fill(0x10000, 0x100, std::byte{0x5a});
    std::vector<std::byte> out(0x100);
    REQUIRE(backing.read(after, 0, out));
    CHECK(out[0x80] == std::byte{0x5a});

    FakeGuestRam shrunk; // and one without that memory
    shrunk.add_region(0x20000, 0x1000);
    CHECK_FALSE(backing.read(shrunk, 0, out));
}
