#pragma once

#include "geometry.hpp"

#include <optional>
#include <string_view>

namespace tessera::ivi {

// How content whose size differs from its zone is shown.
enum class FitMode {
    stretch, // scaled to the zone, aspect ratio ignored
    fit,     // scaled to fit inside, letterboxed (aspect ratio kept)
    fill,    // scaled to cover the zone, the excess cropped (aspect ratio kept)
    center,  // unscaled and centred, cropped where larger than the zone
    integer, // the largest whole-number scale that fits, centred; `fit` if even 1x is too big
};

std::optional<FitMode> parse_fit_mode(std::string_view text);
std::string_view fit_mode_name(FitMode mode);

// Where content goes inside its zone: `dest` relative to the zone's origin (always inside the
// zone), showing the `source` part of the content (in content pixels).
struct ContentPlacement {
    Rect dest;
    FRect source;
    bool operator==(const ContentPlacement&) const = default;
};

// Empty `dest` when either size is empty.
ContentPlacement place_content(Size content, Size zone, FitMode mode);

// A point in content pixels.
struct ContentPoint {
    double x = 0;
    double y = 0;
    bool operator==(const ContentPoint&) const = default;
};

// The inverse of a placement: the content pixel under a point given relative to the zone's
// origin, or nullopt where no content is shown (letterbox bars, outside the zone). What a
// touch or pointer inside a zone means to the content shown there.
std::optional<ContentPoint> content_point(const ContentPlacement& placement, double zone_x,
                                          double zone_y);

} // namespace tessera::ivi
