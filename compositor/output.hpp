#pragma once

#include "listener.hpp"
#include "util/image.hpp"
#include "util/options.hpp"
#include "wlr.hpp"

#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tessera::compositor {

class PlanePlanner;
class Server;
class ZoneContent;

// Colour shown where no surface covers an output, as 8-bit sRGB.
inline constexpr uint8_t backdrop_rgb[3] = {0x20, 0x20, 0x28};

// One wlr_output: its scene output, its backdrop, and frame scheduling. Destroys itself (through
// Server::remove_output) when the wlr_output goes away.
class Output {
public:
    static std::expected<std::unique_ptr<Output>, std::string>
    create(Server& server, wlr_output* output, std::optional<HeadlessOutputSpec> headless);
    ~Output();
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;

    [[nodiscard]] wlr_output* wlr() const { return output_; }
    [[nodiscard]] std::string_view name() const { return output_->name; }
    [[nodiscard]] bool enabled() const { return output_->enabled; }
    [[nodiscard]] wlr_scene_output* scene_output() const { return scene_output_; }
    // The output's rectangle in layout coordinates (empty when not in the layout).
    [[nodiscard]] wlr_box layout_box() const;
    // What is left of layout_box() after layer-shell exclusive zones.
    [[nodiscard]] wlr_box usable_area() const { return usable_area_; }
    void set_usable_area(const wlr_box& box) { usable_area_ = box; }
    [[nodiscard]] uint64_t frames_committed() const { return frames_committed_; }
    [[nodiscard]] uint64_t frames_presented() const { return frames_presented_; }
    // Frames whose primary buffer tessera rendered (the rest only changed plane content).
    [[nodiscard]] uint64_t frames_composited() const;
    // Hardware planes showing zone content after the last commit, and how many there are.
    [[nodiscard]] int planes_in_use() const;
    [[nodiscard]] int plane_budget() const;
    [[nodiscard]] const PlanePlanner* planner() const { return planner_.get(); }
    // A zone content on this output has a new frame.
    void content_frame(const ZoneContent& content);
    // A client set or dropped this output's gamma ramp: it goes into the next frame.
    void gamma_changed();
    [[nodiscard]] bool gamma_pending() const { return gamma_changed_; }
    // What a frame carries beside its pictures: a changed gamma ramp, and the tearing page flip
    // that a fullscreen window asking for it gets where tessera allows tearing and the output
    // can do it (tested, else left out).
    void add_frame_options(wlr_output_state& state);
    // Whether the window shown fullscreen on this output asks to tear, and how many frames were
    // committed tearing.
    [[nodiscard]] bool tearing_wanted() const;
    [[nodiscard]] uint64_t frames_torn() const { return frames_torn_; }

    // Follows a change of size or position.
    void arrange();
    // Puts the output into the layout (at a position, or right of the others) or takes it out.
    void add_to_layout(std::optional<std::pair<int, int>> position = std::nullopt);
    void remove_from_layout();

    // Renders a complete new frame and hands its pixels to `done`, read back from the buffer
    // the output committed.
    using CaptureCallback = std::function<void(std::expected<Image, std::string>)>;
    void capture_next_frame(CaptureCallback done);

private:
    Output(Server& server, wlr_output* output);
    void handle_frame();
    bool commit_composited();
    void handle_commit(const wlr_output_event_commit& event);

    Server& server_;
    wlr_output* output_;
    wlr_scene_output* scene_output_ = nullptr;
    wlr_scene_rect* backdrop_ = nullptr;
    wlr_box usable_area_{};
    uint64_t frames_committed_ = 0;
    uint64_t frames_presented_ = 0;
    uint64_t frames_rendered_ = 0; // without a planner
    uint64_t frames_torn_ = 0;
    bool gamma_changed_ = false;
    std::unique_ptr<PlanePlanner> planner_; // DRM outputs
    std::vector<CaptureCallback> pending_captures_;
    // The primary buffer committed by the frame being made, locked until it has been verified.
    wlr_buffer* committed_buffer_ = nullptr;

    Listener<void> on_frame_;
    Listener<wlr_output_event_request_state> on_request_state_;
    Listener<wlr_output_event_commit> on_commit_;
    Listener<wlr_output_event_present> on_present_;
    Listener<void> on_destroy_;
    Listener<void> on_scene_output_destroy_;
};

} // namespace tessera::compositor
