// Guest pixels into host pixel buffers, in the guest's byte order.
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

TEST_CASE("guest byte orders become the host's", "[guest-pixels]") {
    auto row = guest_row();
    Buffer opaque(DRM_FORMAT_XRGB8888), alpha(DRM_FORMAT_ARGB8888);
    CHECK(copy_guest_pixels(opaque.buffer, row, 16, Format::b8g8r8x8, {0, 0, 4, 1}) == 16);
    CHECK((opaque.at(1, 0) & 0x00ffffff) == 0x00211101); // B, G, R bytes as they were
    copy_guest_pixels(alpha.buffer, row, 16, Format::r8g8b8a8, {0, 0, 4, 1});
    CHECK(alpha.at(1, 0) == 0x31011121); // R = byte 0, G = byte 1, B = byte 2, A = byte 3
    // Rows are read at the rectangle's place in the source, 16 bytes apart.
    std::vector<std::byte> two_rows = row;
    two_rows.insert(two_rows.end(), row.begin(), row.end());
    copy_guest_pixels(alpha.buffer, two_rows, 16, Format::x8b8g8r8, {0, 1, 4, 1});
    CHECK(alpha.at(1, 1) == 0xff312111); // X first, then B, G, R; opaque
}
