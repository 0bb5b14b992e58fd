#include "image.hpp"

#include <png.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <format>
#include <memory>

namespace tessera {
namespace {

// DRM fourcc codes, spelled out so this file needs no libdrm.
constexpr uint32_t fourcc(char a, char b, char c, char d) {
    return static_cast<uint32_t>(a) | static_cast<uint32_t>(b) << 8 |
           static_cast<uint32_t>(c) << 16 | static_cast<uint32_t>(d) << 24;
}
constexpr uint32_t drm_xrgb8888 = fourcc('X', 'R', '2', '4');
constexpr uint32_t drm_argb8888 = fourcc('A', 'R', '2', '4');
constexpr uint32_t drm_xbgr8888 = fourcc('X', 'B', '2', '4');
constexpr uint32_t drm_abgr8888 = fourcc('A', 'B', '2', '4');

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

} // namespace

Image::Image(int width, int height, Rgba fill)
    : width_(std::max(width, 0)), height_(std::max(height, 0)),
      pixels_(static_cast<size_t>(width_) * static_cast<size_t>(height_) * 4) {
    for (size_t i = 0; i < pixels_.size(); i += 4) {
        pixels_[i] = fill.r;
        pixels_[i + 1] = fill.g;
        pixels_[i + 2] = fill.b;
        pixels_[i + 3] = fill.a;
    }
}

std::expected<Image, std::string> Image::from_drm_buffer(uint32_t drm_format,
                                                         std::span<const std::byte> data,
                                                         size_t stride, int width, int height) {
    bool rgb_order = drm_format == drm_xrgb8888 || drm_format == drm_argb8888;
    bool bgr_order = drm_format == drm_xbgr8888 || drm_format == drm_abgr8888;
    if (!rgb_order && !bgr_order) {
        return std::unexpected(std::format("unsupported pixel format 0x{:08x}", drm_format));
    }
    if (width <= 0 || height <= 0 || stride < static_cast<size_t>(width) * 4 ||
        data.size() < stride * static_cast<size_t>(height - 1) + static_cast<size_t>(width) * 4) {
        return std::unexpected(std::string("buffer too small for its size and stride"));
    }
    bool opaque = drm_format == drm_xrgb8888 || drm_format == drm_xbgr8888;
    Image image(width, height);
    for (int y = 0; y < height; ++y) {
        const auto* row = reinterpret_cast<const uint8_t*>(data.data()) + stride * y;
        for (int x = 0; x < width; ++x) {
            // Little-endian 32-bit words: byte 0 is the lowest channel.
            const uint8_t* p = row + x * 4;
            Rgba c = rgb_order ? Rgba{p[2], p[1], p[0], p[3]} : Rgba{p[0], p[1], p[2], p[3]};
            if (opaque) {
                c.a = 255;
            }
            image.set(x, y, c);
        }
    }
    return image;
}

std::optional<Image> Image::from_rgba(int width, int height, std::vector<uint8_t> pixels) {
    if (width <= 0 || height <= 0 ||
        pixels.size() != static_cast<size_t>(width) * static_cast<size_t>(height) * 4) {
        return std::nullopt;
    }
    Image image;
    image.width_ = width;
    image.height_ = height;
    image.pixels_ = std::move(pixels);
    return image;
}

Rgba Image::at(int x, int y) const {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) {
        return {0, 0, 0, 0};
    }
    const uint8_t* p = &pixels_[(static_cast<size_t>(y) * width_ + x) * 4];
    return {p[0], p[1], p[2], p[3]};
}

void Image::set(int x, int y, Rgba color) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) {
        return;
    }
    uint8_t* p = &pixels_[(static_cast<size_t>(y) * width_ + x) * 4];
    p[0] = color.r;
    p[1] = color.g;
    p[2] = color.b;
    p[3] = color.a;
}

