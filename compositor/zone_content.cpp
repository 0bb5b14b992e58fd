#include "zone_content.hpp"

namespace tessera::compositor {

namespace {
constexpr auto fps_window = std::chrono::seconds(1);
}

wlr_scene_buffer* ZoneContent::main_buffer() const {
    struct Search {
        wlr_surface* surface;
        wlr_scene_buffer* found = nullptr;
    } search{surface()};
    if (!search.surface) {
        return nullptr;
    }
    wlr_scene_node_for_each_buffer(
        &content_tree()->node,
        [](wlr_scene_buffer* buffer, int, int, void* data) {
            auto* s = static_cast<Search*>(data);
            auto* scene_surface = wlr_scene_surface_try_from_buffer(buffer);
            if (!s->found && scene_surface && scene_surface->surface == s->surface) {
                s->found = buffer;
            }
        },
        &search);
    return search.found;
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
