// Guest pixels into host pixel buffers: rectangles, and rows arriving in pieces of guest memory
// of any length (a pixel may straddle two), in the guest's byte order.
#include "guest/guest_pixels.hpp"
#include "pixel_buffer.hpp"

#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <vector>

using namespace tessera::compositor;
using tessera::gpu::proto::Format;

namespace {

struct Buffer {
    wlr_buffer* buffer;
    explicit Buffer(uint32_t drm_format) : buffer(create_pixel_buffer(8, 2, drm_format)) {}
    ~Buffer() { wlr_buffer_drop(buffer); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    // Pixel (x, y) as a little-endian word: 0xAARRGGBB.
    [[nodiscard]] uint32_t at(int x, int y) const {
        PixelData data = pixel_data(buffer);
        uint32_t word = 0;
        std::memcpy(&word, data.bytes.data() + y * data.stride + x * 4, 4);
        return word;
    }
};

// Four guest pixels, each bytes {b0, b1, b2, b3} = {i, 0x10 + i, 0x20 + i, 0x30 + i}.
std::vector<std::byte> guest_row() {
    std::vector<std::byte> row;
    for (int i = 0; i < 4; ++i) {
        for (int k = 0; k < 4; ++k) {
            row.push_back(static_cast<std::byte>(0x10 * k + i));
        }
    }
    return row;
}

} // namespace

TEST_CASE("a row arriving in pieces of any length lands as one row", "[guest-pixels]") {
    auto row = guest_row();
    for (size_t first : {size_t{0}, size_t{1}, size_t{3}, size_t{5}, size_t{16}}) {
        for (Format format : {Format::b8g8r8x8, Format::r8g8b8a8}) {
            CAPTURE(first, static_cast<int>(format));
            Buffer pieces(DRM_FORMAT_ARGB8888), whole(DRM_FORMAT_ARGB8888);
            GuestRowWriter writer(pieces.buffer, format, 2, 1, 4);
            REQUIRE(writer.write(std::span(row).first(first)));
            CHECK(writer.complete() == (first == row.size()));
            // The rest one byte at a time, then all at once: both straddle pixels.
            size_t split = first + (row.size() - first) / 2;
            for (size_t i = first; i < split; ++i) {
                REQUIRE(writer.write(std::span(row).subspan(i, 1)));
            }
            REQUIRE(writer.write(std::span(row).subspan(split)));
            CHECK(writer.complete());
            copy_guest_pixels(whole.buffer, row, 16, format, {0, 0, 4, 1});
            for (int i = 0; i < 4; ++i) {
                CHECK(pieces.at(2 + i, 1) == whole.at(i, 0));
            }
            CHECK(pieces.at(1, 1) == 0); // nothing outside the row
            CHECK(pieces.at(6, 1) == 0);
        }
    }
}

TEST_CASE("guest byte orders become the host's", "[guest-pixels]") {
    auto row = guest_row();
    Buffer opaque(DRM_FORMAT_XRGB8888), alpha(DRM_FORMAT_ARGB8888);
    GuestRowWriter bgrx(opaque.buffer, Format::b8g8r8x8, 0, 0, 4);
    REQUIRE(bgrx.write(row));
    CHECK((opaque.at(1, 0) & 0x00ffffff) == 0x00211101); // B, G, R bytes as they were
    GuestRowWriter rgba(alpha.buffer, Format::r8g8b8a8, 0, 0, 4);
    REQUIRE(rgba.write(row));
    CHECK(alpha.at(1, 0) == 0x31011121); // R = byte 0, G = byte 1, B = byte 2, A = byte 3
    GuestRowWriter xbgr(alpha.buffer, Format::x8b8g8r8, 0, 1, 4);
    REQUIRE(xbgr.write(row));
    CHECK(alpha.at(1, 1) == 0xff312111); // X first, then B, G, R; opaque
}

TEST_CASE("pieces past the row are refused, not written", "[guest-pixels]") {
    auto row = guest_row();
    Buffer buffer(DRM_FORMAT_ARGB8888);
    GuestRowWriter writer(buffer.buffer, Format::b8g8r8a8, 0, 0, 3); // 12 bytes
    CHECK_FALSE(writer.write(row));                                  // 16
    CHECK(buffer.at(0, 0) == 0);
    REQUIRE(writer.write(std::span(row).first(10)));
    CHECK_FALSE(writer.write(std::span(row).first(3)));
    REQUIRE(writer.write(std::span(row).first(2)));
    CHECK(writer.complete());
    CHECK(buffer.at(3, 0) == 0);
}
