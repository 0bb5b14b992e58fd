#pragma once

#include "image.hpp"

#include <optional>
#include <vector>

namespace tessera {

// How far the pixels of a frame hold what was meant to be shown there.
struct PixelCheck {
    int checked = 0;    // pixels compared
    int mismatched = 0; // of those, pixels that differ
    // The first mismatched pixel, in reading order.
    std::optional<std::pair<int, int>> first;
    [[nodiscard]] bool matches() const { return mismatched == 0; }
};

// A rectangle of pixels left out of a check.
struct PixelArea {
    int x = 0, y = 0, width = 0, height = 0;
    [[nodiscard]] bool contains(int px, int py) const {
        return px >= x && py >= y && px < x + width && py < y + height;
    }
};

// `shown` against `expected`, pixel for pixel and exactly, where `expected` is opaque (other
// pixels were blended with what lies below) and outside `skip`. Sizes must be equal: an image of
// another size mismatches entirely.
PixelCheck check_pixels(const Image& shown, const Image& expected,
                        const std::vector<PixelArea>& skip = {});
// Every pixel of `shown` is `color`, each channel within `tolerance`.
PixelCheck check_fill(const Image& shown, Rgba color, int tolerance);

} // namespace tessera
