#pragma once

#include "gpu-backend/virtio_gpu/protocol.hpp"
#include "wlr.hpp"

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

} // namespace tessera::compositor
