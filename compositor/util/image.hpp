#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tessera {

struct Rgba {
    uint8_t r = 0, g = 0, b = 0, a = 255;
    bool operator==(const Rgba&) const = default;
};

// A tightly packed 8-bit RGBA image: what screenshots, reference images and diffs are made of.
class Image {
public:
    Image() = default;
    Image(int width, int height, Rgba fill = {});

    // Converts a mapped buffer in a DRM fourcc format (XRGB8888, ARGB8888, XBGR8888,
    // ABGR8888; little-endian as DRM defines them). X formats read back opaque.
    static std::expected<Image, std::string> from_drm_buffer(uint32_t drm_format,
                                                             std::span<const std::byte> data,
                                                             size_t stride, int width, int height);

    // Tightly packed 8-bit RGBA rows, as bytes() gives them; nullopt when the size is wrong.
    static std::optional<Image> from_rgba(int width, int height, std::vector<uint8_t> pixels);

    [[nodiscard]] int width() const { return width_; }
    [[nodiscard]] int height() const { return height_; }
    [[nodiscard]] bool empty() const { return width_ == 0 || height_ == 0; }
    [[nodiscard]] Rgba at(int x, int y) const;
    void set(int x, int y, Rgba color);
    // The part of the image inside the rectangle, clipped to the image.
    [[nodiscard]] Image crop(int x, int y, int width, int height) const;
    [[nodiscard]] std::span<const uint8_t> bytes() const { return pixels_; }

private:
    int width_ = 0;
    int height_ = 0;
    std::vector<uint8_t> pixels_;
};

std::expected<Image, std::string> read_png(const std::string& path);
std::expected<void, std::string> write_png(const Image& image, const std::string& path);

struct ImageComparison {
    bool sizes_match = false;
    int mismatched_pixels = 0;
    int max_channel_delta = 0;
    // Bounding box of mismatched pixels (valid when mismatched_pixels > 0).
    int first_x = 0, first_y = 0, last_x = 0, last_y = 0;
    // Matching pixels dimmed, mismatched pixels bright red.
    Image diff;

    [[nodiscard]] bool matches() const { return sizes_match && mismatched_pixels == 0; }
    [[nodiscard]] std::string describe() const;
};

// Compares per channel (alpha included); a pixel matches when every channel differs by at most
// `tolerance`.
ImageComparison compare_images(const Image& actual, const Image& expected, int tolerance);

} // namespace tessera
