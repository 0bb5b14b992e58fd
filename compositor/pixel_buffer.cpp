#include "pixel_buffer.hpp"

#include <type_traits>

namespace tessera::compositor {
namespace {

// Standard layout, so that the wlr_buffer converts back to it.
struct PixelBuffer {
    wlr_buffer base;
    std::byte* pixels;
    size_t stride;
    uint32_t drm_format;
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
        return false; // only their owner writes them
    }
    auto* self = from_base(buffer);
    *data = self->pixels;
    *format = self->drm_format;
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

wlr_buffer* create_pixel_buffer(int width, int height, uint32_t drm_format) {
    auto* buffer = new PixelBuffer{};
    buffer->stride = static_cast<size_t>(width) * 4;
    buffer->pixels = new std::byte[buffer->stride * static_cast<size_t>(height)]();
    buffer->drm_format = drm_format;
    wlr_buffer_init(&buffer->base, &pixel_buffer_impl, width, height);
    return &buffer->base;
}

wlr_buffer* create_pixel_buffer(const Image& image) {
    wlr_buffer* buffer = create_pixel_buffer(image.width(), image.height(), DRM_FORMAT_ABGR8888);
    auto* out = from_base(buffer)->pixels;
    auto in = image.bytes();
    // wlroots blends premultiplied colours.
    for (size_t i = 0; i < in.size(); i += 4) {
        uint8_t alpha = in[i + 3];
        for (size_t c = 0; c < 3; ++c) {
            out[i + c] = static_cast<std::byte>(in[i + c] * alpha / 255);
        }
        out[i + 3] = static_cast<std::byte>(alpha);
    }
    return buffer;
}

PixelData pixel_data(wlr_buffer* buffer) {
    auto* self = from_base(buffer);
    return {{self->pixels, self->stride * static_cast<size_t>(buffer->height)},
            self->stride,
            self->drm_format};
}

} // namespace tessera::compositor
