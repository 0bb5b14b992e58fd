#pragma once

#include "gpu-backend/base/unique_fd.hpp"

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

// /dev/udmabuf: makes a dma-buf out of pages of memfds (guest RAM), without copying them. The
// kernel takes shmem or hugetlbfs memfds sealed against shrinking, page-aligned pieces, at most
// `list_limit` pieces and `size_limit_mb` MiB per buffer (module parameters, 1024 and 64 by
// default); Debian's 6.12 kernel has it built in, 6.1 does not have it.
namespace tessera::gpu {

struct FilePiece {
    int fd = -1;
    uint64_t offset = 0;
    uint64_t length = 0;
    bool operator==(const FilePiece&) const = default;
};

// Joins pieces that continue each other in the same file, keeping their order.
[[nodiscard]] std::vector<FilePiece> merge_pieces(std::span<const FilePiece> pieces);

class Udmabuf {
public:
    struct Limits {
        uint32_t max_pieces = 1024;
        uint64_t max_bytes = 64ull << 20;
    };

    // Opens `device` (and reads the limits when it is /dev/udmabuf). When it cannot be opened,
    // every create() fails with the reason.
    explicit Udmabuf(const std::string& device = "/dev/udmabuf");

    // A udmabuf device opened elsewhere and handed over (a device process has no filesystem);
    // an invalid fd makes every create() fail with `error`.
    Udmabuf(UniqueFd device, Limits limits, std::string error);

    // The process's /dev/udmabuf, opened on first use.
    static Udmabuf& system();

    [[nodiscard]] bool available() const { return device_.valid(); }
    [[nodiscard]] const std::string& unavailable_reason() const { return error_; }
    [[nodiscard]] const Limits& limits() const { return limits_; }
    [[nodiscard]] int fd() const { return device_.get(); }

    // A dma-buf of the pieces in order (merged first). The error says why not: no device, too
    // many pieces, too large, not page-aligned, or what the kernel answered.
    [[nodiscard]] std::expected<UniqueFd, std::string> create(std::span<const FilePiece> pieces);

private:
    UniqueFd device_;
    std::string error_;
    Limits limits_;
};

} // namespace tessera::gpu
