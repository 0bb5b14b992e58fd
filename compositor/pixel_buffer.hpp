#pragma once

#include "util/image.hpp"
#include "wlr.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

// wlr_buffers holding pixels in host memory, drawn by tessera itself (a zone's fallback image,
// the copies of guests' screens). The renderer reads them through data-pointer access, so the
// pixman and GLES renderers both take them. Created locked once; drop one with
// wlr_buffer_drop() when done, it is freed once nothing uses it any more.
namespace tessera::compositor {

// Zeroed pixels in `drm_format` (4 bytes per pixel).
wlr_buffer* create_pixel_buffer(int width, int height, uint32_t drm_format);
// An image's pixels, premultiplied, as ABGR8888 (how RGBA bytes are laid out).
wlr_buffer* create_pixel_buffer(const Image& image);

// The pixels of a buffer made by create_pixel_buffer(), for its owner to write in place; the
// renderer only ever reads them.
struct PixelData {
    std::span<std::byte> bytes;
    size_t stride = 0;
    uint32_t drm_format = 0;
};
PixelData pixel_data(wlr_buffer* buffer);

} // namespace tessera::compositor
