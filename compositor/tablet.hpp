#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <map>
#include <memory>

namespace tessera::compositor {

class Seat;

// tablet-v2: drawing tablets and their pens. A pen over a surface whose client speaks tablet-v2
// reaches it as a tablet tool (position, pressure, distance, tilt, rotation, tip, buttons);
// over any other surface (or a guest's zone) it drives the pointer, its tip clicking as the
// left button, so that every application can be used with a pen.
class Tablets {
public:
    Tablets(Seat& seat, wl_display* display);
    Tablets(const Tablets&) = delete;
    Tablets& operator=(const Tablets&) = delete;

    // A tablet tool device (libinput's or a test's).
    void add(wlr_input_device* device);
    [[nodiscard]] bool empty() const { return devices_.empty(); }

private:
    struct Device {
        wlr_tablet* tablet;
        wlr_tablet_v2_tablet* v2;
        Listener<wlr_tablet_tool_proximity_event> on_proximity;
        Listener<wlr_tablet_tool_axis_event> on_axis;
        Listener<wlr_tablet_tool_tip_event> on_tip;
        Listener<wlr_tablet_tool_button_event> on_button;
        Listener<void> on_destroy;
    };
    struct Tool {
        wlr_tablet_v2_tablet_tool* v2;
        bool emulating = false; // driving the pointer, not a tablet-v2 client
        Listener<void> on_destroy;
    };

    Tool& tool_for(wlr_tablet_tool* tool);
    // The pen moved to (x, y), fractions of the area it maps to: the tool enters and follows
    // the surface under it, or moves the pointer.
    void move(Device& device, wlr_tablet_tool* tool, double x, double y, uint32_t time_msec);
    void axis(Device& device, const wlr_tablet_tool_axis_event& event);
    void tip(Device& device, const wlr_tablet_tool_tip_event& event);
    void leave(Tool& tool);

    Seat& seat_;
    wlr_tablet_manager_v2* manager_;
    std::map<wlr_input_device*, std::unique_ptr<Device>> devices_;
    std::map<wlr_tablet_tool*, std::unique_ptr<Tool>> tools_;
};

} // namespace tessera::compositor
