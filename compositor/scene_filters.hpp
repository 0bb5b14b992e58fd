#pragma once

#include "wlr.hpp"

namespace tessera::compositor {

// Solid-colour surfaces (a 1x1 buffer, usually single-pixel-buffer, scaled up with viewporter)
// must be drawn with nearest filtering: wlroots' pixman renderer filters scaled textures
// bilinearly without edge padding, which turns one pixel into a gradient that fades out at the
// edges. Call after each commit of a surface tree.
void use_nearest_filter_for_solid_colors(wlr_scene_node* root);

} // namespace tessera::compositor
