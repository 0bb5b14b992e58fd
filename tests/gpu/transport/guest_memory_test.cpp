#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include "frontend.hpp"
#include "gpu-backend/vhost_user/guest_memory.hpp"

using namespace tessera;
using namespace tessera::gpu;
using tessera::gpu::test::fd_is_open;

namespace {

constexpr uint64_t MiB = 1 << 20;
constexpr uint64_t uva = 0x7f55'0000'0000ULL;

// A memfd filled with its own file offsets (as u8 of offset / 16), so any pointer can be
// checked against where it should come from.
struct Ram {
    UniqueFd fd;
    uint64_t size;

    explicit Ram(uint64_t bytes) : fd(memfd_create("tessera-gm-test", MFD_CLOEXEC)), size(bytes) {
        REQUIRE(fd.valid());
        REQUIRE(ftruncate(fd.get(), static_cast<off_t>(bytes)) == 0);
        std::vector<uint8_t> pattern(bytes);
        for (uint64_t i = 0; i < bytes; ++i) {
            pattern[i] = static_cast<uint8_t>(i / 16);
        }
        REQUIRE(pwrite(fd.get(), pattern.data(), bytes, 0) == static_cast<ssize_t>(bytes));
    }
    UniqueFd dup() const { return UniqueFd(fcntl(fd.get(), F_DUPFD_CLOEXEC, 0)); }
    std::vector<UniqueFd> dups(size_t n) const {
        std::vector<UniqueFd> out;
        for (size_t i = 0; i < n; ++i) {
            out.push_back(dup());
        }
        return out;
    }
};

uint8_t expected_at(uint64_t file_offset) {
    return static_cast<uint8_t>(file_offset / 16);
}

size_t mappings_of(const std::string& name) {
    std::ifstream maps("/proc/self/maps");
    size_t count = 0;
    for (std::string line; std::getline(maps, line);) {
        count += line.find(name) != std::string::npos;
    }
    return count;
}

} // namespace

