#pragma once

#include "util/image.hpp"

#include <cstdint>
#include <optional>
#include <string>

// Reads the test guests' pattern (tests/gpu/guest_pattern.hpp) back from a screenshot of the
// area a guest's screen covers, whatever the scale.
namespace tessera::test {

struct PatternArea {
    int x = 0, y = 0, width = 0, height = 0;
};

// Whether the four quadrant centres have their colours; otherwise what was found.
std::optional<std::string> pattern_mismatch(const Image& image, PatternArea area);
// The frame counter of the top strip; nullopt when a cell is neither black nor white.
std::optional<uint32_t> pattern_counter(const Image& image, PatternArea area);

} // namespace tessera::test