Image Image::crop(int x, int y, int width, int height) const {
    int x0 = std::clamp(x, 0, width_), y0 = std::clamp(y, 0, height_);
    int x1 = std::clamp(x + std::max(width, 0), 0, width_);
    int y1 = std::clamp(y + std::max(height, 0), 0, height_);
    Image out(x1 - x0, y1 - y0);
    for (int yy = y0; yy < y1; ++yy) {
        for (int xx = x0; xx < x1; ++xx) {
            out.set(xx - x0, yy - y0, at(xx, yy));
        }
    }
    return out;
}

std::expected<Image, std::string> read_png(const std::string& path) {
    png_image png{};
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, path.c_str())) {
        return std::unexpected(std::format("{}: {}", path, png.message));
    }
    png.format = PNG_FORMAT_RGBA;
    if (png.width > 16384 || png.height > 16384) {
        png_image_free(&png);
        return std::unexpected(std::format("{}: image too large", path));
    }
    std::vector<uint8_t> buffer(PNG_IMAGE_SIZE(png));
    if (!png_image_finish_read(&png, nullptr, buffer.data(), 0, nullptr)) {
        return std::unexpected(std::format("{}: {}", path, png.message));
    }
    return *Image::from_rgba(static_cast<int>(png.width), static_cast<int>(png.height),
                             std::move(buffer));
}

std::expected<void, std::string> write_png(const Image& image, const std::string& path) {
    if (image.empty()) {
        return std::unexpected(std::format("{}: refusing to write an empty image", path));
    }
    png_image png{};
    png.version = PNG_IMAGE_VERSION;
    png.width = static_cast<png_uint_32>(image.width());
    png.height = static_cast<png_uint_32>(image.height());
    png.format = PNG_FORMAT_RGBA;
    File file(std::fopen(path.c_str(), "wb"));
    if (!file) {
        return std::unexpected(std::format("{}: cannot open for writing", path));
    }
    if (!png_image_write_to_stdio(&png, file.get(), 0, image.bytes().data(), 0, nullptr)) {
        return std::unexpected(std::format("{}: {}", path, png.message));
    }
    if (std::fflush(file.get()) != 0) {
        return std::unexpected(std::format("{}: write failed", path));
    }
    return {};
}

std::string ImageComparison::describe() const {
    if (!sizes_match) {
        return "image sizes differ";
    }
    if (mismatched_pixels == 0) {
        return "images match";
    }
    return std::format("{} pixels differ (max channel delta {}) inside x {}..{}, y {}..{}",
                       mismatched_pixels, max_channel_delta, first_x, last_x, first_y, last_y);
}

ImageComparison compare_images(const Image& actual, const Image& expected, int tolerance) {
    ImageComparison result;
    result.sizes_match = actual.width() == expected.width() && actual.height() == expected.height();
    if (!result.sizes_match) {
        return result;
    }
    result.diff = Image(actual.width(), actual.height());
    result.first_x = actual.width();
    result.first_y = actual.height();
    for (int y = 0; y < actual.height(); ++y) {
        for (int x = 0; x < actual.width(); ++x) {
            Rgba a = actual.at(x, y), e = expected.at(x, y);
            int delta = std::max({std::abs(a.r - e.r), std::abs(a.g - e.g), std::abs(a.b - e.b),
                                  std::abs(a.a - e.a)});
            if (delta > tolerance) {
                ++result.mismatched_pixels;
                result.max_channel_delta = std::max(result.max_channel_delta, delta);
                result.first_x = std::min(result.first_x, x);
                result.first_y = std::min(result.first_y, y);
                result.last_x = std::max(result.last_x, x);
                result.last_y = std::max(result.last_y, y);
                result.diff.set(x, y, {255, 0, 0, 255});
            } else {
                auto dim = static_cast<uint8_t>((a.r + a.g + a.b) / 12);
                result.diff.set(x, y, {dim, dim, dim, 255});
            }
        }
    }
    return result;
}

} // namespace tessera
