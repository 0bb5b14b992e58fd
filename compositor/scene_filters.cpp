#include "scene_filters.hpp"

namespace tessera::compositor {

void use_nearest_filter_for_solid_colors(wlr_scene_node* root) {
    wlr_scene_node_for_each_buffer(
        root,
        [](wlr_scene_buffer* scene_buffer, int, int, void*) {
            const auto* buffer = scene_buffer->buffer;
            if (buffer && buffer->width == 1 && buffer->height == 1 &&
                scene_buffer->filter_mode != WLR_SCALE_FILTER_NEAREST) {
                wlr_scene_buffer_set_filter_mode(scene_buffer, WLR_SCALE_FILTER_NEAREST);
            }
        },
        nullptr);
}

} // namespace tessera::compositor
