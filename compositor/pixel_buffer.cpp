#include "pixel_buffer.hpp"

#include <algorithm>
#include <type_traits>

namespace tessera::compositor {
namespace {

// Standard layout, so that the wlr_buffer converts back to it.
struct PixelBuffer {
    wlr_buffer base;
    uint8_t* pixels;
    size_t stride;
};
static_assert(std::is_standard_layout_v<PixelBuffer>);

PixelBuffer* from_base(wlr_buffer* buffer) {
    return reinterpret_cast<PixelBuffer*>(buffer);
}

void destroy(wlr_buffer* buffer) {
    auto* self = from_base(buffer);
    delete[] self->pixels;
    delete self;
}

bool begin_access(wlr_buffer* buffer, uint32_t flags, void** data, uint32_t* format,
                  size_t* stride) {
    if (flags & WLR_BUFFER_DATA_PTR_ACCESS_WRITE) {
        return false; // contents are fixed
    }
    auto* self = from_base(buffer);
    *data = self->pixels;
    *format = DRM_FORMAT_ABGR8888;
    *stride = self->stride;
    return true;
}

void end_access(wlr_buffer*) {}

const wlr_buffer_impl pixel_buffer_impl = {
    .destroy = destroy,
    .get_dmabuf = nullptr,
    .get_shm = nullptr,
    .begin_data_ptr_access = begin_access,
    .end_data_ptr_access = end_access,
};

} // namespace

wlr_buffer* create_pixel_buffer(const Image& image) {
    auto* buffer = new PixelBuffer{};
    buffer->stride = static_cast<size_t>(image.width()) * 4;
    auto bytes = image.bytes();
    buffer->pixels = new uint8_t[bytes.size()];
    std::copy(bytes.begin(), bytes.end(), buffer->pixels);
    // wlroots blends premultiplied colours.
    for (size_t i = 0; i < bytes.size(); i += 4) {
        uint8_t alpha = buffer->pixels[i + 3];
        for (size_t c = 0; c < 3; ++c) {
            buffer->pixels[i + c] = static_cast<uint8_t>(buffer->pixels[i + c] * alpha / 255);
        }
    }
    wlr_buffer_init(&buffer->base, &pixel_buffer_impl, image.width(), image.height());
    return &buffer->base;
}

} // namespace tessera::compositor
