#pragma once

#include "gpu-backend/device_host/channel.hpp"
#include "wlr.hpp"

#include <array>
#include <bitset>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tessera::compositor {

class Guest;
class GuestScanout;
class Server;

// Turns the seat's input over guests' zones into evdev frames for their virtio-input devices:
// a touch on a scanout becomes a contact of that scanout's touchscreen (multitouch slots, with
// single-touch emulation of the first contact), the pointer over scanout 0 becomes the guest's
// absolute pointer, and keys go to the guest that has the keyboard focus. Coordinates are the
// scanout's pixels under the point, through the zone's fit (GuestScanout::pixel_at), scaled to
// the device's axes. Each frame goes out on its own, ending in SYN_REPORT.
//
// State is kept so that a guest never keeps a key, button or contact the host no longer holds:
// contacts stay with the scanout they went down on until lifted; buttons pressed in a guest are
// released there; keys held in a guest are released when its keyboard focus leaves; and the
// modifiers held when the focus enters are pressed in the guest first.
class GuestInputRouter {
public:
    explicit GuestInputRouter(Server& server) : server_(server) {}

    // Where a layout point falls: the guest scanout its scene node shows, if any.
    struct Target {
        Guest* guest;
        GuestScanout* scanout;
        double x, y; // scanout pixels
    };
    std::optional<Target> target(wlr_scene_node* node, double lx, double ly) const;

    // The pointer moved to a layout point over `node` (null: nothing takes pointer input
    // there). True when it is over a guest's scanout (or dragging in one): the guest has it.
    bool pointer_motion(wlr_scene_node* node, double lx, double ly);
    // True when the guest took the button (the pointer is over it, or it holds the button).
    bool pointer_button(uint32_t button, bool pressed);
    // Wheel steps (discrete, in 120ths as wlroots gives them, or a plain delta).
    bool pointer_axis(bool horizontal, double delta, int32_t delta_discrete);
    // The guest under the pointer now, if any (for keyboard focus on a click).
    [[nodiscard]] Guest* pointer_guest() const;
    // Whether the guest under the pointer draws its own cursor (the host hides its own).
    [[nodiscard]] bool pointer_in_guest() const { return pointer_.has_value(); }

    // A touch went down on `node` at a layout point: true when it is a guest's contact now.
    bool touch_down(int32_t id, wlr_scene_node* node, double lx, double ly);
    // Motion and lifting of a contact; false when the contact is not a guest's.
    bool touch_motion(int32_t id, double lx, double ly);
    bool touch_up(int32_t id);
    [[nodiscard]] Guest* touch_guest(int32_t id) const;

    // Keyboard focus. `keyboard`: the host keyboard whose held modifiers and locks the guest
    // takes on entry (may be null).
    void focus_keyboard(Guest& guest, wlr_keyboard* keyboard);
    void leave_keyboard();
    [[nodiscard]] const std::string& keyboard_guest() const { return keyboard_guest_; }
    // A key of the host keyboard; true when the focused guest took it.
    bool key(uint32_t keycode, bool pressed);

private:
    using Frame = std::vector<gpu::channel::WireInputEvent>;
    struct Contact {
        std::string guest;
        uint32_t scanout;
        unsigned slot;
    };
    struct Touchscreen {
        std::bitset<16> slots;           // in use
        std::optional<unsigned> primary; // the contact the single-touch axes follow
        int32_t next_tracking_id = 0;
    };
    struct PointerSpot {
        std::string guest;
        uint32_t scanout;
    };

    Guest* find(const std::string& name) const;
    // The device's axis value for a scanout pixel.
    static int32_t axis_value(double pixel, int scanout_size, uint32_t axis_size);
    void send(Guest& guest, uint32_t kind, uint32_t scanout, Frame frame);
    void send_touch_position(Frame& frame, Guest& guest, const Contact& contact, double x, double y,
                             bool primary);
    void release_buttons(const std::string& guest);

    Server& server_;
    std::map<int32_t, Contact> contacts_; // by the host's touch id
    std::map<std::pair<std::string, uint32_t>, Touchscreen> touchscreens_;
    std::optional<PointerSpot> pointer_;
    std::map<std::string, std::set<uint32_t>> buttons_; // held in each guest
    std::array<double, 2> wheel_{}; // vertical, horizontal: 120ths not yet sent as a notch
    std::string keyboard_guest_;
    std::set<uint32_t> keys_; // held in the focused guest
};

} // namespace tessera::compositor
