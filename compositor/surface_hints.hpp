#pragma once

#include "wlr.hpp"

#include <string_view>

namespace tessera::compositor {

// What clients say about how their surfaces should be presented: tearing-control-v1 (a game
// that would rather tear than wait for vblank) and content-type-v1 (photo, video, game).
class SurfaceHints {
public:
    explicit SurfaceHints(wl_display* display);
    SurfaceHints(const SurfaceHints&) = delete;
    SurfaceHints& operator=(const SurfaceHints&) = delete;

    // Whether the surface asked for its frames to be shown at once, tearing if need be.
    [[nodiscard]] bool wants_tearing(wlr_surface* surface) const;
    // "photo", "video", "game", or "none" when the client said nothing.
    [[nodiscard]] std::string_view content_type(wlr_surface* surface) const;

private:
    wlr_tearing_control_manager_v1* tearing_;
    wlr_content_type_manager_v1* content_type_;
};

} // namespace tessera::compositor
