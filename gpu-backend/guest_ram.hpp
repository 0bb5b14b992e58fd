#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

// Access to a guest's memory by guest-physical address: what the device model reads commands'
// backing pages through. Implemented over the vhost-user memory table (vhost_user/), and by
// plain buffers in tests.
namespace tessera::gpu {

// Where a guest range lives in the fd that backs it (for mappings of its own and udmabuf).
struct RegionLocation {
    int fd = -1;
    uint64_t offset = 0;
};

class GuestRam {
public:
    virtual ~GuestRam() = default;

    // The host memory behind [gpa, gpa + length), in order; it may span several regions.
    // nullopt when any byte is outside guest memory or the range overflows.
    [[nodiscard]] virtual std::optional<std::vector<std::span<std::byte>>>
    translate(uint64_t gpa, uint64_t length) const = 0;

    // The fd and file offset behind a guest-physical range lying within one region; nullopt
    // when the range is outside guest memory, spans regions, or the memory has no fd.
    [[nodiscard]] virtual std::optional<RegionLocation> locate(uint64_t gpa,
                                                               uint64_t length) const = 0;

    // The same, only when the range lies within one region.
    [[nodiscard]] std::optional<std::span<std::byte>> translate_contiguous(uint64_t gpa,
                                                                           uint64_t length) const {
        auto pieces = translate(gpa, length);
        if (!pieces || pieces->size() != 1) {
            return length == 0 && pieces ? std::optional(std::span<std::byte>()) : std::nullopt;
        }
        return pieces->front();
    }
};

} // namespace tessera::gpu
