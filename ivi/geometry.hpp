#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Geometry of zones and their content, in whole pixels of an output's layout space.
namespace tessera::ivi {

struct Size {
    int width = 0;
    int height = 0;
    [[nodiscard]] bool empty() const { return width <= 0 || height <= 0; }
    bool operator==(const Size&) const = default;
};

struct Rect {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;

    [[nodiscard]] bool empty() const { return width <= 0 || height <= 0; }
    [[nodiscard]] Size size() const { return {width, height}; }
    [[nodiscard]] bool contains(double px, double py) const {
        return !empty() && px >= x && py >= y && px < x + width && py < y + height;
    }
    // The common part of two rectangles; empty (at 0,0) when they do not overlap.
    [[nodiscard]] Rect intersect(const Rect& other) const;
    [[nodiscard]] Rect translated(int dx, int dy) const { return {x + dx, y + dy, width, height}; }
    bool operator==(const Rect&) const = default;
};

// A rectangle in fractional pixels: a source crop inside a buffer.
struct FRect {
    double x = 0, y = 0, width = 0, height = 0;
    bool operator==(const FRect&) const = default;
};

// An output's rotation/flip, as in wl_output.transform.
enum class Transform {
    normal,
    rotate_90,
    rotate_180,
    rotate_270,
    flipped,
    flipped_90,
    flipped_180,
    flipped_270,
};

std::optional<Transform> parse_transform(std::string_view text);

// The size of an output in layout space: its mode, turned by the transform (90 and 270 swap
// width and height) and divided by its scale (rounded like wlroots does).
Size logical_size(Size mode, Transform transform, double scale = 1.0);

// A length in a layout file: pixels, or a percentage of the output's width or height.
struct Length {
    double value = 0;
    bool percent = false;
    bool operator==(const Length&) const = default;
};

// "120" (pixels) or "33.3%"; nullopt when malformed or negative.
std::optional<Length> parse_length(std::string_view text);
std::string format_length(const Length& length);

// A zone's rectangle as written in a layout file.
struct RectSpec {
    Length x, y, width, height;

    // Pixel rectangle on an output of `output` size. Percentages are resolved per edge (left and
    // right edge each rounded), so that zones tiling an output by percentages share edges with
    // no gap and no overlap, whatever the output size.
    [[nodiscard]] Rect resolve(Size output) const;
    bool operator==(const RectSpec&) const = default;
};

// An sRGB colour with alpha, components 0..1.
struct Color {
    float r = 0, g = 0, b = 0, a = 1;
    bool operator==(const Color&) const = default;
};

// "#rrggbb" or "#rrggbbaa".
std::optional<Color> parse_color(std::string_view text);
std::string format_color(const Color& color);

} // namespace tessera::ivi
