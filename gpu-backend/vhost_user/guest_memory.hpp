#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gpu-backend/guest_ram.hpp"
#include "gpu-backend/base/unique_fd.hpp"

namespace tessera::gpu {

// One entry of a vhost-user memory table, as SET_MEM_TABLE sends it.
struct MemoryRegion {
    uint64_t guest_phys_addr = 0;
    uint64_t memory_size = 0;
    uint64_t userspace_addr = 0; // the frontend's (QEMU's) own virtual address of the region
    uint64_t mmap_offset = 0;    // where the region starts in its fd

    bool operator==(const MemoryRegion&) const = default;
};

// A guest's RAM as mapped from one vhost-user memory table. Owns the mappings and the fds; a
// new table replaces the whole object, and in-flight work keeps the old one alive through its
// shared_ptr.
class GuestMemory final : public GuestRam {
public:
    static constexpr size_t max_regions = 8;

    // Checks a table without mapping it: sizes non-zero, no address arithmetic overflows, no two
    // regions overlapping in guest-physical space, at most max_regions. The error says why.
    static std::optional<std::string> validate(std::span<const MemoryRegion> regions);

    // Validates and maps each region (one fd per region, in the same order).
    static std::expected<std::shared_ptr<const GuestMemory>, std::string>
    map(std::span<const MemoryRegion> regions, std::vector<UniqueFd> fds);

    ~GuestMemory() override;
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;

    // Guest-physical ranges (descriptor buffers); may split over adjacent regions.
    [[nodiscard]] std::optional<std::vector<std::span<std::byte>>>
    translate(uint64_t gpa, uint64_t length) const override;

    // Frontend user-virtual ranges (ring addresses from SET_VRING_ADDR): one region only.
    [[nodiscard]] std::optional<std::span<std::byte>> translate_user(uint64_t uva,
                                                                     uint64_t length) const;

    [[nodiscard]] std::optional<RegionLocation> locate(uint64_t gpa,
                                                       uint64_t length) const override;

    [[nodiscard]] size_t region_count() const { return regions_.size(); }
    // Regions sorted by guest-physical address.
    [[nodiscard]] const MemoryRegion& region(size_t index) const { return regions_[index].table; }
    // The fd behind a region, and how many bytes of it are mapped (from offset 0).
    [[nodiscard]] int region_fd(size_t index) const { return regions_[index].fd.get(); }
    [[nodiscard]] size_t region_map_length(size_t index) const {
        return regions_[index].map_length;
    }

private:
    struct Mapping {
        MemoryRegion table;
        UniqueFd fd;
        std::byte* map_base = nullptr; // what mmap returned
        size_t map_length = 0;
        std::byte* host() const { return map_base + table.mmap_offset; }
    };

    GuestMemory() = default;
    const Mapping* find_gpa(uint64_t gpa) const;

    std::vector<Mapping> regions_;
};

} // namespace tessera::gpu
