#pragma once

#include "gpu-backend/guest_ram.hpp"
#include "gpu-backend/virtio_gpu/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <span>
#include <vector>

// A resource's backing store: the guest-physical ranges it attached, validated against guest
// memory when attached, with contiguous entries merged. Only addresses are kept: memory is
// translated again on every read, since the memory table can be replaced in between.
namespace tessera::gpu {

class Backing {
public:
    struct Range {
        uint64_t addr = 0;
        uint64_t length = 0;
    };

    enum class Error {
        outside_guest_ram, // an entry is not entirely inside guest memory
        too_large,         // the total length is above the cap
    };

    Backing() = default;

    // Zero-length entries are skipped. `max_total` caps the sum of lengths.
    [[nodiscard]] static std::expected<Backing, Error>
    create(std::span<const proto::MemEntry> entries, const GuestRam& ram, uint64_t max_total);

    [[nodiscard]] uint64_t size() const { return size_; }
    [[nodiscard]] std::span<const Range> ranges() const { return ranges_; }

    // Copies bytes [offset, offset + out.size()) of the backing into `out`. False when that is
    // beyond size() or some part no longer translates; `out` may then be partly written.
    [[nodiscard]] bool read(const GuestRam& ram, uint64_t offset, std::span<std::byte> out) const;
    // Hands bytes [offset, offset + length) of the backing to `piece` in order, as the pieces of
    // guest memory that hold them, without copying. False, possibly after some pieces, as read().
    using PieceVisitor = std::function<void(std::span<const std::byte>)>;
    [[nodiscard]] bool visit(const GuestRam& ram, uint64_t offset, uint64_t length,
                             const PieceVisitor& piece) const;

private:
    std::vector<Range> ranges_;
    std::vector<uint64_t> starts_; // offset of each range within the backing
    uint64_t size_ = 0;
};

} // namespace tessera::gpu
