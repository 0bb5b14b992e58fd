#include "tablet.hpp"

#include "log_scopes.hpp"
#include "seat.hpp"

#include <linux/input-event-codes.h>

namespace tessera::compositor {

namespace {

// The pen's side buttons as mouse buttons, for clients that only know a pointer.
uint32_t as_mouse_button(uint32_t button) {
    switch (button) {
    case BTN_STYLUS:
        return BTN_RIGHT;
    case BTN_STYLUS2:
        return BTN_MIDDLE;
    default:
        return button;
    }
}

} // namespace

Tablets::Tablets(Seat& seat, wl_display* display)
    : seat_(seat), manager_(wlr_tablet_v2_create(display)) {}

void Tablets::add(wlr_input_device* input) {
    auto* tablet = wlr_tablet_from_input_device(input);
    auto& device = *(devices_[input] = std::make_unique<Device>());
    device.tablet = tablet;
    device.v2 = wlr_tablet_create(manager_, seat_.wlr(), input);
    device.on_proximity.connect(
        &tablet->events.proximity, [this, &device](wlr_tablet_tool_proximity_event* event) {
            seat_.notify_activity();
            if (event->state == WLR_TABLET_TOOL_PROXIMITY_IN) {
                move(device, event->tool, event->x, event->y, event->time_msec);
            } else {
                leave(tool_for(event->tool));
            }
        });
    device.on_axis.connect(&tablet->events.axis,
                           [this, &device](wlr_tablet_tool_axis_event* e) { axis(device, *e); });
    device.on_tip.connect(&tablet->events.tip,
                          [this, &device](wlr_tablet_tool_tip_event* e) { tip(device, *e); });
    device.on_button.connect(&tablet->events.button, [this](wlr_tablet_tool_button_event* e) {
        seat_.notify_activity();
        auto& tool = tool_for(e->tool);
        bool pressed = e->state == WLR_BUTTON_PRESSED;
        if (tool.v2->focused_surface) {
            wlr_send_tablet_v2_tablet_tool_button(tool.v2, e->button,
                                                  pressed
                                                      ? ZWP_TABLET_PAD_V2_BUTTON_STATE_PRESSED
                                                      : ZWP_TABLET_PAD_V2_BUTTON_STATE_RELEASED);
        } else if (tool.emulating) {
            seat_.pointer_button(e->time_msec, as_mouse_button(e->button), pressed);
        }
    });
    device.on_destroy.connect(&input->events.destroy, [this, input](void*) {
        Tablets* self = this; // erasing destroys this lambda
        self->devices_.erase(input);
        self->seat_.input_devices_changed();
    });
    log::info(input_log, "tablet '{}'", input->name ? input->name : "");
}

Tablets::Tool& Tablets::tool_for(wlr_tablet_tool* wlr_tool) {
    auto& slot = tools_[wlr_tool];
    if (!slot) {
        slot = std::make_unique<Tool>();
        slot->v2 = wlr_tablet_tool_create(manager_, seat_.wlr(), wlr_tool);
        slot->on_destroy.connect(&wlr_tool->events.destroy, [this, wlr_tool](void*) {
            Tablets* self = this; // erasing destroys this lambda
            self->tools_.erase(wlr_tool);
        });
    }
    return *slot;
}

void Tablets::move(Device& device, wlr_tablet_tool* wlr_tool, double x, double y,
                   uint32_t time_msec) {
    auto& tool = tool_for(wlr_tool);
    auto* cursor = seat_.cursor();
    wlr_cursor_warp_absolute(cursor, &device.tablet->base, x, y);
    double sx = 0, sy = 0;
    auto* surface = seat_.surface_under(cursor->x, cursor->y, &sx, &sy);
    if (tool.v2->is_down && tool.v2->focused_surface) {
        // Drawing: the stroke stays with its surface until the tip lifts.
        if (surface == tool.v2->focused_surface) {
            wlr_send_tablet_v2_tablet_tool_motion(tool.v2, sx, sy);
        }
        return;
    }
    if (surface && wlr_surface_accepts_tablet_v2(device.v2, surface)) {
        tool.emulating = false;
        if (tool.v2->focused_surface != surface) {
            wlr_send_tablet_v2_tablet_tool_proximity_in(tool.v2, device.v2, surface);
        }
        wlr_send_tablet_v2_tablet_tool_motion(tool.v2, sx, sy);
        return;
    }
    if (tool.v2->focused_surface) {
        wlr_send_tablet_v2_tablet_tool_proximity_out(tool.v2);
    }
    tool.emulating = true;
    seat_.pointer_moved(time_msec);
}

void Tablets::axis(Device& device, const wlr_tablet_tool_axis_event& event) {
    seat_.notify_activity();
    auto& tool = tool_for(event.tool);
    if (event.updated_axes & (WLR_TABLET_TOOL_AXIS_X | WLR_TABLET_TOOL_AXIS_Y)) {
        // One axis may come alone: the other keeps its place (NaN leaves it to wlroots).
        double x = (event.updated_axes & WLR_TABLET_TOOL_AXIS_X) ? event.x : NAN;
        double y = (event.updated_axes & WLR_TABLET_TOOL_AXIS_Y) ? event.y : NAN;
        move(device, event.tool, x, y, event.time_msec);
    }
    if (!tool.v2->focused_surface) {
        return;
    }
    const uint32_t axes = event.updated_axes;
    if (axes & WLR_TABLET_TOOL_AXIS_PRESSURE) {
        wlr_send_tablet_v2_tablet_tool_pressure(tool.v2, event.pressure);
    }
    if (axes & WLR_TABLET_TOOL_AXIS_DISTANCE) {
        wlr_send_tablet_v2_tablet_tool_distance(tool.v2, event.distance);
    }
    if (axes & (WLR_TABLET_TOOL_AXIS_TILT_X | WLR_TABLET_TOOL_AXIS_TILT_Y)) {
        wlr_send_tablet_v2_tablet_tool_tilt(tool.v2, event.tilt_x, event.tilt_y);
    }
    if (axes & WLR_TABLET_TOOL_AXIS_ROTATION) {
        wlr_send_tablet_v2_tablet_tool_rotation(tool.v2, event.rotation);
    }
    if (axes & WLR_TABLET_TOOL_AXIS_SLIDER) {
        wlr_send_tablet_v2_tablet_tool_slider(tool.v2, event.slider);
    }
    if (axes & WLR_TABLET_TOOL_AXIS_WHEEL) {
        wlr_send_tablet_v2_tablet_tool_wheel(tool.v2, event.wheel_delta, 0);
    }
}

void Tablets::tip(Device& device, const wlr_tablet_tool_tip_event& event) {
    seat_.notify_activity();
    auto& tool = tool_for(event.tool);
    bool down = event.state == WLR_TABLET_TOOL_TIP_DOWN;
    if (tool.v2->focused_surface) {
        if (down) {
            seat_.focus_under(seat_.cursor()->x, seat_.cursor()->y); // as a click does
            wlr_send_tablet_v2_tablet_tool_down(tool.v2);
        } else {
            wlr_send_tablet_v2_tablet_tool_up(tool.v2);
        }
    } else if (tool.emulating) {
        seat_.pointer_button(event.time_msec, BTN_LEFT, down);
    }
}

void Tablets::leave(Tool& tool) {
    if (tool.v2->focused_surface) {
        wlr_send_tablet_v2_tablet_tool_proximity_out(tool.v2);
    }
    tool.emulating = false;
}

} // namespace tessera::compositor
