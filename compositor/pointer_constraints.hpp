#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <map>
#include <memory>
#include <utility>

namespace tessera::compositor {

// pointer-constraints-unstable-v1 and relative-pointer-unstable-v1, what games and remote
// desktops need: relative motion goes to the focused client as such, and a constraint of the
// surface under the pointer holds the cursor in place (lock) or inside a region (confine)
// while that surface has the pointer and its window the keyboard, as in weston and sway: a
// game loses its lock when another window is focused and gets it back with the focus.
class PointerConstraints {
public:
    explicit PointerConstraints(wlr_seat* seat, wl_display* display);
    ~PointerConstraints();
    PointerConstraints(const PointerConstraints&) = delete;
    PointerConstraints& operator=(const PointerConstraints&) = delete;

    // The pointer or keyboard focus changed: the constraint of the pointer's surface becomes
    // active when its window has the keyboard, any other one inactive.
    void refresh();
    // Relative motion of a pointer device (accelerated and raw). Sends it to the focused
    // client and returns how far the cursor may move of (dx, dy), given the active constraint.
    std::pair<double, double> motion(uint64_t time_usec, double dx, double dy, double raw_dx,
                                     double raw_dy);

    [[nodiscard]] wlr_pointer_constraint_v1* active() const { return active_; }

private:
    // The surface whose constraint may be active: the pointer's, if its window has the keyboard.
    [[nodiscard]] wlr_surface* target() const;
    void activate(wlr_pointer_constraint_v1* constraint);
    void deactivate();

    wlr_seat* seat_;
    wlr_pointer_constraints_v1* constraints_;
    wlr_relative_pointer_manager_v1* relative_;
    wlr_pointer_constraint_v1* active_ = nullptr;
    std::map<wlr_pointer_constraint_v1*, std::unique_ptr<Listener<void>>> destroyed_;

    Listener<wlr_pointer_constraint_v1> on_new_constraint_;
};

} // namespace tessera::compositor
