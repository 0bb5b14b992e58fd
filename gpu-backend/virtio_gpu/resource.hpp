#pragma once

#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/virtio_gpu/backing.hpp"
#include "gpu-backend/virtio_gpu/blob_memory.hpp"
#include "gpu-backend/virtio_gpu/protocol.hpp"
#include "gpu-backend/virtio_gpu/renderer_3d.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>

// A resource of one of two kinds:
// - 2D: an image of its own size and format whose backing pages the guest attaches and fills.
//   A Linux guest lays the backing out as the image (rows of stride() bytes, as its dumb buffers
//   are) and TRANSFER_TO_HOST_2D says so with every offset it sends: while that holds, the
//   display reads the image from the backing in place and transfers copy nothing. A transfer
//   that reads the backing another way ends that for the resource: from then on, as in QEMU,
//   transfers copy into the host's pixels() and the display reads those;
// - blob: `blob_size()` bytes of guest memory (its backing) with no format or size of its own;
//   SET_SCANOUT_BLOB says how to read it, and the compositor reads it in place.
namespace tessera::gpu {

class Resource {
public:
    // nullptr when the zero-filled buffer cannot be allocated. The caller has checked the
    // format and that width * 4 * height fits its quota.
    [[nodiscard]] static std::unique_ptr<Resource> create(uint32_t id, proto::Format format,
                                                          uint32_t width, uint32_t height);

    // The display's view of the 3D resource with the same id, which its renderer exported as a
    // dma-buf of its own texture (device_3d.cpp): no pixels of its own, nothing ever copied.
    [[nodiscard]] static std::unique_ptr<Resource> create_exported(uint32_t id,
                                                                   proto::Format format,
                                                                   uint32_t width, uint32_t height,
                                                                   ExportedImage image);

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
    [[nodiscard]] size_t size_bytes() const { return exported_ ? 0 : size_t{stride()} * height_; }
    // The renderer's texture this view shows; null for every other resource.
    [[nodiscard]] const ExportedImage* exported() const {
        return exported_ ? &*exported_ : nullptr;
    }
    [[nodiscard]] std::span<const std::byte> pixels() const { return {pixel_data(), size_bytes()}; }
    // 2D only: the host pixels as a sealed memfd (shrinking and growing sealed) that another
    // process may map: made on the first call, after which transfers write there. -1 when it
    // cannot be made. The resource owns the fd.
    int share_pixels();

    // 2D only: the display reads the image from the backing in place (see above): a backing
    // is attached, holds the whole image, and no transfer has read it another way.
    [[nodiscard]] bool image_in_backing() const {
        return !is_blob() && backing && !layout_broken && backing->size() >= size_bytes();
    }

    // Device-side state, not for the compositor.
    [[nodiscard]] std::span<std::byte> mutable_pixels() { return {pixel_data(), size_bytes()}; }
    std::optional<Backing> backing;
    std::optional<std::array<uint8_t, 16>> uuid;
    bool unref_pending = false; // RESOURCE_UNREF received while displayed (device.hpp)
    bool layout_broken = false; // 2D: a transfer read the backing unlike the image's layout
    // 2D: the display's copy of the 3D resource with the same id, read back from the renderer
    // at each new frame (device_3d.cpp); the display may read it in place.
    bool read_back = false;
    // Guest pages the compositor shows in place, mapped at the resource's first scanout: a
    // blob's, or a 2D image in its backing. Null for a 2D resource shown from pixels() or from
    // a backing that could not be mapped (then read through GpuDevice::read_image()).
    std::shared_ptr<const BlobMemory> mapped_memory;

private:
    struct Free {
        void operator()(std::byte* p) const { std::free(p); }
    };
    Resource(uint32_t id, proto::Format format, uint32_t width, uint32_t height,
             std::unique_ptr<std::byte, Free> pixels)
        : id_(id), format_(format), width_(width), height_(height), pixels_(std::move(pixels)) {}

    [[nodiscard]] std::byte* pixel_data() const {
        return shared_pixels_ ? shared_pixels_ : pixels_.get();
    }

    uint32_t id_;
    proto::Format format_;
    uint32_t width_;
    uint32_t height_;
    std::unique_ptr<std::byte, Free> pixels_;
    uint64_t blob_size_ = 0;
    UniqueFd pixels_fd_;
    std::byte* shared_pixels_ = nullptr; // the memfd's mapping, once shared
    std::optional<ExportedImage> exported_;

public:
    ~Resource();
    Resource(const Resource&) = delete;
    Resource& operator=(const Resource&) = delete;
};

} // namespace tessera::gpu