TEST_CASE("GuestMemory translates guest-physical and user addresses", "[guest-memory]") {
    Ram ram(2 * MiB);
    // One region starting 4 KiB into the file (mmap_offset), like a second RAM block.
    MemoryRegion region{0x1000'0000, MiB, uva, 4096};
    auto memory = GuestMemory::map(std::span(&region, 1), ram.dups(1));
    REQUIRE(memory.has_value());
    const auto& m = **memory;

    auto pieces = m.translate(0x1000'0000 + 100, 64);
    REQUIRE(pieces);
    REQUIRE(pieces->size() == 1);
    CHECK((*pieces)[0].size() == 64);
    CHECK(std::to_integer<uint8_t>((*pieces)[0][0]) == expected_at(4096 + 100));

    auto user = m.translate_user(uva + 4096, 16);
    REQUIRE(user);
    CHECK(std::to_integer<uint8_t>((*user)[0]) == expected_at(4096 + 4096));
    // Both views are the same memory: a write through one shows in the other.
    (*pieces)[0][0] = std::byte{0xab};
    CHECK(m.translate_user(uva + 100, 1).value()[0] == std::byte{0xab});

    // Zero-length ranges are empty, not errors.
    CHECK(m.translate(0x1000'0000, 0).value().empty());
    CHECK(m.translate_contiguous(0x1000'0000, 0).has_value());
    // The last byte, and one past it.
    CHECK(m.translate(0x1000'0000 + MiB - 1, 1));
    CHECK_FALSE(m.translate(0x1000'0000 + MiB - 1, 2));
    CHECK_FALSE(m.translate(0x1000'0000 - 1, 2));
    CHECK_FALSE(m.translate_user(uva + MiB, 1));
    CHECK_FALSE(m.translate_user(uva - 1, 1));
}

TEST_CASE("GuestMemory splits ranges over adjacent regions and refuses holes", "[guest-memory]") {
    Ram ram(3 * MiB);
    // gpa [0, 1M) and [1M, 2M) adjacent; [3M, 4M) after a hole. File order differs from gpa
    // order on purpose.
    MemoryRegion regions[] = {
        {MiB, MiB, uva + MiB, 2 * MiB},
        {0, MiB, uva, 0},
        {3 * MiB, MiB, uva + 2 * MiB, MiB},
    };
    auto memory = GuestMemory::map(regions, ram.dups(3));
    REQUIRE(memory.has_value());
    const auto& m = **memory;
    CHECK(m.region_count() == 3);
    CHECK(m.region(0).guest_phys_addr == 0); // sorted by guest address

    auto split = m.translate(MiB - 32, 64);
    REQUIRE(split);
    REQUIRE(split->size() == 2);
    CHECK((*split)[0].size() == 32);
    CHECK((*split)[1].size() == 32);
    CHECK(std::to_integer<uint8_t>((*split)[0][0]) == expected_at(MiB - 32));
    CHECK(std::to_integer<uint8_t>((*split)[1][0]) == expected_at(2 * MiB));
    CHECK_FALSE(m.translate_contiguous(MiB - 32, 64));

    // Across the hole [2M, 3M), or inside it.
    CHECK_FALSE(m.translate(2 * MiB - 16, 32));
    CHECK_FALSE(m.translate(2 * MiB + 5, 1));
    CHECK(m.translate(3 * MiB, MiB).value().size() == 1);
    // Three regions' worth but with the hole in the middle.
    CHECK_FALSE(m.translate(0, 4 * MiB));
    // Ring addresses never split.
    CHECK_FALSE(m.translate_user(uva + MiB - 8, 16));
}

TEST_CASE("GuestMemory arithmetic does not wrap", "[guest-memory]") {
    Ram ram(MiB);
    MemoryRegion region{0, MiB, uva, 0};
    auto memory = GuestMemory::map(std::span(&region, 1), ram.dups(1));
    REQUIRE(memory.has_value());
    const auto& m = **memory;
    constexpr uint64_t max = std::numeric_limits<uint64_t>::max();
    CHECK_FALSE(m.translate(max - 4, 16));
    CHECK_FALSE(m.translate(16, max));
    CHECK_FALSE(m.translate(max, max));
    CHECK_FALSE(m.translate_user(uva + 16, max));
    CHECK_FALSE(m.translate_user(max, 2));
    CHECK_FALSE(m.locate(16, max));
    CHECK_FALSE(m.locate(max, 1));
}

TEST_CASE("GuestMemory locates the fd and file offset behind a range", "[guest-memory]") {
    Ram ram(2 * MiB);
    MemoryRegion regions[] = {{0, MiB, uva, 0}, {MiB, MiB, uva + MiB, MiB}};
    auto memory = GuestMemory::map(regions, ram.dups(2));
    REQUIRE(memory.has_value());
    auto at = (*memory)->locate(MiB + 8192, 4096);
    REQUIRE(at);
    CHECK(fd_is_open(at->fd));
    CHECK(at->offset == MiB + 8192);
    CHECK((*memory)->locate(0, MiB));
    CHECK_FALSE((*memory)->locate(MiB - 4096, 8192)); // spans two regions
    CHECK_FALSE((*memory)->locate(2 * MiB, 1));
}

TEST_CASE("GuestMemory rejects bad memory tables", "[guest-memory]") {
    Ram ram(MiB);
    constexpr uint64_t max = std::numeric_limits<uint64_t>::max();
    auto rejects = [&](std::vector<MemoryRegion> regions) {
        CHECK(GuestMemory::validate(regions).has_value());
        return !GuestMemory::map(regions, ram.dups(regions.size())).has_value();
    };
    CHECK(rejects({{0, 0, uva, 0}}));                                 // empty
    CHECK(rejects({{max - 10, 4096, uva, 0}}));                       // gpa + size wraps
    CHECK(rejects({{0, 4096, max - 10, 0}}));                         // uva + size wraps
    CHECK(rejects({{0, 4096, uva, max - 10}}));                       // offset + size wraps
    CHECK(rejects({{0, 8192, uva, 0}, {4096, 8192, uva + 8192, 0}})); // overlap
    CHECK(rejects({{0, 8192, uva, 0}, {0, 8192, uva + 8192, 0}}));    // same gpa
    std::vector<MemoryRegion> nine;
    for (uint64_t i = 0; i < 9; ++i) {
        nine.push_back({i * 4096, 4096, uva + i * 4096, i * 4096});
    }
    CHECK(rejects(nine));

    // Aliases (one user range at two guest addresses) are allowed.
    MemoryRegion alias[] = {{0, 4096, uva, 0}, {MiB, 4096, uva, 0}};
    CHECK_FALSE(GuestMemory::validate(alias).has_value());

    // Mapping checks what validate() cannot: fds and the file behind them.
    MemoryRegion one{0, 4096, uva, 0};
    CHECK_FALSE(GuestMemory::map(std::span(&one, 1), {}).has_value());
    CHECK_FALSE(GuestMemory::map(std::span(&one, 1), ram.dups(2)).has_value());
    MemoryRegion too_big{0, 2 * MiB, uva, 0}; // past the end of the file: would SIGBUS
    CHECK_FALSE(GuestMemory::map(std::span(&too_big, 1), ram.dups(1)).has_value());
    MemoryRegion offset_past_end{0, MiB, uva, 4096};
    CHECK_FALSE(GuestMemory::map(std::span(&offset_past_end, 1), ram.dups(1)).has_value());
    std::vector<UniqueFd> not_a_file;
    not_a_file.emplace_back(eventfd(0, EFD_CLOEXEC));
    CHECK_FALSE(GuestMemory::map(std::span(&one, 1), std::move(not_a_file)).has_value());
}

TEST_CASE("GuestMemory owns its mappings and fds", "[guest-memory]") {
    Ram ram(MiB);
    MemoryRegion regions[] = {{0, MiB / 2, uva, 0}, {MiB, MiB / 2, uva + MiB, MiB / 2}};
    auto fds = ram.dups(2);
    int raw0 = fds[0].get();
    int raw1 = fds[1].get();
    size_t before = mappings_of("tessera-gm-test");

    auto memory = GuestMemory::map(regions, std::move(fds));
    REQUIRE(memory.has_value());
    CHECK(mappings_of("tessera-gm-test") == before + 2);
    // In-flight work holds the table; it stays mapped until the last holder lets go.
    std::shared_ptr<const GuestMemory> in_flight = *memory;
    memory->reset();
    auto span = in_flight->translate_contiguous(MiB, 16);
    REQUIRE(span);
    CHECK(std::to_integer<uint8_t>((*span)[0]) == expected_at(MiB / 2));
    CHECK(fd_is_open(raw0));
    in_flight.reset();
    CHECK(mappings_of("tessera-gm-test") == before);
    CHECK_FALSE(fd_is_open(raw0));
    CHECK_FALSE(fd_is_open(raw1));

    // A failed map closes its fds too.
    auto bad = ram.dups(1);
    int raw_bad = bad[0].get();
    MemoryRegion too_big{0, 4 * MiB, uva, 0};
    CHECK_FALSE(GuestMemory::map(std::span(&too_big, 1), std::move(bad)).has_value());
    CHECK_FALSE(fd_is_open(raw_bad));
    CHECK(mappings_of("tessera-gm-test") == before);
}
