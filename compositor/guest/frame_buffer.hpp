#pragma once

#include "gpu-backend/virtio_gpu/protocol.hpp"
#include "wlr.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

// Host copies of what a 2D guest shows: a wlr_buffer in memory that the renderer reads through
// data-pointer access (pixman and GLES alike), updated in place with each rectangle the guest
// flushes. Guest pixels are converted while copying, so every virtio-gpu format reaches the
// renderer as XRGB8888 (a scanout: opaque, like a CRTC's primary plane) or premultiplied
// ARGB8888 (a cursor).
namespace tessera::compositor {

// Created locked once; drop it with wlr_buffer_drop() when done.
wlr_buffer* create_frame_buffer(int width, int height, bool with_alpha);

// Copies `rect` of guest pixels (rows of `src_stride` bytes in `format`) to the same place in
// the frame buffer; the rectangle must lie inside both. Returns the bytes copied.
uint64_t copy_to_frame_buffer(wlr_buffer* buffer, std::span<const std::byte> src,
                              uint32_t src_stride, gpu::proto::Format format,
                              gpu::proto::Rect rect);

} // namespace tessera::compositor
