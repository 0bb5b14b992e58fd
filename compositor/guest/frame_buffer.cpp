#include "frame_buffer.hpp"

#include <array>
#include <cstring>
#include <memory>
#include <type_traits>

namespace tessera::compositor {
namespace {

using gpu::proto::Format;

// Standard layout, so that the wlr_buffer converts back to it.
struct FrameBuffer {
    wlr_buffer base;
    std::byte* pixels;
    size_t stride;
    uint32_t drm_format;
};
static_assert(std::is_standard_layout_v<FrameBuffer>);

FrameBuffer* from_base(wlr_buffer* buffer) {
    return reinterpret_cast<FrameBuffer*>(buffer);
}

void destroy(wlr_buffer* buffer) {
    auto* self = from_base(buffer);
    delete[] self->pixels;
    delete self;
}

bool begin_access(wlr_buffer* buffer, uint32_t flags, void** data, uint32_t* format,
                  size_t* stride) {
    if (flags & WLR_BUFFER_DATA_PTR_ACCESS_WRITE) {
        return false; // only the guest writes it
    }
    auto* self = from_base(buffer);
    *data = self->pixels;
    *format = self->drm_format;
    *stride = self->stride;
    return true;
}

void end_access(wlr_buffer*) {}

const wlr_buffer_impl frame_buffer_impl = {
    .destroy = destroy,
    .get_dmabuf = nullptr,
    .get_shm = nullptr,
    .begin_data_ptr_access = begin_access,
    .end_data_ptr_access = end_access,
};

// Where red, green, blue and alpha sit in a guest pixel's four bytes; alpha -1: none (X).
struct ByteOrder {
    int r, g, b, a;
};

ByteOrder byte_order(Format format) {
    switch (format) {
    case Format::b8g8r8a8:
        return {2, 1, 0, 3};
    case Format::b8g8r8x8:
        return {2, 1, 0, -1};
    case Format::a8r8g8b8:
        return {1, 2, 3, 0};
    case Format::x8r8g8b8:
        return {1, 2, 3, -1};
    case Format::r8g8b8a8:
        return {0, 1, 2, 3};
    case Format::x8b8g8r8:
        return {3, 2, 1, -1};
    case Format::a8b8g8r8:
        return {3, 2, 1, 0};
    case Format::r8g8b8x8:
        return {0, 1, 2, -1};
    }
    return {2, 1, 0, -1};
}

} // namespace

wlr_buffer* create_frame_buffer(int width, int height, bool with_alpha) {
    auto* buffer = new FrameBuffer{};
    buffer->stride = static_cast<size_t>(width) * 4;
    buffer->pixels = new std::byte[buffer->stride * static_cast<size_t>(height)]();
    buffer->drm_format = with_alpha ? DRM_FORMAT_ARGB8888 : DRM_FORMAT_XRGB8888;
    wlr_buffer_init(&buffer->base, &frame_buffer_impl, width, height);
    return &buffer->base;
}

uint64_t copy_to_frame_buffer(wlr_buffer* buffer, std::span<const std::byte> src,
                              uint32_t src_stride, Format format, gpu::proto::Rect rect) {
    auto* self = from_base(buffer);
    ByteOrder order = byte_order(format);
    bool opaque = self->drm_format == DRM_FORMAT_XRGB8888;
    size_t row_bytes = size_t{rect.width} * 4;
    for (uint32_t row = 0; row < rect.height; ++row) {
        const std::byte* in = src.data() + size_t{rect.y + row} * src_stride + size_t{rect.x} * 4;
        std::byte* out = self->pixels + (rect.y + row) * self->stride + size_t{rect.x} * 4;
        if (order.r == 2 && order.g == 1 && order.b == 0 && (opaque || order.a == 3)) {
            std::memcpy(out, in, row_bytes); // already B, G, R, A/X in memory
            continue;
        }
        for (uint32_t x = 0; x < rect.width; ++x, in += 4, out += 4) {
            out[0] = in[order.b];
            out[1] = in[order.g];
            out[2] = in[order.r];
            out[3] = order.a < 0 ? std::byte{0xff} : in[order.a];
        }
    }
    return uint64_t{row_bytes} * rect.height;
}

} // namespace tessera::compositor
