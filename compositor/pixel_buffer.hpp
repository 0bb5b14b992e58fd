#pragma once

#include "util/image.hpp"
#include "wlr.hpp"

namespace tessera::compositor {

// A wlr_buffer holding pixels in memory (premultiplied ABGR8888, as an RGBA image is laid out),
// for host-drawn content such as a zone's fallback image. Created locked once; drop it with
// wlr_buffer_drop() when done, it is freed once nothing uses it any more.
wlr_buffer* create_pixel_buffer(const Image& image);

} // namespace tessera::compositor
