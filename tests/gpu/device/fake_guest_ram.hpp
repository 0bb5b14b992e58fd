#pragma once

#include "gpu-backend/guest_ram.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

// Guest memory made of memfds, one per region, so a range crossing from one region into an
// adjacent one translates into several pieces and blob pages can be mapped by fd, as with a real
// memory table.
namespace tessera::gpu::test {

class FakeGuestRam final : public GuestRam {
public:
    FakeGuestRam() = default;
    FakeGuestRam(const FakeGuestRam&) = delete;
    FakeGuestRam& operator=(const FakeGuestRam&) = delete;
    ~FakeGuestRam() override {
        for (auto& r : regions_) {
            munmap(r.bytes, r.size);
            close(r.fd);
        }
    }

    FakeGuestRam& add_region(uint64_t gpa, uint64_t size) {
        // Sealed like QEMU's memory-backend-memfd, as udmabuf requires.
        int fd = memfd_create("fake-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
            throw std::runtime_error("memfd for fake guest RAM");
        }
        void* bytes = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (bytes == MAP_FAILED) {
            throw std::runtime_error("mmap of fake guest RAM");
        }
        regions_.push_back({gpa, size, static_cast<std::byte*>(bytes), fd});
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
            pieces.emplace_back(region->bytes + within, count);
            gpa += count;
            length -= count;
        }
        return pieces;
    }

    [[nodiscard]] std::optional<RegionLocation> locate(uint64_t gpa,
                                                       uint64_t length) const override {
        const Region* region = find(gpa);
        if (region == nullptr || length > region->size - (gpa - region->gpa)) {
            return std::nullopt;
        }
        return RegionLocation{region->fd, gpa - region->gpa};
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
        std::byte* bytes;
        int fd;
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
