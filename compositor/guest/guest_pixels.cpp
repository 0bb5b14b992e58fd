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

GuestRowWriter::GuestRowWriter(wlr_buffer* buffer, Format format, uint32_t x, uint32_t y,
                               uint32_t width) {
    PixelData data = pixel_data(buffer);
    out_ = data.bytes.data() + y * data.stride + size_t{x} * 4;
    capacity_ = size_t{width} * 4;
    ByteOrder order = byte_order(format);
    order_ = {order.b, order.g, order.r, order.a};
    plain_copy_ = is_plain_copy(order, data.drm_format);
}

bool GuestRowWriter::write(std::span<const std::byte> piece) {
    if (piece.size() > capacity_ - written_ - partial_size_) {
        return false;
    }
    if (plain_copy_) {
        std::memcpy(out_ + written_, piece.data(), piece.size());
        written_ += piece.size();
        return true;
    }
    // Finish a pixel begun in the previous piece, convert the whole ones, keep the rest.
    while (partial_size_ != 0 && !piece.empty()) {
        partial_[partial_size_++] = piece.front();
        piece = piece.subspan(1);
        if (partial_size_ == 4) {
            put_pixel(partial_.data());
            partial_size_ = 0;
        }
    }
    for (; piece.size() >= 4; piece = piece.subspan(4)) {
        put_pixel(piece.data());
    }
    for (std::byte b : piece) {
        partial_[partial_size_++] = b;
    }
    return true;
}

void GuestRowWriter::put_pixel(const std::byte* in) {
    convert_pixel(out_ + written_, in, {order_[0], order_[1], order_[2], order_[3]});
    written_ += 4;
}

} // namespace tessera::compositor
