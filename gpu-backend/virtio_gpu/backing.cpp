#include "gpu-backend/virtio_gpu/backing.hpp"

#include <algorithm>
#include <cstring>

namespace tessera::gpu {

std::expected<Backing, Backing::Error> Backing::create(std::span<const proto::MemEntry> entries,
                                                       const GuestRam& ram, uint64_t max_total) {
    Backing backing;
    for (const auto& entry : entries) {
        if (entry.length == 0) {
            continue;
        }
        // translate() rejects ranges that wrap or leave guest memory.
        if (!ram.translate(entry.addr, entry.length)) {
            return std::unexpected(Error::outside_guest_ram);
        }
        if (entry.length > max_total - backing.size_) {
            return std::unexpected(Error::too_large);
        }
        // A Linux guest sends page-sized entries that are often adjacent: merge them.
        if (!backing.ranges_.empty()) {
            auto& last = backing.ranges_.back();
            if (last.addr + last.length == entry.addr) { // no wrap: both were translated
                last.length += entry.length;
                backing.size_ += entry.length;
                continue;
            }
        }
        backing.ranges_.push_back({entry.addr, entry.length});
        backing.starts_.push_back(backing.size_);
        backing.size_ += entry.length;
    }
    return backing;
}

bool Backing::read(const GuestRam& ram, uint64_t offset, std::span<std::byte> out) const {
    size_t done = 0;
    return visit(ram, offset, out.size(), [&](std::span<const std::byte> piece) {
        std::memcpy(out.data() + done, piece.data(), piece.size());
        done += piece.size();
    });
}

bool Backing::visit(const GuestRam& ram, uint64_t offset, uint64_t length,
                    const PieceVisitor& piece) const {
    if (offset > size_ || length > size_ - offset) {
        return false;
    }
    if (length == 0) {
        return true;
    }
    // The range holding `offset`: the last one starting at or before it.
    auto it = std::ranges::upper_bound(starts_, offset);
    auto index = static_cast<size_t>(it - starts_.begin()) - 1;
    uint64_t done = 0;
    while (done < length) {
        const Range& range = ranges_[index];
        uint64_t within = offset + done - starts_[index];
        uint64_t count = std::min<uint64_t>(range.length - within, length - done);
        auto spans = ram.translate(range.addr + within, count);
        if (!spans) {
            return false;
        }
        uint64_t total = 0;
        for (const auto& span : *spans) {
            total += span.size();
        }
        if (total != count) {
            return false; // a translation of another length than asked: do not trust it
        }
        for (const auto& span : *spans) {
            piece(span);
        }
        done += count;
        ++index;
    }
    return true;
}

} // namespace tessera::gpu
