#include "output.hpp"

#include "buffer_readback.hpp"
#include "log_scopes.hpp"
#include "plane_planner.hpp"
#include "server.hpp"
#include "session_lock.hpp"
#include "gamma_control.hpp"
#include "surface_hints.hpp"
#include "toplevel.hpp"
#include "zone_scene.hpp"

#include <time.h>

#include <format>
#include <utility>
#include <vector>

namespace tessera::compositor {

Output::Output(Server& server, wlr_output* output) : server_(server), output_(output) {}

std::expected<std::unique_ptr<Output>, std::string>
Output::create(Server& server, wlr_output* wlr_out, std::optional<HeadlessOutputSpec> headless) {
    if (!wlr_output_init_render(wlr_out, server.allocator(), server.renderer())) {
        return std::unexpected("cannot initialise rendering");
    }
    std::unique_ptr<Output> output(new Output(server, wlr_out));

    wlr_output_state state;
    wlr_output_state_init(&state);
    wlr_output_state_set_enabled(&state, true);
    if (headless) {
        wlr_output_state_set_custom_mode(&state, headless->width, headless->height,
                                         headless->refresh_mhz);
    } else if (auto* mode = wlr_output_preferred_mode(wlr_out)) {
        wlr_output_state_set_mode(&state, mode);
    }
    if (!wlr_output_commit_state(wlr_out, &state)) {
        log::error(comp_log, "output {}: cannot enable it with its preferred mode", wlr_out->name);
    }
    wlr_output_state_finish(&state);

    const float backdrop_color[4] = {backdrop_rgb[0] / 255.0f, backdrop_rgb[1] / 255.0f,
                                     backdrop_rgb[2] / 255.0f, 1.0f};
    output->backdrop_ = wlr_scene_rect_create(server.layers().backdrop, 0, 0, backdrop_color);
    auto* self = output.get();
    // Other outputs composite everything (the headless backend would "accept" layers without
    // ever drawing them).
    if (wlr_output_is_drm(wlr_out)) {
        self->planner_ = std::make_unique<PlanePlanner>(server, *self);
    }
    self->add_to_layout();

    self->on_frame_.connect(&wlr_out->events.frame, [self](void*) { self->handle_frame(); });
    self->on_request_state_.connect(&wlr_out->events.request_state,
                                    [self](wlr_output_event_request_state* event) {
                                        // A nested window was resized or similar.
                                        wlr_output_commit_state(self->output_, event->state);
                                    });
    self->on_present_.connect(&wlr_out->events.present, [self](wlr_output_event_present* event) {
        if (event->presented) {
            ++self->frames_presented_;
        }
    });
    self->on_commit_.connect(&wlr_out->events.commit, [self](wlr_output_event_commit* event) {
        self->handle_commit(*event);
    });
    self->on_destroy_.connect(&wlr_out->events.destroy,
                              [self](void*) { self->server_.remove_output(self); });

    log::info(comp_log, "output {} ({}): {}x{} @ {:.3f} Hz", wlr_out->name,
              wlr_out->description ? wlr_out->description : "", wlr_out->width, wlr_out->height,
              wlr_out->refresh / 1000.0);
    return output;
}

Output::~Output() {
    planner_.reset();
    if (committed_buffer_) {
        wlr_buffer_unlock(committed_buffer_);
    }
    for (auto& callback : pending_captures_) {
        callback(std::unexpected("the output went away"));
    }
    if (backdrop_) {
        wlr_scene_node_destroy(&backdrop_->node);
    }
}

wlr_box Output::layout_box() const {
    wlr_box box{};
    wlr_output_layout_get_box(server_.output_layout(), output_, &box);
    return box;
}

void Output::add_to_layout(std::optional<std::pair<int, int>> position) {
    auto* layout = server_.output_layout();
    auto* layout_output =
        position ? wlr_output_layout_add(layout, output_, position->first, position->second)
                 : wlr_output_layout_add_auto(layout, output_);
    if (!layout_output || scene_output_) {
        return;
    }
    // The scene output lives as long as the output stays in the layout.
    scene_output_ = wlr_scene_output_create(server_.scene(), output_);
    on_scene_output_destroy_.connect(&scene_output_->events.destroy, [this](void*) {
        on_scene_output_destroy_.disconnect();
        scene_output_ = nullptr;
    });
    wlr_scene_output_layout_add_output(server_.scene_layout(), layout_output, scene_output_);
}

void Output::remove_from_layout() {
    wlr_output_layout_remove(server_.output_layout(), output_);
}

void Output::arrange() {
    wlr_box box = layout_box();
    wlr_scene_node_set_enabled(&backdrop_->node, !wlr_box_empty(&box));
    wlr_scene_node_set_position(&backdrop_->node, box.x, box.y);
    wlr_scene_rect_set_size(backdrop_, box.width, box.height);
    usable_area_ = box;
}

void Output::handle_frame() {
    if (!scene_output_) {
        return;
    }
    if (committed_buffer_) { // committed outside a frame: not what this frame renders
        wlr_buffer_unlock(std::exchange(committed_buffer_, nullptr));
    }
    if (auto* zones = server_.zones()) {
        zones->prepare_frame(*this);
    }
    if (auto* zones = server_.zones()) {
        zones->verifier().prepare_frame(*this);
    }
    bool ok = true;
    if (planner_) {
        // A screenshot reads the primary buffer: everything composited for that frame.
        // While the session is locked nothing may show above the lock: everything composites.
        ok =
            planner_->commit_frame(!pending_captures_.empty() || server_.capture_pending(output_) ||
                                   server_.session_lock()->locked());
    } else {
        uint64_t before = frames_committed_;
        ok = commit_composited();
        frames_rendered_ += frames_committed_ - before;
    }
    if (!ok) {
        log::debug(comp_log, "output {}: commit failed", output_->name);
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    wlr_scene_output_send_frame_done(scene_output_, &now);
    if (planner_) {
        planner_->send_frame_done(now);
    }
    // After the whole commit, when the planner knows what the planes took.
    if (committed_buffer_) {
        if (auto* zones = server_.zones()) {
            zones->verifier().frame_committed(*this, committed_buffer_);
        }
        wlr_buffer_unlock(std::exchange(committed_buffer_, nullptr));
    }
}

// wlr_scene_output_commit with the frame's options added.
bool Output::commit_composited() {
    if (!output_->needs_frame && !gamma_pending() &&
        !pixman_region32_not_empty(&scene_output_->pending_commit_damage)) {
        return true;
    }
    wlr_output_state state;
    wlr_output_state_init(&state);
    bool ok = wlr_scene_output_build_state(scene_output_, &state, nullptr);
    if (ok) {
        add_frame_options(state);
        ok = wlr_output_commit_state(output_, &state);
    }
    wlr_output_state_finish(&state);
    return ok;
}

void Output::gamma_changed() {
    gamma_changed_ = true;
    wlr_output_schedule_frame(output_);
}

void Output::add_frame_options(wlr_output_state& state) {
    if (std::exchange(gamma_changed_, false)) {
        server_.gamma_control().apply(output_, state);
    }
    // Only a buffer can flip early; a DRM device says in the test whether it can.
    if (tearing_wanted() && (state.committed & WLR_OUTPUT_STATE_BUFFER) &&
        wlr_output_is_drm(output_)) {
        state.tearing_page_flip = true;
        if (wlr_output_test_state(output_, &state)) {
            ++frames_torn_;
        } else {
            state.tearing_page_flip = false;
        }
    }
}

bool Output::tearing_wanted() const {
    if (!server_.options().allow_tearing) {
        return false;
    }
    for (const auto* toplevel : server_.stacking()) {
        if (toplevel->xdg()->current.fullscreen && toplevel->output() == this) {
            return server_.surface_hints().wants_tearing(toplevel->surface());
        }
    }
    return false;
}

uint64_t Output::frames_composited() const {
    return planner_ ? planner_->frames_composited() : frames_rendered_;
}

int Output::planes_in_use() const {
    return planner_ ? planner_->planes_in_use() : 0;
}

int Output::plane_budget() const {
    return planner_ ? planner_->plane_budget() : 0;
}

void Output::content_frame(const ZoneContent& content) {
    if (planner_) {
        planner_->content_frame(content);
    }
}

void Output::handle_commit(const wlr_output_event_commit& event) {
    if (!(event.state->committed & WLR_OUTPUT_STATE_BUFFER) || !event.state->buffer) {
        return;
    }
    ++frames_committed_;
    if (auto* zones = server_.zones()) {
        zones->count_frame_paths(*this);
    }
    if (!committed_buffer_) { // the first of the frame's commits (there is one)
        committed_buffer_ = wlr_buffer_lock(event.state->buffer);
    }
    if (pending_captures_.empty()) {
        return;
    }
    auto image = read_buffer(server_.renderer(), event.state->buffer);
    auto callbacks = std::move(pending_captures_);
    pending_captures_.clear();
    for (auto& callback : callbacks) {
        callback(image);
    }
}

void Output::capture_next_frame(CaptureCallback done) {
    if (!output_->enabled || !scene_output_) {
        done(std::unexpected(std::format("output {} is disabled", output_->name)));
        return;
    }
    pending_captures_.push_back(std::move(done));
    // A full repaint, so the pixels do not depend on which frames came before (the pixman
    // renderer filters scaled edges differently when it repaints only part of them), and a
    // frame is committed even when nothing changed.
    wlr_damage_ring_add_whole(&scene_output_->damage_ring);
    wlr_output_update_needs_frame(output_);
}

} // namespace tessera::compositor
