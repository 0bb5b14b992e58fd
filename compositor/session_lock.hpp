#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <map>
#include <memory>
#include <string_view>
#include <vector>

namespace tessera::compositor {

class Server;

// ext-session-lock-v1. While the session is locked a blank covers every output and only the
// locker's surfaces are drawn above it and get input; zones composite (no guest on a plane
// above the lock). A locker that goes away without unlocking leaves the session locked and
// blank ("abandoned") until another locker takes over and unlocks.
class SessionLock {
public:
    enum class State { unlocked, locked, abandoned };

    SessionLock(Server& server, wlr_scene_tree* layer);
    ~SessionLock();
    SessionLock(const SessionLock&) = delete;
    SessionLock& operator=(const SessionLock&) = delete;

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] bool locked() const { return state_ != State::unlocked; }
    [[nodiscard]] wlr_scene_tree* tree() const { return layer_; }
    // Whether a surface is one of the locker's (the only ones that take input while locked).
    [[nodiscard]] bool is_lock_surface(wlr_surface* surface) const;
    // The locker's surface on an output, or any of them; null when there is none.
    [[nodiscard]] wlr_surface* surface_on(wlr_output* output) const;

    // Outputs were added, removed, moved or resized: blank them all, resize lock surfaces.
    void outputs_changed();

private:
    struct LockSurface;

    void handle_new_lock(wlr_session_lock_v1* lock);
    void handle_new_surface(wlr_session_lock_surface_v1* surface);
    void set_state(State state);
    void release_lock();
    void arrange_blanks();
    // `locked` goes out once every enabled output has committed a frame with the blank.
    void await_blanked_outputs();

    Server& server_;
    wlr_scene_tree* layer_;
    wlr_scene_tree* blanks_;
    wlr_session_lock_manager_v1* manager_;
    State state_ = State::unlocked;
    wlr_session_lock_v1* lock_ = nullptr;
    std::vector<std::unique_ptr<LockSurface>> surfaces_;
    std::map<wlr_output*, std::unique_ptr<Listener<void>>> awaiting_frames_;

    Listener<wlr_session_lock_v1> on_new_lock_;
    Listener<wlr_session_lock_surface_v1> on_new_surface_;
    Listener<void> on_unlock_;
    Listener<void> on_lock_destroy_;
};

std::string_view to_string(SessionLock::State state);

} // namespace tessera::compositor
