#include "surface_hints.hpp"

namespace tessera::compositor {

namespace {
constexpr uint32_t tearing_control_version = 1;
constexpr uint32_t content_type_version = 1;
} // namespace

SurfaceHints::SurfaceHints(wl_display* display)
    : tearing_(wlr_tearing_control_manager_v1_create(display, tearing_control_version)),
      content_type_(wlr_content_type_manager_v1_create(display, content_type_version)) {}

bool SurfaceHints::wants_tearing(wlr_surface* surface) const {
    return surface && wlr_tearing_control_manager_v1_surface_hint_from_surface(tearing_, surface) ==
                          WP_TEARING_CONTROL_V1_PRESENTATION_HINT_ASYNC;
}

std::string_view SurfaceHints::content_type(wlr_surface* surface) const {
    switch (surface ? wlr_surface_get_content_type_v1(content_type_, surface)
                    : WP_CONTENT_TYPE_V1_TYPE_NONE) {
    case WP_CONTENT_TYPE_V1_TYPE_PHOTO:
        return "photo";
    case WP_CONTENT_TYPE_V1_TYPE_VIDEO:
        return "video";
    case WP_CONTENT_TYPE_V1_TYPE_GAME:
        return "game";
    default:
        return "none";
    }
}

} // namespace tessera::compositor
