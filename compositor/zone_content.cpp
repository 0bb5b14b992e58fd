#include "zone_content.hpp"

namespace tessera::compositor {

namespace {
constexpr auto fps_window = std::chrono::seconds(1);
}

wlr_scene_buffer* find_scene_buffer(wlr_scene_node* node,
                                    const std::function<bool(wlr_scene_buffer*)>& visit) {
    if (node->type == WLR_SCENE_NODE_BUFFER) {
        auto* buffer = wlr_scene_buffer_from_node(node);
        return visit(buffer) ? buffer : nullptr;
    }
    if (node->type != WLR_SCENE_NODE_TREE) {
        return nullptr;
    }
    wlr_scene_node* child = nullptr;
    wl_list_for_each(child, &wlr_scene_tree_from_node(node)->children, link) {
        if (auto* found = find_scene_buffer(child, visit)) {
            return found;
        }
    }
    return nullptr;
}

wlr_scene_buffer* ZoneContent::main_buffer() const {
    auto* target = surface();
    if (!target) {
        return nullptr;
    }
    return find_scene_buffer(&content_tree()->node, [target](wlr_scene_buffer* buffer) {
        auto* scene_surface = wlr_scene_surface_try_from_buffer(buffer);
        return scene_surface && scene_surface->surface == target;
    });
}

uint64_t ZoneContent::next_id() {
    static uint64_t counter = 0;
    return ++counter;
}

void ZoneContent::count_frame() {
    ++frames_;
    auto now = std::chrono::steady_clock::now();
    recent_frames_.push_back(now);
    while (!recent_frames_.empty() && now - recent_frames_.front() > fps_window) {
        recent_frames_.pop_front();
    }
    if (on_frame) {
        on_frame();
    }
}

double ZoneContent::fps() const {
    auto now = std::chrono::steady_clock::now();
    size_t count = 0;
    for (auto it = recent_frames_.rbegin(); it != recent_frames_.rend(); ++it) {
        if (now - *it > fps_window) {
            break;
        }
        ++count;
    }
    return static_cast<double>(count);
}

} // namespace tessera::compositor
