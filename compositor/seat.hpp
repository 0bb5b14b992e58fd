#pragma once

#include "guest/guest_input_router.hpp"
#include "ivi/layout.hpp"
#include "listener.hpp"
#include "pointer_constraints.hpp"
#include "tablet.hpp"
#include "text_input.hpp"
#include "wlr.hpp"

#include <map>
#include <string>
#include <memory>
#include <vector>

namespace tessera::compositor {

class Guest;
class Keyboard;
class Server;
class Toplevel;
class XwaylandWindow;

// The seat: keyboard focus, the cursor (pointer and touch), interactive move/resize, and the
// input devices behind them, real (libinput, nested) or virtual (virtual-keyboard/-pointer).
// Input over a guest's zone goes to the guest's own input devices (GuestInputRouter) instead
// of Wayland clients; a click or touch there gives the guest the keyboard.
class Seat {
public:
    explicit Seat(Server& server);
    ~Seat();
    Seat(const Seat&) = delete;
    Seat& operator=(const Seat&) = delete;

    [[nodiscard]] Server& server() const { return server_; }
    [[nodiscard]] wlr_seat* wlr() const { return seat_; }
    [[nodiscard]] wlr_cursor* cursor() const { return cursor_; }
    [[nodiscard]] Toplevel* focused_toplevel() const { return focused_; }
    [[nodiscard]] GuestInputRouter& guest_input() { return guest_input_; }
    [[nodiscard]] PointerConstraints& pointer_constraints() { return constraints_; }
    [[nodiscard]] TextInputRelay& text_input() { return text_input_; }
    // The cursor image: an xcursor name ("default", or a shape a client asked for by name),
    // "client" for a client's own surface, "" when hidden.
    [[nodiscard]] const std::string& cursor_image() const { return cursor_image_; }
    // Whether the keyboard's focus asked to receive the compositor's shortcuts itself.
    [[nodiscard]] bool shortcuts_inhibited() const;

    void add_device(wlr_input_device* device);
    void remove_keyboard(Keyboard* keyboard);

    // Raises and activates a toplevel and gives it keyboard focus.
    void focus_toplevel(Toplevel* toplevel);
    // Keyboard focus to any surface (a layer surface, say); null clears it.
    void focus_surface(wlr_surface* surface);
    // A toplevel is going away: drop every reference to it.
    void forget_toplevel(Toplevel* toplevel);
    // Raises and activates an X11 window and gives it keyboard focus; forgetting one hands the
    // keyboard back to the top window.
    void focus_xwayland(XwaylandWindow* window);
    void forget_xwayland(XwaylandWindow* window);
    // The session was locked or unlocked, or a lock surface appeared: input and keyboard focus
    // go to the locker alone while locked, and back to the windows after.
    void session_lock_changed();
    // Something moved, appeared or went away under a still pointer: the pointer enters what is
    // under it now (no motion event when that is unchanged).
    void rebase_pointer();
    // Every input event: idle daemons count from the last one.
    void notify_activity();
    [[nodiscard]] bool session_locked() const;

    // Touch at a layout point, from a touch device or injected (tessera-ctl touch).
    void touch_down(int32_t id, uint32_t time_msec, double lx, double ly);
    void touch_motion(int32_t id, uint32_t time_msec, double lx, double ly);
    void touch_up(int32_t id, uint32_t time_msec);
    void touch_frame() { wlr_seat_touch_notify_frame(seat_); }

    void begin_move(Toplevel* toplevel);
    void begin_resize(Toplevel* toplevel, uint32_t edges);

    // For a pen that drives the pointer (Tablets): the surface under a layout point that takes
    // pointer input; the cursor moved; a button went down or up; focus as a click there does.
    wlr_surface* surface_under(double lx, double ly, double* sx, double* sy) const {
        return surface_at(lx, ly, ivi::input_pointer, sx, sy);
    }
    void pointer_moved(uint32_t time_msec);
    void pointer_button(uint32_t time_msec, uint32_t button, bool pressed);
    void focus_under(double lx, double ly) { focus_at(lx, ly, ivi::input_pointer); }
    // An input device went away.
    void input_devices_changed() { update_capabilities(); }

private:
    enum class Grab { none, move, resize };

