#include "guest_scanout.hpp"

#include "guest_pixels.hpp"
#include "pixel_buffer.hpp"
#include "zone_scene.hpp"

#include <algorithm>
#include <cmath>
#include <format>

namespace tessera::compositor {

namespace {
constexpr auto default_freeze = std::chrono::milliseconds(1000);
}

GuestScanout::GuestScanout(ZoneScene& zones, wl_event_loop* loop, wlr_scene_tree* parent,
                           std::string guest, uint32_t index,
                           std::function<void(int width, int height)> on_resize)
    : zones_(zones), guest_(std::move(guest)), index_(index), on_resize_(std::move(on_resize)),
      tree_(wlr_scene_tree_create(parent)), frame_node_(wlr_scene_buffer_create(tree_, nullptr)),
      cursor_node_(wlr_scene_buffer_create(tree_, nullptr)),
      freeze_timer_(loop, [this] { freeze_ended(); }) {
    wlr_scene_node_set_enabled(&tree_->node, false);
    wlr_scene_node_set_enabled(&cursor_node_->node, false);
}

GuestScanout::~GuestScanout() {
    if (in_zone_) {
        zones_.remove(this);
    }
    wlr_scene_node_destroy(&tree_->node);
    if (frame_) {
        wlr_buffer_drop(frame_);
    }
    if (cursor_) {
        wlr_buffer_drop(cursor_);
    }
}

ivi::ContentIdentity GuestScanout::identity() const {
    return {.ivi_id = {}, .app_id = {}, .guest = guest_, .scanout = static_cast<int>(index_)};
}

std::string GuestScanout::describe() const {
    return std::format("guest {}:{}", guest_, index_);
}

void GuestScanout::configure_size(int width, int height) {
    if (on_resize_ && width > 0 && height > 0) {
        on_resize_(width, height);
    }
}

void GuestScanout::show(const gpu::Resource* resource, gpu::proto::Rect rect) {
    if (!resource) {
        // Keep the last frame a while: a guest rebooting or changing modes comes back soon.
        showing_ = false;
        if (in_zone_ && !freeze_timer_.armed()) {
            const auto* zone = zones_.zone_for(*this);
            freeze_timer_.arm(zone ? zone->freeze_timeout : default_freeze);
        }
        return;
    }
    freeze_timer_.disarm();
    showing_ = true;
    rect_ = rect;
    bool resized = !frame_ || frame_->width != static_cast<int>(rect.width) ||
                   frame_->height != static_cast<int>(rect.height);
    if (resized) {
        if (frame_) {
            wlr_buffer_drop(frame_);
        }
        frame_ = create_pixel_buffer(static_cast<int>(rect.width), static_cast<int>(rect.height),
                                     DRM_FORMAT_XRGB8888);
    }
    // The new framebuffer's current pixels; the guest flushes what it draws next.
    copy(*resource, rect);
    wlr_scene_buffer_set_buffer(frame_node_, frame_);
    if (!in_zone_) {
        in_zone_ = true;
        wlr_scene_node_set_enabled(&tree_->node, true);
        zones_.add(this);
    } else if (resized) {
        zones_.content_committed(this);
    }
}

void GuestScanout::flush(const gpu::Resource& resource, gpu::proto::Rect damage) {
    if (!showing_ || !frame_) {
        return;
    }
    copy(resource, damage);
    pixman_region32_t region;
    pixman_region32_init_rect(&region, static_cast<int>(damage.x - rect_.x),
                              static_cast<int>(damage.y - rect_.y), damage.width, damage.height);
    wlr_scene_buffer_set_buffer_with_damage(frame_node_, frame_, &region);
    pixman_region32_fini(&region);
    count_frame();
}

// Copies `damage` (resource coordinates, inside rect_) of the resource into the frame.
void GuestScanout::copy(const gpu::Resource& resource, gpu::proto::Rect damage) {
    auto src = resource.pixels().subspan(size_t{rect_.y} * resource.stride() +
                                         size_t{rect_.x} * gpu::proto::bytes_per_pixel);
    gpu::proto::Rect local{damage.x - rect_.x, damage.y - rect_.y, damage.width, damage.height};
    bytes_copied_ += copy_guest_pixels(frame_, src, resource.stride(), resource.format(), local);
}

void GuestScanout::freeze_ended() {
    if (showing_ || !in_zone_) {
        return;
    }
    in_zone_ = false;
    zones_.remove(this);
    wlr_scene_node_set_enabled(&tree_->node, false);
    wlr_scene_buffer_set_buffer(frame_node_, nullptr);
    wlr_buffer_drop(frame_);
    frame_ = nullptr;
}

void GuestScanout::set_cursor(const gpu::Cursor& cursor, bool image_changed) {
    cursor_state_ = cursor;
    if (image_changed && cursor.visible && cursor.width > 0 && cursor.height > 0) {
        if (cursor_) {
            wlr_buffer_drop(cursor_);
        }
        cursor_ = create_pixel_buffer(static_cast<int>(cursor.width),
                                      static_cast<int>(cursor.height), DRM_FORMAT_ARGB8888);
        copy_guest_pixels(cursor_, cursor.pixels, cursor.width * gpu::proto::bytes_per_pixel,
                          cursor.format, {0, 0, cursor.width, cursor.height});
        wlr_scene_buffer_set_buffer(cursor_node_, cursor_);
    }
    place_cursor();
}

void GuestScanout::placed() {
    place_cursor();
}

// The cursor's hotspot sits where the guest put it on its scanout, scaled and cropped like the
// frame under it, and clipped to the frame: it never draws over a neighbouring zone.
void GuestScanout::place_cursor() {
    const auto& source = frame_node_->src_box;
    bool visible = cursor_state_.visible && cursor_ && frame_ && frame_node_->dst_width > 0 &&
                   source.width > 0 && source.height > 0;
    if (visible) {
        double sx = frame_node_->dst_width / source.width;
        double sy = frame_node_->dst_height / source.height;
        // The cursor image in the frame's destination coordinates.
        double left = (cursor_state_.x - static_cast<double>(cursor_state_.hot_x) - source.x) * sx;
        double top = (cursor_state_.y - static_cast<double>(cursor_state_.hot_y) - source.y) * sy;
        double right = left + cursor_->width * sx;
        double bottom = top + cursor_->height * sy;
        double clip_left = std::max(left, 0.0);
        double clip_top = std::max(top, 0.0);
        double clip_right = std::min(right, static_cast<double>(frame_node_->dst_width));
        double clip_bottom = std::min(bottom, static_cast<double>(frame_node_->dst_height));
        int width = static_cast<int>(std::lround(clip_right - clip_left));
        int height = static_cast<int>(std::lround(clip_bottom - clip_top));
        visible = width > 0 && height > 0;
        if (visible) {
            wlr_fbox crop{(clip_left - left) / sx, (clip_top - top) / sy,
                          (clip_right - clip_left) / sx, (clip_bottom - clip_top) / sy};
            wlr_scene_buffer_set_source_box(cursor_node_, &crop);
            wlr_scene_buffer_set_dest_size(cursor_node_, width, height);
            wlr_scene_node_set_position(
                &cursor_node_->node, frame_node_->node.x + static_cast<int>(std::lround(clip_left)),
                frame_node_->node.y + static_cast<int>(std::lround(clip_top)));
        }
    }
    wlr_scene_node_set_enabled(&cursor_node_->node, visible);
}

} // namespace tessera::compositor
