#pragma once

#include "ivi/layout.hpp"
#include "wlr.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

namespace tessera::compositor {

// The first buffer under `node` for which `visit` returns true, disabled nodes included:
// wlr_scene_node_for_each_buffer skips those, and content a hardware plane shows has its node
// disabled.
wlr_scene_buffer* find_scene_buffer(wlr_scene_node* node,
                                    const std::function<bool(wlr_scene_buffer*)>& visit);

// Something a zone can show: an xdg toplevel, an ivi-application surface or a guest's scanout.
// Zones place it, size it and count its frames.
class ZoneContent {
public:
    virtual ~ZoneContent() = default;

    // What layout rules match it by.
    [[nodiscard]] virtual ivi::ContentIdentity identity() const = 0;
    // Short kind and name for listings ("xdg foot", "ivi 100").
    [[nodiscard]] virtual std::string describe() const = 0;
    // The tree zones move, scale and show.
    [[nodiscard]] virtual wlr_scene_tree* content_tree() const = 0;
    [[nodiscard]] virtual wlr_surface* surface() const = 0;
    // The part of the tree that counts as the content (window geometry for xdg windows),
    // relative to the tree's origin.
    [[nodiscard]] virtual wlr_box content_box() const = 0;
    // The scene buffer a zone scales and crops to place the content: by default the one that
    // shows surface() in content_tree().
    [[nodiscard]] virtual wlr_scene_buffer* main_buffer() const;
    [[nodiscard]] virtual bool ready() const = 0; // has something to show
    // Asks the client to draw at this size.
    virtual void configure_size(int width, int height) = 0;
    // The zone placed main_buffer() (position, source box, destination size); content drawn
    // beside it, such as a guest's cursor, follows from here.
    virtual void placed() {}
    // An output showing the content is about to composite a frame: bring its buffer up to date.
    virtual void prepare_frame() {}

    // Assigned by the zone scene: the zone it is shown in (empty: hidden).
    std::string zone;
    // A zone chosen at run time (tessera-ctl move) instead of the layout's rules.
    std::optional<std::string> zone_override;

    // Whether the frame shown now was copied by tessera (rather than shown from the client's
    // or guest's own buffer).
    [[nodiscard]] virtual bool frame_copied() const { return false; }

    // Called by count_frame(): the zone scene asks the output for a frame when the content
    // sits on a hardware plane (its updates damage nothing in the composited frame).
    std::function<void()> on_frame;

    // Frame statistics, fed on each commit that brings a new buffer.
    void count_frame();
    [[nodiscard]] uint64_t frames() const { return frames_; }
    [[nodiscard]] double fps() const;
    [[nodiscard]] uint64_t id() const { return id_; }

private:
    static uint64_t next_id();
    uint64_t id_ = next_id();
    uint64_t frames_ = 0;
    std::deque<std::chrono::steady_clock::time_point> recent_frames_;
};

} // namespace tessera::compositor
