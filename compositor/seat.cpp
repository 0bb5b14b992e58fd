#include "seat.hpp"

#include "guest/guest.hpp"
#include "idle.hpp"
#include "keyboard.hpp"
#include "layer_shell.hpp"
#include "log_scopes.hpp"
#include "output.hpp"
#include "plane_planner.hpp"
#include "server.hpp"
#include "session_lock.hpp"
#include "toplevel.hpp"
#include "xwayland_window.hpp"
#include "zone_scene.hpp"

#include <algorithm>
#include <string_view>

namespace tessera::compositor {
namespace {

// wl_pointer's clock: milliseconds of CLOCK_MONOTONIC, for events tessera makes itself.
uint32_t now_msec() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint32_t>(now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

} // namespace

Seat::Seat(Server& server)
    : server_(server), seat_(wlr_seat_create(server.display(), "seat0")),
      cursor_(wlr_cursor_create()), xcursor_manager_(wlr_xcursor_manager_create(nullptr, 24)),
      virtual_keyboards_(wlr_virtual_keyboard_manager_v1_create(server.display())),
      virtual_pointers_(wlr_virtual_pointer_manager_v1_create(server.display())),
      cursor_shapes_(wlr_cursor_shape_manager_v1_create(server.display(), 1)),
      shortcuts_inhibit_(wlr_keyboard_shortcuts_inhibit_v1_create(server.display())),
      constraints_(seat_, server.display()), text_input_(server, seat_),
      tablets_(*this, server.display()), guest_input_(server) {
    wlr_cursor_attach_output_layout(cursor_, server.output_layout());

    on_motion_.connect(&cursor_->events.motion, [this](wlr_pointer_motion_event* event) {
        auto [dx, dy] = constraints_.motion(uint64_t{event->time_msec} * 1000, event->delta_x,
                                            event->delta_y, event->unaccel_dx, event->unaccel_dy);
        auto* constraint = constraints_.active();
        if (constraint && constraint->type == WLR_POINTER_CONSTRAINT_V1_LOCKED) {
            notify_activity(); // the cursor stays, and the client gets no wl_pointer.motion
            return;
        }
        wlr_cursor_move(cursor_, &event->pointer->base, dx, dy);
        handle_motion(event->time_msec);
    });
    on_motion_absolute_.connect(
        &cursor_->events.motion_absolute, [this](wlr_pointer_motion_absolute_event* event) {
            wlr_cursor_warp_absolute(cursor_, &event->pointer->base, event->x, event->y);
            handle_motion(event->time_msec);
        });
    on_button_.connect(&cursor_->events.button,
                       [this](wlr_pointer_button_event* event) { handle_button(*event); });
    on_axis_.connect(&cursor_->events.axis, [this](wlr_pointer_axis_event* e) {
        notify_activity();
        if (guest_input_.pointer_axis(e->orientation == WL_POINTER_AXIS_HORIZONTAL_SCROLL, e->delta,
                                      e->delta_discrete)) {
            return;
        }
        wlr_seat_pointer_notify_axis(seat_, e->time_msec, e->orientation, e->delta,
                                     e->delta_discrete, e->source, e->relative_direction);
    });
    on_frame_.connect(&cursor_->events.frame,
                      [this](void*) { wlr_seat_pointer_notify_frame(seat_); });

    on_touch_down_.connect(&cursor_->events.touch_down, [this](wlr_touch_down_event* event) {
        double lx = 0, ly = 0;
        wlr_cursor_absolute_to_layout_coords(cursor_, &event->touch->base, event->x, event->y, &lx,
                                             &ly);
        touch_down(event->touch_id, event->time_msec, lx, ly);
    });
    on_touch_up_.connect(&cursor_->events.touch_up, [this](wlr_touch_up_event* event) {
        touch_up(event->touch_id, event->time_msec);
    });
    on_touch_motion_.connect(&cursor_->events.touch_motion, [this](wlr_touch_motion_event* event) {
        double lx = 0, ly = 0;
        wlr_cursor_absolute_to_layout_coords(cursor_, &event->touch->base, event->x, event->y, &lx,
                                             &ly);
        touch_motion(event->touch_id, event->time_msec, lx, ly);
    });
    on_touch_cancel_.connect(&cursor_->events.touch_cancel, [this](wlr_touch_cancel_event* e) {
        notify_activity();
        if (guest_input_.touch_up(e->touch_id)) {
            return;
        }
        if (auto* point = wlr_seat_touch_get_point(seat_, e->touch_id); point && point->client) {
            wlr_seat_touch_notify_cancel(seat_, point->client);
        }
        touch_points_.erase(e->touch_id);
    });
    on_touch_frame_.connect(&cursor_->events.touch_frame, [this](void*) { touch_frame(); });

    on_request_cursor_.connect(
        &seat_->events.request_set_cursor, [this](wlr_seat_pointer_request_set_cursor_event* e) {
            // Only the client under the pointer may set its image.
            if (e->seat_client == seat_->pointer_state.focused_client) {
                wlr_cursor_set_surface(cursor_, e->surface, e->hotspot_x, e->hotspot_y);
                cursor_image_ = e->surface ? "client" : "";
            }
        });
    on_request_shape_.connect(&cursor_shapes_->events.request_set_shape,
                              [this](wlr_cursor_shape_manager_v1_request_set_shape_event* e) {
                                  if (e->seat_client == seat_->pointer_state.focused_client &&
                                      e->device_type ==
                                          WLR_CURSOR_SHAPE_MANAGER_V1_DEVICE_TYPE_POINTER) {
                                      set_cursor_image(wlr_cursor_shape_v1_name(e->shape));
                                  }
                              });
    on_new_shortcuts_inhibitor_.connect(
        &shortcuts_inhibit_->events.new_inhibitor,
        [this](wlr_keyboard_shortcuts_inhibitor_v1* inhibitor) {
            auto& destroyed =
                *(shortcuts_inhibitors_[inhibitor] = std::make_unique<Listener<void>>());
            destroyed.connect(&inhibitor->events.destroy, [this, inhibitor](void*) {
                Seat* self = this; // erasing destroys this lambda
                self->shortcuts_inhibitors_.erase(inhibitor);
            });
            update_shortcuts_inhibitors();
        });
    on_request_selection_.connect(&seat_->events.request_set_selection,
                                  [this](wlr_seat_request_set_selection_event* e) {
                                      wlr_seat_set_selection(seat_, e->source, e->serial);
                                  });
    on_request_primary_selection_.connect(&seat_->events.request_set_primary_selection,
                                          [this](wlr_seat_request_set_primary_selection_event* e) {
                                              wlr_seat_set_primary_selection(seat_, e->source,
                                                                             e->serial);
                                          });

    on_new_virtual_keyboard_.connect(
        &virtual_keyboards_->events.new_virtual_keyboard,
        [this](wlr_virtual_keyboard_v1* keyboard) {
            keyboards_.push_back(std::make_unique<Keyboard>(*this, &keyboard->keyboard, true));
            update_capabilities();
        });
    on_new_virtual_pointer_.connect(&virtual_pointers_->events.new_virtual_pointer,
                                    [this](wlr_virtual_pointer_v1_new_pointer_event* event) {
                                        add_device(&event->new_pointer->pointer.base);
                                    });
}

Seat::~Seat() {
    keyboards_.clear();
    pointer_devices_.clear();
    touch_devices_.clear();
    wlr_xcursor_manager_destroy(xcursor_manager_);
    wlr_cursor_destroy(cursor_);
}

void Seat::add_device(wlr_input_device* device) {
    log::info(input_log, "new input device '{}'", device->name ? device->name : "");
    switch (device->type) {
    case WLR_INPUT_DEVICE_KEYBOARD:
        keyboards_.push_back(
            std::make_unique<Keyboard>(*this, wlr_keyboard_from_input_device(device), false));
        break;
    case WLR_INPUT_DEVICE_POINTER:
    case WLR_INPUT_DEVICE_TOUCH: {
        wlr_cursor_attach_input_device(cursor_, device);
        auto& devices =
            device->type == WLR_INPUT_DEVICE_POINTER ? pointer_devices_ : touch_devices_;
        auto& listener = devices[device] = std::make_unique<Listener<void>>();
        listener->connect(&device->events.destroy, [this, device, &devices](void*) {
            // Erasing destroys this lambda with its captures: copy what is needed first.
            Seat* self = this;
            devices.erase(device);
            self->update_capabilities();
        });
        break;
    }
    case WLR_INPUT_DEVICE_TABLET:
        tablets_.add(device);
        break;
    default:
        break;
    }
    update_capabilities();
}

void Seat::remove_keyboard(Keyboard* keyboard) {
    std::erase_if(keyboards_, [&](const auto& k) { return k.get() == keyboard; });
    update_capabilities();
}

void Seat::update_capabilities() {
    uint32_t caps = 0;
    if (!keyboards_.empty()) {
        caps |= WL_SEAT_CAPABILITY_KEYBOARD;
    }
    if (!pointer_devices_.empty() || !tablets_.empty()) { // a pen drives the pointer too
        caps |= WL_SEAT_CAPABILITY_POINTER;
    }
    if (!touch_devices_.empty()) {
        caps |= WL_SEAT_CAPABILITY_TOUCH;
    }
    wlr_seat_set_capabilities(seat_, caps);
}

wlr_surface* Seat::surface_at(double lx, double ly, ivi::InputKind kind, double* sx, double* sy,
                              wlr_scene_node** node_out) const {
    if (session_locked()) {
        // Only the locker's surfaces, above a blank that takes every point of the outputs.
        auto* node = wlr_scene_node_at(&server_.session_lock()->tree()->node, lx, ly, sx, sy);
        if (node_out) {
            *node_out = node;
        }
        auto* buffer = node && node->type == WLR_SCENE_NODE_BUFFER
                           ? wlr_scene_surface_try_from_buffer(wlr_scene_buffer_from_node(node))
                           : nullptr;
        return buffer ? buffer->surface : nullptr;
    }
    // Content on a plane is above everything composited where it is, and its scene node is
    // disabled: the scene does not find it.
    wlr_scene_node* node = nullptr;
    for (auto& output : server_.outputs()) {
        auto* planner = output->planner();
        if (auto* buffer = planner ? planner->buffer_at(lx, ly, sx, sy) : nullptr) {
            node = &buffer->node;
            break;
        }
    }
    if (!node) {
        node = wlr_scene_node_at(&server_.scene()->tree.node, lx, ly, sx, sy);
    }
    auto* zones = server_.zones();
    if (node && zones && !zones->accepts_input(node, kind)) {
        node = nullptr; // the zone keeps this kind of input from its content
    }
    if (node_out) {
        *node_out = node;
    }
    if (!node || node->type != WLR_SCENE_NODE_BUFFER) {
        return nullptr;
    }
    auto* scene_surface = wlr_scene_surface_try_from_buffer(wlr_scene_buffer_from_node(node));
    if (!scene_surface) {
        return nullptr;
    }
    if (zones) {
        zones->to_surface_coords(scene_surface->surface, *sx, *sy);
    }
    return scene_surface->surface;
}

void Seat::set_cursor_image(const char* xcursor_name) {
    wlr_cursor_set_xcursor(cursor_, xcursor_manager_, xcursor_name);
    cursor_image_ = xcursor_name;
}

bool Seat::shortcuts_inhibited() const {
    auto* focus = seat_->keyboard_state.focused_surface;
    return focus && std::ranges::any_of(shortcuts_inhibitors_, [&](const auto& entry) {
               return entry.first->surface == focus && entry.first->active;
           });
}

void Seat::update_shortcuts_inhibitors() {
    auto* focus = seat_->keyboard_state.focused_surface;
    for (const auto& [inhibitor, listener] : shortcuts_inhibitors_) {
        // A client may only keep the shortcuts from the compositor while it has the keys.
        bool should = inhibitor->surface == focus && inhibitor->seat == seat_;
        if (should && !inhibitor->active) {
            wlr_keyboard_shortcuts_inhibitor_v1_activate(inhibitor);
        } else if (!should && inhibitor->active) {
            wlr_keyboard_shortcuts_inhibitor_v1_deactivate(inhibitor);
        }
    }
}

void Seat::rebase_pointer() {
    if (grab_ != Grab::none) {
        return;
    }
    double sx = 0, sy = 0;
    auto* surface = surface_at(cursor_->x, cursor_->y, ivi::input_pointer, &sx, &sy);
    const auto& state = seat_->pointer_state;
    if (surface == state.focused_surface && (!surface || (sx == state.sx && sy == state.sy))) {
        return;
    }
    update_pointer_focus(now_msec());
    wlr_seat_pointer_notify_frame(seat_); // no device frame follows to close the event group
}

void Seat::notify_activity() {
    if (auto* idle = server_.idle()) {
        idle->activity();
    }
}

bool Seat::session_locked() const {
    auto* lock = server_.session_lock();
    return lock && lock->locked();
}

void Seat::session_lock_changed() {
    if (session_locked()) {
        guest_input_.leave_keyboard();
        auto* keyboard_focus = seat_->keyboard_state.focused_surface;
        if (!server_.session_lock()->is_lock_surface(keyboard_focus)) {
            auto* output = server_.output_at(cursor_->x, cursor_->y);
            auto* lock_surface =
                server_.session_lock()->surface_on(output ? output->wlr() : nullptr);
            focus_surface(lock_surface); // none yet: nobody has the keys
        }
        grab_ = Grab::none;
        grabbed_ = nullptr;
    } else {
        server_.focus_top_toplevel();
    }
    if (auto* idle = server_.idle()) {
        idle->update_inhibited();
    }
    // The pointer enters whatever is under it now.
    update_pointer_focus(now_msec());
}

void Seat::focus_surface(wlr_surface* surface) {
    if (surface && session_locked() && !server_.session_lock()->is_lock_surface(surface)) {
        return; // while locked the keyboard belongs to the locker
    }
    if (auto* exclusive = server_.layer_shell().exclusive_keyboard_surface();
        surface && exclusive && surface != exclusive && !session_locked()) {
        return; // a layer surface holds the keyboard exclusively
    }
    if (surface) {
        guest_input_.leave_keyboard(); // a window or surface takes the keyboard from a guest
    }
    if (seat_->keyboard_state.focused_surface == surface) {
        return;
    }
    if (!surface) {
        wlr_seat_keyboard_notify_clear_focus(seat_);
    } else if (auto* keyboard = wlr_seat_get_keyboard(seat_)) {
        wlr_seat_keyboard_notify_enter(seat_, surface, keyboard->keycodes, keyboard->num_keycodes,
                                       &keyboard->modifiers);
    } else {
        wlr_seat_keyboard_notify_enter(seat_, surface, nullptr, 0, nullptr);
    }
    update_shortcuts_inhibitors();
    constraints_.refresh();
    text_input_.focus_changed(surface);
}

void Seat::focus_toplevel(Toplevel* toplevel) {
    if (!toplevel || !toplevel->mapped()) {
        return;
    }
    if (focused_ && focused_ != toplevel) {
        focused_->set_activated(false);
    }
    if (auto* x11 = std::exchange(focused_x11_, nullptr)) {
        x11->set_activated(false);
    }
    focused_ = toplevel;
    server_.raise(toplevel);
    wlr_scene_node_raise_to_top(&toplevel->tree()->node);
    toplevel->set_activated(true);
    auto* zones = server_.zones();
    if (!zones || zones->accepts_input(&toplevel->tree()->node, ivi::input_keyboard)) {
        focus_surface(toplevel->surface());
    }
}

void Seat::forget_toplevel(Toplevel* toplevel) {
    if (focused_ == toplevel) {
        focused_ = nullptr;
    }
    if (grabbed_ == toplevel) {
        grabbed_ = nullptr;
        grab_ = Grab::none;
    }
}

void Seat::focus_xwayland(XwaylandWindow* window) {
    auto* zones = server_.zones();
    if (session_locked() || !window->surface()) {
        return;
    }
    if (focused_) {
        focused_->set_activated(false);
        focused_ = nullptr;
    }
    if (focused_x11_ && focused_x11_ != window) {
        focused_x11_->set_activated(false);
    }
    focused_x11_ = window;
    window->raise();
    window->set_activated(true);
    if (!zones || zones->accepts_input(&window->tree()->node, ivi::input_keyboard)) {
        focus_surface(window->surface());
    }
}

void Seat::forget_xwayland(XwaylandWindow* window) {
    bool had_keyboard =
        window->surface() && seat_->keyboard_state.focused_surface == window->surface();
    if (focused_x11_ == window) {
        focused_x11_ = nullptr;
    }
    if (had_keyboard) {
        server_.focus_top_toplevel();
    }
}

void Seat::focus_at(double lx, double ly, ivi::InputKind kind) {
    double sx = 0, sy = 0;
    wlr_scene_node* node = nullptr;
    auto* surface = surface_at(lx, ly, kind, &sx, &sy, &node);
    if (auto* toplevel = node ? Toplevel::from_node(node) : nullptr) {
        focus_toplevel(toplevel);
    } else if (auto* x11 = node ? XwaylandWindow::from_node(node) : nullptr;
               x11 && !x11->override_redirect()) {
        focus_xwayland(x11);
    } else if (surface && surface->role && std::string_view(surface->role->name) == "ivi_surface" &&
               (!server_.zones() || server_.zones()->accepts_input(node, ivi::input_keyboard))) {
        // ivi surfaces have no window to raise: a click or touch gives them the keyboard.
        focus_surface(surface);
    } else if (auto* layer = surface ? wlr_layer_surface_v1_try_from_wlr_surface(surface) : nullptr;
               layer && layer->current.keyboard_interactive) {
        focus_surface(surface);
    }
}

void Seat::focus_guest(Guest* guest, wlr_scene_node* node) {
    auto* zones = server_.zones();
    if (session_locked() || !guest || !guest->inputs().has(ivi::input_keyboard) ||
        (zones && !zones->accepts_input(node, ivi::input_keyboard))) {
        return;
    }
    if (focused_) {
        focused_->set_activated(false);
        focused_ = nullptr;
    }
    focus_surface(nullptr);
    guest_input_.focus_keyboard(*guest, wlr_seat_get_keyboard(seat_));
}

void Seat::begin_move(Toplevel* toplevel) {
    grab_ = Grab::move;
    grabbed_ = toplevel;
    grab_x_ = cursor_->x - toplevel->x();
    grab_y_ = cursor_->y - toplevel->y();
}

void Seat::begin_resize(Toplevel* toplevel, uint32_t edges) {
    grab_ = Grab::resize;
    grabbed_ = toplevel;
    resize_edges_ = edges;
    grab_box_ = toplevel->geometry();
    grab_x_ = cursor_->x;
    grab_y_ = cursor_->y;
}

void Seat::process_grab() {
    if (!grabbed_) {
        grab_ = Grab::none;
        return;
    }
    if (grab_ == Grab::move) {
        grabbed_->move_to(static_cast<int>(cursor_->x - grab_x_),
                          static_cast<int>(cursor_->y - grab_y_));
        return;
    }
    int dx = static_cast<int>(cursor_->x - grab_x_), dy = static_cast<int>(cursor_->y - grab_y_);
    wlr_box box = grab_box_;
    if (resize_edges_ & WLR_EDGE_LEFT) {
        box.x += std::min(dx, box.width - 1);
        box.width -= std::min(dx, box.width - 1);
    } else if (resize_edges_ & WLR_EDGE_RIGHT) {
        box.width = std::max(1, box.width + dx);
    }
    if (resize_edges_ & WLR_EDGE_TOP) {
        box.y += std::min(dy, box.height - 1);
        box.height -= std::min(dy, box.height - 1);
    } else if (resize_edges_ & WLR_EDGE_BOTTOM) {
        box.height = std::max(1, box.height + dy);
    }
    grabbed_->move_to(box.x, box.y);
    grabbed_->request_size(box.width, box.height);
}

void Seat::pointer_moved(uint32_t time_msec) {
    handle_motion(time_msec);
    wlr_seat_pointer_notify_frame(seat_);
}

void Seat::pointer_button(uint32_t time_msec, uint32_t button, bool pressed) {
    wlr_pointer_button_event event{};
    event.time_msec = time_msec;
    event.button = button;
    event.state = pressed ? WL_POINTER_BUTTON_STATE_PRESSED : WL_POINTER_BUTTON_STATE_RELEASED;
    handle_button(event);
    wlr_seat_pointer_notify_frame(seat_);
}

void Seat::handle_motion(uint32_t time_msec) {
    notify_activity();
    if (grab_ != Grab::none) {
        process_grab();
        return;
    }
    update_pointer_focus(time_msec);
}

void Seat::update_pointer_focus(uint32_t time_msec) {
    double sx = 0, sy = 0;
    wlr_scene_node* node = nullptr;
    auto* surface = surface_at(cursor_->x, cursor_->y, ivi::input_pointer, &sx, &sy, &node);
    const auto& state = seat_->pointer_state;
    if (state.button_count > 0 && state.focused_surface) {
        // A button went down on this surface: it keeps the pointer, wherever it goes, until the
        // last button is up (a drag, a scroll bar held).
        if (surface != state.focused_surface) {
            sx = cursor_->x - held_origin_x_;
            sy = cursor_->y - held_origin_y_;
        }
        wlr_seat_pointer_notify_motion(seat_, time_msec, sx, sy);
        return;
    }
    if (guest_input_.pointer_motion(node, cursor_->x, cursor_->y)) {
        // The guest draws its own pointer where it has one.
        auto* guest = guest_input_.pointer_guest();
        if (guest && guest->inputs().running(ivi::input_pointer)) {
            wlr_cursor_unset_image(cursor_);
            cursor_image_.clear();
        } else {
            set_cursor_image("default");
        }
        wlr_seat_pointer_clear_focus(seat_);
        constraints_.refresh();
        return;
    }
    if (!surface) {
        set_cursor_image("default");
        wlr_seat_pointer_clear_focus(seat_);
        constraints_.refresh();
        return;
    }
    wlr_seat_pointer_notify_enter(seat_, surface, sx, sy);
    wlr_seat_pointer_notify_motion(seat_, time_msec, sx, sy);
    constraints_.refresh();
}

void Seat::handle_button(const wlr_pointer_button_event& event) {
    notify_activity();
    bool pressed = event.state == WL_POINTER_BUTTON_STATE_PRESSED;
    if (guest_input_.pointer_button(event.button, pressed)) {
        if (pressed) {
            double sx = 0, sy = 0;
            wlr_scene_node* node = nullptr;
            surface_at(cursor_->x, cursor_->y, ivi::input_pointer, &sx, &sy, &node);
            focus_guest(guest_input_.pointer_guest(), node);
        }
        return;
    }
    wlr_seat_pointer_notify_button(seat_, event.time_msec, event.button, event.state);
    const auto& state = seat_->pointer_state;
    if (event.state == WL_POINTER_BUTTON_STATE_RELEASED) {
        grab_ = Grab::none;
        grabbed_ = nullptr;
        if (state.button_count == 0) {
            update_pointer_focus(event.time_msec); // the surface under it now, if another
        }
    } else {
        if (state.button_count == 1) {
            // Where the pressed surface's origin is, for motion off it while held.
            held_origin_x_ = cursor_->x - state.sx;
            held_origin_y_ = cursor_->y - state.sy;
        }
        focus_at(cursor_->x, cursor_->y, ivi::input_pointer);
    }
}

void Seat::touch_down(int32_t id, uint32_t time_msec, double lx, double ly) {
    notify_activity();
    touch_up(id, time_msec); // an id that is down again without its lift
    double sx = 0, sy = 0;
    wlr_scene_node* node = nullptr;
    auto* surface = surface_at(lx, ly, ivi::input_touch, &sx, &sy, &node);
    if (guest_input_.touch_down(id, node, lx, ly)) {
        focus_guest(guest_input_.touch_guest(id), node);
        return;
    }
    focus_at(lx, ly, ivi::input_touch);
    if (surface) {
        wlr_seat_touch_notify_down(seat_, surface, time_msec, id, sx, sy);
        auto& point = touch_points_[id];
        point.origin_x = lx - sx;
        point.origin_y = ly - sy;
        // wlroots forgets the surface but keeps the point: the client would wait for a lift.
        point.surface_gone->connect(&surface->events.destroy, [this, id](void*) {
            wlr_seat_touch_notify_up(seat_, now_msec(), id);
            wlr_seat_touch_notify_frame(seat_);
            touch_points_.erase(id); // last: this listener goes with it
        });
    }
}

void Seat::touch_motion(int32_t id, uint32_t time_msec, double lx, double ly) {
    notify_activity();
    if (guest_input_.touch_motion(id, lx, ly)) {
        return;
    }
    auto* point = wlr_seat_touch_get_point(seat_, id);
    auto it = touch_points_.find(id);
    if (!point || !point->surface || it == touch_points_.end()) {
        return;
    }
    // A touch point belongs to the surface it went down on, also where it moves off it.
    double sx = 0, sy = 0;
    if (surface_at(lx, ly, ivi::input_touch, &sx, &sy) != point->surface) {
        sx = lx - it->second.origin_x;
        sy = ly - it->second.origin_y;
    }
    wlr_seat_touch_notify_motion(seat_, time_msec, id, sx, sy);
}

void Seat::touch_up(int32_t id, uint32_t time_msec) {
    notify_activity();
    if (!guest_input_.touch_up(id) && wlr_seat_touch_get_point(seat_, id)) {
        wlr_seat_touch_notify_up(seat_, time_msec, id);
    }
    touch_points_.erase(id);
}

} // namespace tessera::compositor
