#include "geometry.hpp"

#include <charconv>
#include <cmath>
#include <format>

namespace tessera::ivi {

Rect Rect::intersect(const Rect& other) const {
    int x0 = std::max(x, other.x), y0 = std::max(y, other.y);
    int x1 = std::min(x + width, other.x + other.width);
    int y1 = std::min(y + height, other.y + other.height);
    if (x1 <= x0 || y1 <= y0) {
        return {};
    }
    return {x0, y0, x1 - x0, y1 - y0};
}

std::optional<Transform> parse_transform(std::string_view text) {
    static constexpr std::pair<std::string_view, Transform> names[] = {
        {"normal", Transform::normal},           {"90", Transform::rotate_90},
        {"180", Transform::rotate_180},          {"270", Transform::rotate_270},
        {"flipped", Transform::flipped},         {"flipped-90", Transform::flipped_90},
        {"flipped-180", Transform::flipped_180}, {"flipped-270", Transform::flipped_270},
    };
    for (const auto& [name, transform] : names) {
        if (name == text) {
            return transform;
        }
    }
    return std::nullopt;
}

Size logical_size(Size mode, Transform transform, double scale) {
    bool swapped = transform == Transform::rotate_90 || transform == Transform::rotate_270 ||
                   transform == Transform::flipped_90 || transform == Transform::flipped_270;
    Size size = swapped ? Size{mode.height, mode.width} : mode;
    if (scale > 0 && scale != 1.0) {
        size.width = static_cast<int>(std::lround(size.width / scale));
        size.height = static_cast<int>(std::lround(size.height / scale));
    }
    return size;
}

std::optional<Length> parse_length(std::string_view text) {
    Length length;
    if (text.ends_with('%')) {
        length.percent = true;
        text.remove_suffix(1);
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length.value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
        !std::isfinite(length.value) || length.value < 0) {
        return std::nullopt;
    }
    return length;
}

std::string format_length(const Length& length) {
    return length.percent ? std::format("{}%", length.value) : std::format("{}", length.value);
}

namespace {

double resolve_position(const Length& length, int total) {
    return length.percent ? length.value * total / 100.0 : length.value;
}

} // namespace

Rect RectSpec::resolve(Size output) const {
    double left = resolve_position(x, output.width);
    double top = resolve_position(y, output.height);
    // The far edge is resolved from the same origin, so adjoining zones meet exactly.
    double right = left + (width.percent ? width.value * output.width / 100.0 : width.value);
    double bottom = top + (height.percent ? height.value * output.height / 100.0 : height.value);
    auto x0 = static_cast<int>(std::lround(left));
    auto y0 = static_cast<int>(std::lround(top));
    auto x1 = static_cast<int>(std::lround(right));
    auto y1 = static_cast<int>(std::lround(bottom));
    return {x0, y0, std::max(0, x1 - x0), std::max(0, y1 - y0)};
}

std::optional<Color> parse_color(std::string_view text) {
    if (!text.starts_with('#') || (text.size() != 7 && text.size() != 9)) {
        return std::nullopt;
    }
    uint8_t bytes[4] = {0, 0, 0, 255};
    for (size_t i = 0; i * 2 + 1 < text.size(); ++i) {
        auto digits = text.substr(1 + i * 2, 2);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + 2, bytes[i], 16);
        if (ec != std::errc{} || end != digits.data() + 2) {
            return std::nullopt;
        }
    }
    return Color{bytes[0] / 255.0f, bytes[1] / 255.0f, bytes[2] / 255.0f, bytes[3] / 255.0f};
}

std::string format_color(const Color& color) {
    auto byte = [](float value) { return static_cast<int>(std::lround(value * 255.0f)); };
    if (byte(color.a) == 255) {
        return std::format("#{:02x}{:02x}{:02x}", byte(color.r), byte(color.g), byte(color.b));
    }
    return std::format("#{:02x}{:02x}{:02x}{:02x}", byte(color.r), byte(color.g), byte(color.b),
                       byte(color.a));
}

} // namespace tessera::ivi
