#include "guest_pixels.hpp"

#include "pixel_buffer.hpp"

#include <cstring>

namespace tessera::compositor {
namespace {

using gpu::proto::Format;

// Where blue, green, red and alpha sit in a guest pixel's four bytes; alpha -1: none (X).
struct ByteOrder {
    int b, g, r, a;
};

ByteOrder byte_order(Format format) {
    switch (format) {
    case Format::b8g8r8a8:
        return {0, 1, 2, 3};
    case Format::b8g8r8x8:
        return {0, 1, 2, -1};
    case Format::a8r8g8b8:
        return {3, 2, 1, 0};
    case Format::x8r8g8b8:
        return {3, 2, 1, -1};
    case Format::r8g8b8a8:
        return {2, 1, 0, 3};
    case Format::x8b8g8r8:
        return {1, 2, 3, -1};
    case Format::a8b8g8r8:
        return {1, 2, 3, 0};
    case Format::r8g8b8x8:
        return {2, 1, 0, -1};
    }
    return {0, 1, 2, -1};
}

// Already B, G, R, A/X in memory, as the pixel buffer wants it.
bool is_plain_copy(ByteOrder order, uint32_t drm_format) {
    bool opaque = drm_format == DRM_FORMAT_XRGB8888;
    return order.b == 0 && order.g == 1 && order.r == 2 && (opaque || order.a == 3);
}

void convert_pixel(std::byte* out, const std::byte* in, ByteOrder order) {
    out[0] = in[order.b];
    out[1] = in[order.g];
    out[2] = in[order.r];
    out[3] = order.a < 0 ? std::byte{0xff} : in[order.a];
}

} // namespace

uint64_t copy_guest_pixels(wlr_buffer* buffer, std::span<const std::byte> src, uint32_t src_stride,
                           Format format, gpu::proto::Rect rect) {
    PixelData out_data = pixel_data(buffer);
    ByteOrder order = byte_order(format);
    bool plain = is_plain_copy(order, out_data.drm_format);
    size_t row_bytes = size_t{rect.width} * 4;
    for (uint32_t row = 0; row < rect.height; ++row) {
        const std::byte* in = src.data() + size_t{rect.y + row} * src_stride + size_t{rect.x} * 4;
        std::byte* out =
            out_data.bytes.data() + (rect.y + row) * out_data.stride + size_t{rect.x} * 4;
        if (plain) {
            std::memcpy(out, in, row_bytes);
            continue;
        }
        for (uint32_t x = 0; x < rect.width; ++x, in += 4, out += 4) {
            convert_pixel(out, in, order);
        }
    }
    return uint64_t{row_bytes} * rect.height;
}

} // namespace tessera::compositor
