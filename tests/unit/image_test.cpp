#include "util/image.hpp"

#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>

using namespace tessera;

TEST_CASE("DRM buffers convert to RGBA in every supported byte order", "[image]") {
    // One pixel, little-endian words: bytes B G R A for ARGB8888.
    std::array<std::byte, 8> data{std::byte{0x30}, std::byte{0x20}, std::byte{0x10},
                                  std::byte{0x80}, std::byte{0x01}, std::byte{0x02},
                                  std::byte{0x03}, std::byte{0x04}};
    constexpr uint32_t argb = 0x34325241, xrgb = 0x34325258, abgr = 0x34324241, xbgr = 0x34324258;

    auto a = Image::from_drm_buffer(argb, data, 8, 2, 1);
    REQUIRE(a);
    CHECK(a->at(0, 0) == Rgba{0x10, 0x20, 0x30, 0x80});
    CHECK(a->at(1, 0) == Rgba{0x03, 0x02, 0x01, 0x04});

    auto x = Image::from_drm_buffer(xrgb, data, 8, 2, 1);
    REQUIRE(x);
    CHECK(x->at(0, 0) == Rgba{0x10, 0x20, 0x30, 0xff});

    auto b = Image::from_drm_buffer(abgr, data, 8, 2, 1);
    REQUIRE(b);
    CHECK(b->at(0, 0) == Rgba{0x30, 0x20, 0x10, 0x80});
    CHECK(Image::from_drm_buffer(xbgr, data, 8, 2, 1)->at(1, 0) == Rgba{0x01, 0x02, 0x03, 0xff});
}

TEST_CASE("buffer conversion refuses bad sizes and formats", "[image]") {
    std::array<std::byte, 16> data{};
    constexpr uint32_t xrgb = 0x34325258, nv12 = 0x3231564e;
    CHECK_FALSE(Image::from_drm_buffer(nv12, data, 8, 2, 2));
    CHECK_FALSE(Image::from_drm_buffer(xrgb, data, 8, 2, 3)); // needs 24 bytes
    CHECK_FALSE(Image::from_drm_buffer(xrgb, data, 4, 2, 1)); // stride below width
    CHECK_FALSE(Image::from_drm_buffer(xrgb, data, 8, 0, 1));
    // The last row needs only width * 4 bytes, not a whole stride.
    CHECK(Image::from_drm_buffer(xrgb, std::span(data).first(12), 8, 1, 2));
}

TEST_CASE("PNG files round-trip exactly", "[image]") {
    Image image(5, 3, {10, 20, 30, 255});
    image.set(4, 2, {200, 100, 50, 128});
    auto path = (std::filesystem::temp_directory_path() /
                 ("tessera-image-test-" + std::to_string(getpid()) + ".png"))
                    .string();
    REQUIRE(write_png(image, path));
    auto loaded = read_png(path);
    std::filesystem::remove(path);
    REQUIRE(loaded);
    CHECK(loaded->width() == 5);
    CHECK(loaded->height() == 3);
    CHECK(compare_images(*loaded, image, 0).matches());
    CHECK(loaded->at(4, 2) == Rgba{200, 100, 50, 128});
}

TEST_CASE("reading a missing or broken PNG reports the file", "[image]") {
    auto missing = read_png("/nonexistent/reference.png");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().starts_with("/nonexistent/reference.png"));
    CHECK_FALSE(write_png(Image(), "/tmp/empty.png"));
}

TEST_CASE("comparison honours the per-channel tolerance and locates differences", "[image]") {
    Image expected(10, 10, {100, 100, 100, 255});
    Image actual = expected;
    actual.set(2, 3, {103, 100, 100, 255});
    actual.set(7, 8, {100, 100, 90, 255});

    auto loose = compare_images(actual, expected, 10);
    CHECK(loose.matches());

    auto strict = compare_images(actual, expected, 2);
    CHECK_FALSE(strict.matches());
    CHECK(strict.mismatched_pixels == 2);
    CHECK(strict.max_channel_delta == 10);
    CHECK(strict.first_x == 2);
    CHECK(strict.first_y == 3);
    CHECK(strict.last_x == 7);
    CHECK(strict.last_y == 8);
    CHECK(strict.diff.at(2, 3) == Rgba{255, 0, 0, 255});
    CHECK(strict.diff.at(0, 0) != Rgba{255, 0, 0, 255});
    CHECK(strict.describe().find("2 pixels differ") != std::string::npos);

    auto middle = compare_images(actual, expected, 3);
    CHECK(middle.mismatched_pixels == 1);
}

TEST_CASE("images of different sizes never match", "[image]") {
    auto result = compare_images(Image(4, 4), Image(4, 5), 255);
    CHECK_FALSE(result.sizes_match);
    CHECK_FALSE(result.matches());
}

TEST_CASE("crop clips to the image", "[image]") {
    Image image(4, 4, {1, 2, 3, 255});
    image.set(3, 3, {9, 9, 9, 255});
    auto part = image.crop(2, 2, 10, 10);
    CHECK(part.width() == 2);
    CHECK(part.height() == 2);
    CHECK(part.at(1, 1) == Rgba{9, 9, 9, 255});
    CHECK(image.crop(5, 5, 2, 2).empty());
}

TEST_CASE("images are made from packed RGBA rows of the right size only", "[image]") {
    auto image = Image::from_rgba(2, 1, {1, 2, 3, 4, 5, 6, 7, 8});
    REQUIRE(image);
    CHECK(image->at(1, 0) == Rgba{5, 6, 7, 8});
    CHECK_FALSE(Image::from_rgba(2, 2, {1, 2, 3, 4}));
    CHECK_FALSE(Image::from_rgba(0, 1, {}));
}
