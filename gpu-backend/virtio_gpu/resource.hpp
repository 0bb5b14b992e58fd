#pragma once

#include "gpu-backend/virtio_gpu/backing.hpp"
#include "gpu-backend/virtio_gpu/blob_memory.hpp"
#include "gpu-backend/virtio_gpu/protocol.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>

// A resource of one of two kinds:
// - 2D: a host pixel buffer the guest fills with TRANSFER_TO_HOST_2D from its backing pages; the
//   compositor reads pixels() for scanouts it is told about (device.hpp);
// - blob: `blob_size()` bytes of guest memory (its backing) with no format or size of its own;
//   SET_SCANOUT_BLOB says how to read it, and the compositor reads blob_memory in place.
namespace tessera::gpu {

class Resource {
public:
    // nullptr when the zero-filled buffer cannot be allocated. The caller has checked the
    // format and that width * 4 * height fits its quota.
    [[nodiscard]] static std::unique_ptr<Resource> create(uint32_t id, proto::Format format,
                                                          uint32_t width, uint32_t height);

    // A blob of guest memory; `backing` holds at least `size` bytes.
    [[nodiscard]] static std::unique_ptr<Resource> create_blob(uint32_t id, uint64_t size,
                                                               Backing backing);

    [[nodiscard]] uint32_t id() const { return id_; }
    [[nodiscard]] bool is_blob() const { return blob_size_ != 0; }
    [[nodiscard]] uint64_t blob_size() const { return blob_size_; }

    [[nodiscard]] proto::Format format() const { return format_; }
    [[nodiscard]] uint32_t drm_format() const { return proto::drm_fourcc(format_); }
    [[nodiscard]] bool has_alpha() const { return proto::format_has_alpha(format_); }
    [[nodiscard]] uint32_t width() const { return width_; }
    [[nodiscard]] uint32_t height() const { return height_; }
    // 2D only (zero for blobs). Bytes per row: width * 4, rows packed, as QEMU and the guest's
    // transfers assume.
    [[nodiscard]] uint32_t stride() const { return width_ * proto::bytes_per_pixel; }
    [[nodiscard]] size_t size_bytes() const { return size_t{stride()} * height_; }
    [[nodiscard]] std::span<const std::byte> pixels() const {
        return {pixels_.get(), size_bytes()};
    }

    // Device-side state, not for the compositor.
    [[nodiscard]] std::span<std::byte> mutable_pixels() { return {pixels_.get(), size_bytes()}; }
    std::optional<Backing> backing;
    std::optional<std::array<uint8_t, 16>> uuid;
    bool unref_pending = false; // RESOURCE_UNREF received while displayed (device.hpp)
    // A blob's pages as the host sees them, mapped at its first scanout; what the compositor
    // shows.
    std::shared_ptr<const BlobMemory> blob_memory;

private:
    struct Free {
        void operator()(std::byte* p) const { std::free(p); }
    };
    Resource(uint32_t id, proto::Format format, uint32_t width, uint32_t height,
             std::unique_ptr<std::byte, Free> pixels)
        : id_(id), format_(format), width_(width), height_(height), pixels_(std::move(pixels)) {}

    uint32_t id_;
    proto::Format format_;
    uint32_t width_;
    uint32_t height_;
    std::unique_ptr<std::byte, Free> pixels_;
    uint64_t blob_size_ = 0;
};

} // namespace tessera::gpu
