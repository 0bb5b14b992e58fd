#include "pixel_check.hpp"

#include <algorithm>
#include <cstdlib>
#include <ranges>

namespace tessera {
namespace {

void count(PixelCheck& check, bool same, int x, int y) {
    ++check.checked;
    if (!same) {
        ++check.mismatched;
        if (!check.first) {
            check.first = {x, y};
        }
    }
}

} // namespace

PixelCheck check_pixels(const Image& shown, const Image& expected,
                        const std::vector<PixelArea>& skip) {
    PixelCheck check;
    if (shown.width() != expected.width() || shown.height() != expected.height()) {
        check.checked = check.mismatched = std::max(1, expected.width() * expected.height());
        check.first = {0, 0};
        return check;
    }
    auto a = shown.bytes();
    auto b = expected.bytes();
    for (int y = 0; y < expected.height(); ++y) {
        for (int x = 0; x < expected.width(); ++x) {
            size_t i = (static_cast<size_t>(y) * static_cast<size_t>(expected.width()) + x) * 4;
            if (b[i + 3] != 255 || std::ranges::any_of(skip, [&](const PixelArea& area) {
                    return area.contains(x, y);
                })) {
                continue;
            }
            // Opaque on both sides: an output frame is opaque.
            bool same = a[i] == b[i] && a[i + 1] == b[i + 1] && a[i + 2] == b[i + 2];
            count(check, same, x, y);
        }
    }
    return check;
}

PixelCheck check_fill(const Image& shown, Rgba color, int tolerance) {
    PixelCheck check;
    const uint8_t want[3] = {color.r, color.g, color.b};
    auto a = shown.bytes();
    for (int y = 0; y < shown.height(); ++y) {
        for (int x = 0; x < shown.width(); ++x) {
            size_t i = (static_cast<size_t>(y) * static_cast<size_t>(shown.width()) + x) * 4;
            bool same = std::ranges::all_of(std::views::iota(0, 3), [&](int c) {
                return std::abs(int{a[i + c]} - int{want[c]}) <= tolerance;
            });
            count(check, same, x, y);
        }
    }
    return check;
}

} // namespace tessera
