#include "guest_pattern_check.hpp"

#include <cstdlib>
#include <format>

namespace tessera::test {

namespace {

bool near(Rgba a, Rgba b) {
    return std::abs(a.r - b.r) <= 24 && std::abs(a.g - b.g) <= 24 && std::abs(a.b - b.b) <= 24;
}

} // namespace

std::optional<std::string> pattern_mismatch(const Image& image, PatternArea area) {
    struct Probe {
        double fx, fy;
        Rgba expected;
        const char* name;
    };
    static constexpr Probe probes[] = {{0.25, 0.25, {255, 0, 0, 255}, "red"},
                                       {0.75, 0.25, {0, 255, 0, 255}, "green"},
                                       {0.25, 0.75, {0, 0, 255, 255}, "blue"},
                                       {0.75, 0.75, {255, 255, 255, 255}, "white"}};
    for (const auto& p : probes) {
        int x = area.x + static_cast<int>(p.fx * area.width);
        int y = area.y + static_cast<int>(p.fy * area.height);
        Rgba found = image.at(x, y);
        if (!near(found, p.expected)) {
            return std::format("at {},{} expected {} but found #{:02x}{:02x}{:02x}", x, y, p.name,
                               found.r, found.g, found.b);
        }
    }
    return std::nullopt;
}

std::optional<uint32_t> pattern_counter(const Image& image, PatternArea area) {
    uint32_t value = 0;
    int y = area.y + area.height / 32;
    for (int i = 0; i < 16; ++i) {
        int x = area.x + static_cast<int>((i + 0.5) * area.width / 16);
        Rgba c = image.at(x, y);
        bool white = near(c, {255, 255, 255, 255});
        if (!white && !near(c, {0, 0, 0, 255})) {
            return std::nullopt;
        }
        value = value << 1 | (white ? 1 : 0);
    }
    return value;
}

} // namespace tessera::test
