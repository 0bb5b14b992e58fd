#include "gpu-backend/vhost_user/guest_memory.hpp"

#include "gpu-backend/base/fd_kind.hpp"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <format>
#include <limits>

namespace tessera::gpu {
namespace {

// a + b without wrapping; nullopt when it would.
std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
    uint64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) {
        return std::nullopt;
    }
    return sum;
}

} // namespace

std::optional<std::string> GuestMemory::validate(std::span<const MemoryRegion> regions) {
    if (regions.size() > max_regions) {
        return std::format("{} memory regions (at most {})", regions.size(), max_regions);
    }
    for (size_t i = 0; i < regions.size(); ++i) {
        const auto& r = regions[i];
        if (r.memory_size == 0) {
            return std::format("memory region {} is empty", i);
        }
        auto map_end = checked_add(r.mmap_offset, r.memory_size);
        if (!checked_add(r.guest_phys_addr, r.memory_size) ||
            !checked_add(r.userspace_addr, r.memory_size) || !map_end ||
            *map_end > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
            return std::format("memory region {} overflows (gpa {:#x}, size {:#x}, uva {:#x}, "
                               "offset {:#x})",
                               i, r.guest_phys_addr, r.memory_size, r.userspace_addr,
                               r.mmap_offset);
        }
    }
    // Guest-physical ranges must be disjoint so that translation is unambiguous. User
    // addresses may overlap: a VMM may map the same RAM at two guest addresses (an alias).
    for (size_t i = 0; i < regions.size(); ++i) {
        for (size_t j = i + 1; j < regions.size(); ++j) {
            const auto& a = regions[i];
            const auto& b = regions[j];
            if (a.guest_phys_addr < b.guest_phys_addr + b.memory_size &&
                b.guest_phys_addr < a.guest_phys_addr + a.memory_size) {
                return std::format("memory regions {} and {} overlap", i, j);
            }
        }
    }
    return std::nullopt;
}

std::expected<std::shared_ptr<const GuestMemory>, std::string>
GuestMemory::map(std::span<const MemoryRegion> regions, std::vector<UniqueFd> fds) {
    if (auto error = validate(regions)) {
        return std::unexpected(std::move(*error));
    }
    if (fds.size() != regions.size()) {
        return std::unexpected(
            std::format("{} memory regions but {} fds", regions.size(), fds.size()));
    }
    // Built in place so that a failure half-way unmaps what was mapped (in the destructor).
    std::shared_ptr<GuestMemory> memory(new GuestMemory());
    memory->regions_.reserve(regions.size());
    for (size_t i = 0; i < regions.size(); ++i) {
        const auto& r = regions[i];
        uint64_t length = r.mmap_offset + r.memory_size; // validated: no overflow
        // Touching a page beyond the end of the file raises SIGBUS: refuse a region that is
        // larger than what backs it, and anything that is no file.
        if (auto wrong = fd_kind::check_mappable(fds[i].get(), length)) {
            return std::unexpected(std::format("memory region {}: {}", i, *wrong));
        }
        void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i].get(), 0);
        if (base == MAP_FAILED) {
            return std::unexpected(std::format("memory region {}: mmap of {:#x} bytes: {}", i,
                                               length, std::strerror(errno)));
        }
        memory->regions_.push_back(
            {r, std::move(fds[i]), static_cast<std::byte*>(base), static_cast<size_t>(length)});
    }
    std::ranges::sort(memory->regions_, {},
                      [](const Mapping& m) { return m.table.guest_phys_addr; });
    return memory;
}

GuestMemory::~GuestMemory() {
    for (auto& region : regions_) {
        munmap(region.map_base, region.map_length);
    }
}

const GuestMemory::Mapping* GuestMemory::find_gpa(uint64_t gpa) const {
    for (const auto& region : regions_) {
        if (gpa >= region.table.guest_phys_addr &&
            gpa - region.table.guest_phys_addr < region.table.memory_size) {
            return &region;
        }
    }
    return nullptr;
}

std::optional<std::vector<std::span<std::byte>>> GuestMemory::translate(uint64_t gpa,
                                                                        uint64_t length) const {
    std::vector<std::span<std::byte>> pieces;
    if (length == 0) {
        return pieces;
    }
    if (!checked_add(gpa, length)) {
        return std::nullopt;
    }
    // Each step moves into a different region (they are disjoint), so this ends after at most
    // region_count() pieces.
    while (length > 0) {
        const Mapping* region = find_gpa(gpa);
        if (!region) {
            return std::nullopt;
        }
        uint64_t offset = gpa - region->table.guest_phys_addr;
        uint64_t take = std::min(length, region->table.memory_size - offset);
        pieces.emplace_back(region->host() + offset, static_cast<size_t>(take));
        gpa += take;
        length -= take;
    }
    return pieces;
}

std::optional<std::span<std::byte>> GuestMemory::translate_user(uint64_t uva,
                                                                uint64_t length) const {
    for (const auto& region : regions_) {
        const auto& t = region.table;
        if (uva >= t.userspace_addr && uva - t.userspace_addr < t.memory_size &&
            length <= t.memory_size - (uva - t.userspace_addr)) {
            return std::span<std::byte>(region.host() + (uva - t.userspace_addr),
                                        static_cast<size_t>(length));
        }
    }
    return std::nullopt;
}

std::optional<RegionLocation> GuestMemory::locate(uint64_t gpa, uint64_t length) const {
    const Mapping* region = find_gpa(gpa);
    if (!region) {
        return std::nullopt;
    }
    uint64_t offset = gpa - region->table.guest_phys_addr;
    if (length > region->table.memory_size - offset) {
        return std::nullopt;
    }
    return RegionLocation{region->fd.get(), region->table.mmap_offset + offset};
}

} // namespace tessera::gpu
