#include "session_lock.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "seat.hpp"
#include "server.hpp"

#include <algorithm>

namespace tessera::compositor {
namespace {

constexpr float blank_colour[4] = {0.0f, 0.0f, 0.0f, 1.0f};

} // namespace

std::string_view to_string(SessionLock::State state) {
    switch (state) {
    case SessionLock::State::unlocked:
        return "unlocked";
    case SessionLock::State::locked:
        return "locked";
    case SessionLock::State::abandoned:
        return "abandoned";
    }
    return "unknown";
}

// A locker's surface on one output, drawn above the blanks.
struct SessionLock::LockSurface {
    wlr_session_lock_surface_v1* lock_surface;
    wlr_scene_tree* tree;
    wlr_box configured{}; // the size last sent
    Listener<void> on_map;
    Listener<void> on_destroy;
};

SessionLock::SessionLock(Server& server, wlr_scene_tree* layer)
    : server_(server), layer_(layer), blanks_(wlr_scene_tree_create(layer)),
      manager_(wlr_session_lock_manager_v1_create(server.display())) {
    wlr_scene_node_set_enabled(&layer_->node, false);
    on_new_lock_.connect(&manager_->events.new_lock,
                         [this](wlr_session_lock_v1* lock) { handle_new_lock(lock); });
}

SessionLock::~SessionLock() {
    awaiting_frames_.clear();
    surfaces_.clear();
}

bool SessionLock::is_lock_surface(wlr_surface* surface) const {
    return surface && wlr_session_lock_surface_v1_try_from_wlr_surface(surface);
}

wlr_surface* SessionLock::surface_on(wlr_output* output) const {
    wlr_surface* any = nullptr;
    for (const auto& s : surfaces_) {
        if (!s->lock_surface->surface->mapped) {
            continue;
        }
        if (s->lock_surface->output == output) {
            return s->lock_surface->surface;
        }
        any = any ? any : s->lock_surface->surface;
    }
    return any;
}

void SessionLock::handle_new_lock(wlr_session_lock_v1* lock) {
    if (state_ == State::locked) {
        log::warn(session_log, "a second locker was refused: the session is locked already");
        wlr_session_lock_v1_destroy(lock); // sends `finished`
        return;
    }
    lock_ = lock;
    on_new_surface_.connect(&lock->events.new_surface,
                            [this](wlr_session_lock_surface_v1* s) { handle_new_surface(s); });
    on_unlock_.connect(&lock->events.unlock, [this](void*) {
        log::info(session_log, "unlocked by the locker");
        release_lock();
        set_state(State::unlocked);
    });
    on_lock_destroy_.connect(&lock->events.destroy, [this](void*) {
        // Gone without unlocking: the session stays locked, blank, for another locker.
        log::warn(session_log, "the locker went away without unlocking: the session stays locked");
        release_lock();
        set_state(State::abandoned);
    });
    bool was_abandoned = state_ == State::abandoned;
    set_state(State::locked);
    if (was_abandoned) {
        wlr_session_lock_v1_send_locked(lock); // the outputs are blank already
    } else {
        await_blanked_outputs();
    }
}

void SessionLock::release_lock() {
    on_new_surface_.disconnect();
    on_unlock_.disconnect();
    on_lock_destroy_.disconnect();
    awaiting_frames_.clear();
    lock_ = nullptr;
}

void SessionLock::set_state(State state) {
    if (state_ == state) {
        return;
    }
    state_ = state;
    wlr_scene_node_set_enabled(&layer_->node, locked());
    if (locked()) {
        arrange_blanks();
    }
    server_.health().publish("session-lock", {{"state", to_string(state)}});
    server_.seat().session_lock_changed();
}

void SessionLock::await_blanked_outputs() {
    awaiting_frames_.clear();
    for (const auto& output : server_.outputs()) {
        if (!output->enabled()) {
            continue;
        }
        auto* wlr_out = output->wlr();
        auto& listener = awaiting_frames_[wlr_out] = std::make_unique<Listener<void>>();
        listener->connect(&wlr_out->events.commit, [this, wlr_out](void*) {
            SessionLock* self = this; // erasing destroys this lambda with its captures
            self->awaiting_frames_.erase(wlr_out);
            if (self->awaiting_frames_.empty() && self->lock_) {
                log::info(session_log, "locked: every output shows the lock");
                wlr_session_lock_v1_send_locked(self->lock_);
            }
        });
        wlr_output_schedule_frame(wlr_out);
    }
    if (awaiting_frames_.empty()) {
        wlr_session_lock_v1_send_locked(lock_);
    }
}

void SessionLock::handle_new_surface(wlr_session_lock_surface_v1* lock_surface) {
    auto surface = std::make_unique<LockSurface>();
    surface->lock_surface = lock_surface;
    surface->tree = wlr_scene_subsurface_tree_create(layer_, lock_surface->surface);
    auto* raw = surface.get();
    surface->on_map.connect(&lock_surface->surface->events.map, [this, raw](void*) {
        // The first lock surface shown, or the one under the cursor's output, takes the keys.
        auto* keyboard_focus = server_.seat().wlr()->keyboard_state.focused_surface;
        if (!is_lock_surface(keyboard_focus)) {
            server_.seat().focus_surface(raw->lock_surface->surface);
        }
        server_.seat().session_lock_changed();
    });
    surface->on_destroy.connect(&lock_surface->events.destroy, [this, raw](void*) {
        // The surface's scene tree goes with the wlr_surface; erasing destroys this lambda.
        SessionLock* self = this;
        std::erase_if(self->surfaces_, [raw](const auto& s) { return s.get() == raw; });
    });
    surfaces_.push_back(std::move(surface));
    outputs_changed();
}

void SessionLock::outputs_changed() {
    if (!locked()) {
        return;
    }
    arrange_blanks();
    for (const auto& s : surfaces_) {
        auto* output = s->lock_surface->output;
        auto* mirror = output ? server_.find_output(output) : nullptr;
        if (!mirror) {
            continue;
        }
        wlr_box box = mirror->layout_box();
        wlr_scene_node_set_position(&s->tree->node, box.x, box.y);
        if (s->configured.width != box.width || s->configured.height != box.height) {
            s->configured = box;
            wlr_session_lock_surface_v1_configure(s->lock_surface, static_cast<uint32_t>(box.width),
                                                  static_cast<uint32_t>(box.height));
        }
    }
}

void SessionLock::arrange_blanks() {
    wlr_scene_node* child = nullptr;
    wlr_scene_node* next = nullptr;
    wl_list_for_each_safe(child, next, &blanks_->children, link) {
        wlr_scene_node_destroy(child);
    }
    for (const auto& output : server_.outputs()) {
        if (!output->enabled()) {
            continue;
        }
        wlr_box box = output->layout_box();
        auto* rect = wlr_scene_rect_create(blanks_, box.width, box.height, blank_colour);
        wlr_scene_node_set_position(&rect->node, box.x, box.y);
    }
}

} // namespace tessera::compositor
