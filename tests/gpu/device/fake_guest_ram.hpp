#pragma once

#include "gpu-backend/guest_ram.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

// Guest memory made of plain buffers. Each region is a separate allocation, so a range crossing
// from one region into an adjacent one translates into several pieces, as with a real memory
// table.
namespace tessera::gpu::test {

class FakeGuestRam final : public GuestRam {
public:
    FakeGuestRam& add_region(uint64_t gpa, uint64_t size) {
        regions_.push_back({gpa, size, std::make_unique<std::byte[]>(size)});
        return *this;
    }

    [[nodiscard]] std::optional<std::vector<std::span<std::byte>>>
    translate(uint64_t gpa, uint64_t length) const override {
        if (length > std::numeric_limits<uint64_t>::max() - gpa) {
            return std::nullopt;
        }
        std::vector<std::span<std::byte>> pieces;
        while (length > 0) {
            const Region* region = find(gpa);
            if (region == nullptr) {
                return std::nullopt;
            }
            uint64_t within = gpa - region->gpa;
            uint64_t count = std::min(length, region->size - within);
            pieces.emplace_back(region->bytes.get() + within, count);
            gpa += count;
            length -= count;
        }
        return pieces;
    }

    // Test-side access; the range must be in guest memory.
    void write(uint64_t gpa, std::span<const std::byte> data) const {
        auto pieces = translate(gpa, data.size());
        size_t done = 0;
        for (auto piece : pieces.value()) {
            std::memcpy(piece.data(), data.data() + done, piece.size());
            done += piece.size();
        }
    }
    void fill(uint64_t gpa, uint64_t length, std::byte value) const {
        auto pieces = translate(gpa, length).value();
        for (auto piece : pieces) {
            std::ranges::fill(piece, value);
        }
    }

private:
    struct Region {
        uint64_t gpa;
        uint64_t size;
        std::unique_ptr<std::byte[]> bytes;
    };

    const Region* find(uint64_t gpa) const {
        for (const auto& r : regions_) {
            if (gpa >= r.gpa && gpa - r.gpa < r.size) {
                return &r;
            }
        }
        return nullptr;
    }

    std::vector<Region> regions_;
};

} // namespace tessera::gpu::test