    // The surface under a layout point that takes this kind of input, and the point in its
    // coordinates.
    wlr_surface* surface_at(double lx, double ly, ivi::InputKind kind, double* sx, double* sy,
                            wlr_scene_node** node = nullptr) const;
    void update_capabilities();
    void set_cursor_image(const char* xcursor_name);
    // Keyboard focus moved: a shortcuts inhibitor of the new focus becomes active.
    void update_shortcuts_inhibitors();
    void handle_motion(uint32_t time_msec);
    // The pointer's focus and image for what is under it.
    void update_pointer_focus(uint32_t time_msec);
    void handle_button(const wlr_pointer_button_event& event);
    void process_grab();
    void focus_at(double lx, double ly, ivi::InputKind kind);
    // Keyboard focus to a guest (a click or touch on its zone `node`), when it has a keyboard
    // and the zone passes keys on.
    void focus_guest(Guest* guest, wlr_scene_node* node);

    Server& server_;
    wlr_seat* seat_;
    wlr_cursor* cursor_;
    wlr_xcursor_manager* xcursor_manager_;
    wlr_virtual_keyboard_manager_v1* virtual_keyboards_;
    wlr_virtual_pointer_manager_v1* virtual_pointers_;

    std::vector<std::unique_ptr<Keyboard>> keyboards_;
    // Pointer and touch devices, for the seat's capabilities.
    std::map<wlr_input_device*, std::unique_ptr<Listener<void>>> pointer_devices_;
    std::map<wlr_input_device*, std::unique_ptr<Listener<void>>> touch_devices_;
    // Touch points down on a client's surface: where that surface's origin was in the layout
    // when the point went down (motion outside the surface still goes to it), and the end of
    // the point when the surface goes first.
    struct TouchPoint {
        double origin_x = 0, origin_y = 0;
        std::unique_ptr<Listener<void>> surface_gone = std::make_unique<Listener<void>>();
    };
    std::map<int32_t, TouchPoint> touch_points_;
    // Where the surface a button went down on had its origin, in the layout.
    double held_origin_x_ = 0, held_origin_y_ = 0;

    wlr_cursor_shape_manager_v1* cursor_shapes_;
    wlr_keyboard_shortcuts_inhibit_manager_v1* shortcuts_inhibit_;
    std::string cursor_image_;
    PointerConstraints constraints_;
    TextInputRelay text_input_;
    Tablets tablets_;
    GuestInputRouter guest_input_;
    Toplevel* focused_ = nullptr;
    XwaylandWindow* focused_x11_ = nullptr;
    Grab grab_ = Grab::none;
    Toplevel* grabbed_ = nullptr;
    double grab_x_ = 0, grab_y_ = 0;
    wlr_box grab_box_{};
    uint32_t resize_edges_ = 0;

    Listener<wlr_pointer_motion_event> on_motion_;
    Listener<wlr_pointer_motion_absolute_event> on_motion_absolute_;
    Listener<wlr_pointer_button_event> on_button_;
    Listener<wlr_pointer_axis_event> on_axis_;
    Listener<void> on_frame_;
    Listener<wlr_touch_down_event> on_touch_down_;
    Listener<wlr_touch_up_event> on_touch_up_;
    Listener<wlr_touch_motion_event> on_touch_motion_;
    Listener<wlr_touch_cancel_event> on_touch_cancel_;
    Listener<void> on_touch_frame_;
    Listener<wlr_seat_pointer_request_set_cursor_event> on_request_cursor_;
    Listener<wlr_seat_request_set_selection_event> on_request_selection_;
    Listener<wlr_seat_request_set_primary_selection_event> on_request_primary_selection_;
    Listener<wlr_virtual_keyboard_v1> on_new_virtual_keyboard_;
    Listener<wlr_virtual_pointer_v1_new_pointer_event> on_new_virtual_pointer_;
    Listener<wlr_cursor_shape_manager_v1_request_set_shape_event> on_request_shape_;
    Listener<wlr_keyboard_shortcuts_inhibitor_v1> on_new_shortcuts_inhibitor_;
    // Inhibitors by their own address, to drop the listener when they go.
    std::map<wlr_keyboard_shortcuts_inhibitor_v1*, std::unique_ptr<Listener<void>>>
        shortcuts_inhibitors_;
};

} // namespace tessera::compositor
