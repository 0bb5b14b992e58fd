#include "pointer_constraints.hpp"

#include "log_scopes.hpp"

namespace tessera::compositor {

PointerConstraints::PointerConstraints(wlr_seat* seat, wl_display* display)
    : seat_(seat), constraints_(wlr_pointer_constraints_v1_create(display)),
      relative_(wlr_relative_pointer_manager_v1_create(display)) {
    on_new_constraint_.connect(
        &constraints_->events.new_constraint, [this](wlr_pointer_constraint_v1* constraint) {
            auto& destroyed = *(destroyed_[constraint] = std::make_unique<Listener<void>>());
            destroyed.connect(&constraint->events.destroy, [this, constraint](void*) {
                PointerConstraints* self = this; // erasing destroys this lambda
                if (self->active_ == constraint) {
                    self->active_ = nullptr;
                }
                self->destroyed_.erase(constraint);
            });
            if (constraint->surface == target()) {
                activate(constraint);
            }
        });
}

PointerConstraints::~PointerConstraints() {
    destroyed_.clear();
}

wlr_surface* PointerConstraints::target() const {
    auto* pointer = seat_->pointer_state.focused_surface;
    auto* keyboard = seat_->keyboard_state.focused_surface;
    bool same_window =
        pointer && keyboard &&
        wlr_surface_get_root_surface(pointer) == wlr_surface_get_root_surface(keyboard);
    return same_window ? pointer : nullptr;
}

void PointerConstraints::refresh() {
    auto* surface = target();
    if (active_ && active_->surface == surface) {
        return;
    }
    deactivate();
    if (surface) {
        if (auto* constraint =
                wlr_pointer_constraints_v1_constraint_for_surface(constraints_, surface, seat_)) {
            activate(constraint);
        }
    }
}

void PointerConstraints::activate(wlr_pointer_constraint_v1* constraint) {
    deactivate();
    active_ = constraint;
    log::debug(input_log, "pointer {} by its client",
               constraint->type == WLR_POINTER_CONSTRAINT_V1_LOCKED ? "locked" : "confined");
    wlr_pointer_constraint_v1_send_activated(constraint);
}

void PointerConstraints::deactivate() {
    if (auto* constraint = std::exchange(active_, nullptr)) {
        wlr_pointer_constraint_v1_send_deactivated(constraint);
    }
}

std::pair<double, double> PointerConstraints::motion(uint64_t time_usec, double dx, double dy,
                                                     double raw_dx, double raw_dy) {
    wlr_relative_pointer_manager_v1_send_relative_motion(relative_, seat_, time_usec, dx, dy,
                                                         raw_dx, raw_dy);
    if (!active_ || active_->surface != seat_->pointer_state.focused_surface) {
        return {dx, dy};
    }
    if (active_->type == WLR_POINTER_CONSTRAINT_V1_LOCKED) {
        return {0, 0};
    }
    // Confined: the furthest point along the motion that stays inside the region.
    double sx = seat_->pointer_state.sx, sy = seat_->pointer_state.sy;
    double to_x = sx + dx, to_y = sy + dy;
    if (!wlr_region_confine(&active_->region, sx, sy, sx + dx, sy + dy, &to_x, &to_y)) {
        return {0, 0};
    }
    return {to_x - sx, to_y - sy};
}

} // namespace tessera::compositor
