#include "fit.hpp"

#include <algorithm>
#include <cmath>

namespace tessera::ivi {

std::optional<FitMode> parse_fit_mode(std::string_view text) {
    for (auto mode :
         {FitMode::stretch, FitMode::fit, FitMode::fill, FitMode::center, FitMode::integer}) {
        if (fit_mode_name(mode) == text) {
            return mode;
        }
    }
    return std::nullopt;
}

std::string_view fit_mode_name(FitMode mode) {
    switch (mode) {
    case FitMode::stretch:
        return "stretch";
    case FitMode::fit:
        return "fit";
    case FitMode::fill:
        return "fill";
    case FitMode::center:
        return "center";
    case FitMode::integer:
        return "integer";
    }
    return "?";
}

namespace {

FRect whole(Size content) {
    return {0, 0, double(content.width), double(content.height)};
}

// Content scaled by `scale`, centred in the zone (it fits: scale <= the fitting scale).
ContentPlacement centred_scaled(Size content, Size zone, double scale) {
    // At least a pixel: very thin content in a small zone must not vanish.
    auto scaled = [&](int length, int limit) {
        return std::clamp(static_cast<int>(std::lround(length * scale)), 1, limit);
    };
    int width = scaled(content.width, zone.width);
    int height = scaled(content.height, zone.height);
    return {{(zone.width - width) / 2, (zone.height - height) / 2, width, height}, whole(content)};
}

// One axis of `center`: unscaled, centred; cropped symmetrically when the content is larger.
void center_axis(int content, int zone, int& dest_pos, int& dest_len, double& src_pos,
                 double& src_len) {
    if (content <= zone) {
        dest_pos = (zone - content) / 2;
        dest_len = content;
        src_pos = 0;
        src_len = content;
    } else {
        dest_pos = 0;
        dest_len = zone;
        src_pos = (content - zone) / 2;
        src_len = zone;
    }
}

} // namespace

ContentPlacement place_content(Size content, Size zone, FitMode mode) {
    if (content.empty() || zone.empty()) {
        return {};
    }
    double sx = double(zone.width) / content.width;
    double sy = double(zone.height) / content.height;
    switch (mode) {
    case FitMode::stretch:
        return {{0, 0, zone.width, zone.height}, whole(content)};
    case FitMode::fit:
        return centred_scaled(content, zone, std::min(sx, sy));
    case FitMode::integer: {
        double scale = std::floor(std::min(sx, sy));
        return centred_scaled(content, zone, scale >= 1 ? scale : std::min(sx, sy));
    }
    case FitMode::fill: {
        double scale = std::max(sx, sy);
        double src_width = zone.width / scale, src_height = zone.height / scale;
        return {{0, 0, zone.width, zone.height},
                {(content.width - src_width) / 2, (content.height - src_height) / 2, src_width,
                 src_height}};
    }
    case FitMode::center: {
        ContentPlacement placement;
        center_axis(content.width, zone.width, placement.dest.x, placement.dest.width,
                    placement.source.x, placement.source.width);
        center_axis(content.height, zone.height, placement.dest.y, placement.dest.height,
                    placement.source.y, placement.source.height);
        return placement;
    }
    }
    return {};
}

std::optional<ContentPoint> content_point(const ContentPlacement& placement, double zone_x,
                                          double zone_y) {
    const Rect& dest = placement.dest;
    if (!dest.contains(zone_x, zone_y)) {
        return std::nullopt;
    }
    const FRect& source = placement.source;
    return ContentPoint{source.x + (zone_x - dest.x) * source.width / dest.width,
                        source.y + (zone_y - dest.y) * source.height / dest.height};
}

} // namespace tessera::ivi
