#pragma once

#include "gpu-backend/virtio_gpu/protocol.hpp"
#include "wlr.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

// Host copies of what a 2D guest shows live in pixel buffers (pixel_buffer.hpp), updated in
// place with each rectangle the guest flushes. Guest pixels are converted while copying, so
// every virtio-gpu format reaches the renderer as XRGB8888 (a scanout: opaque, like a CRTC's
// primary plane) or premultiplied ARGB8888 (a cursor, as Linux hands it over).
namespace tessera::compositor {

// Copies `rect` of guest pixels (rows of `src_stride` bytes in `format`) to the same place in
// a pixel buffer in XRGB8888 or ARGB8888; the rectangle must lie inside both. Returns the
// bytes copied.
uint64_t copy_guest_pixels(wlr_buffer* buffer, std::span<const std::byte> src, uint32_t src_stride,
                           gpu::proto::Format format, gpu::proto::Rect rect);

// Writes one row of guest pixels into a pixel buffer from pieces of any length, as guest
// memory hands them over (a pixel may straddle two pieces).
class GuestRowWriter {
public:
    // The row starts at (x, y) of `buffer`, which must hold `width` pixels from there.
    GuestRowWriter(wlr_buffer* buffer, gpu::proto::Format format, uint32_t x, uint32_t y,
                   uint32_t width);
    // False (nothing written) when the pieces would run past the row.
    bool write(std::span<const std::byte> piece);
    [[nodiscard]] bool complete() const { return written_ == capacity_; }

private:
    void put_pixel(const std::byte* in);

    std::byte* out_ = nullptr;
    size_t capacity_ = 0; // bytes in the row
    size_t written_ = 0;
    bool plain_copy_ = false; // the guest's bytes are the buffer's bytes
    std::array<int, 4> order_{};
    std::array<std::byte, 4> partial_{};
    size_t partial_size_ = 0;
};

} // namespace tessera::compositor
