#pragma once

#include "event_loop.hpp"
#include "gpu-backend/virtio_gpu/device.hpp"
#include "wlr.hpp"
#include "zone_content.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace tessera::compositor {

class ZoneScene;

// One scanout (virtual display) of a guest as zone content: a copy of the framebuffer the guest
// shows, updated with each rectangle it flushes, and its cursor drawn on top, scaled with the
// zone's fit. When the guest stops showing anything (it disabled the scanout, rebooted, went
// away) the last frame stays for the zone's freeze timeout, then the zone shows its fallback.
class GuestScanout : public ZoneContent {
public:
    // `on_resize` is told the size of the zone the scanout goes to.
    GuestScanout(ZoneScene& zones, wl_event_loop* loop, wlr_scene_tree* parent, std::string guest,
                 uint32_t index, std::function<void(int width, int height)> on_resize);
    ~GuestScanout() override;
    GuestScanout(const GuestScanout&) = delete;
    GuestScanout& operator=(const GuestScanout&) = delete;

    // From the device model (see gpu::DeviceCallbacks).
    void show(const gpu::Resource* resource, gpu::proto::Rect rect);
    void flush(const gpu::Resource& resource, gpu::proto::Rect damage);
    void set_cursor(const gpu::Cursor& cursor, bool image_changed);

    [[nodiscard]] uint32_t index() const { return index_; }
    [[nodiscard]] bool enabled() const { return showing_; } // the guest shows a framebuffer
    [[nodiscard]] int width() const { return frame_ ? frame_->width : 0; }
    [[nodiscard]] int height() const { return frame_ ? frame_->height : 0; }
    [[nodiscard]] uint64_t bytes_copied() const { return bytes_copied_; }

    ivi::ContentIdentity identity() const override;
    std::string describe() const override;
    wlr_scene_tree* content_tree() const override { return tree_; }
    wlr_surface* surface() const override { return nullptr; }
    wlr_box content_box() const override { return {0, 0, width(), height()}; }
    wlr_scene_buffer* main_buffer() const override { return frame_node_; }
    bool ready() const override { return frame_ != nullptr; }
    void configure_size(int width, int height) override;
    void placed() override;

private:
    void copy(const gpu::Resource& resource, gpu::proto::Rect damage);
    void freeze_ended();
    void place_cursor();

    ZoneScene& zones_;
    std::string guest_;
    uint32_t index_;
    std::function<void(int, int)> on_resize_;
    wlr_scene_tree* tree_;
    wlr_scene_buffer* frame_node_;
    wlr_scene_buffer* cursor_node_;
    wlr_buffer* frame_ = nullptr;  // ours; the scene holds its own lock while it shows it
    wlr_buffer* cursor_ = nullptr; // likewise
    gpu::proto::Rect rect_;        // the part of the resource the scanout shows
    bool showing_ = false;
    bool in_zone_ = false;
    gpu::Cursor cursor_state_;
    uint64_t bytes_copied_ = 0;
    Timer freeze_timer_;
};

} // namespace tessera::compositor
