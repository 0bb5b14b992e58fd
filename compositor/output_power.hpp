#pragma once

#include "listener.hpp"
#include "wlr.hpp"

namespace tessera::compositor {

class Server;

// wlr-output-power-management-unstable-v1 (wlopm, swayidle's "dpms off"): an output switched
// off stays in the layout, with its windows and zones where they are; it only stops showing
// frames until it is switched on again.
class OutputPower {
public:
    explicit OutputPower(Server& server);
    OutputPower(const OutputPower&) = delete;
    OutputPower& operator=(const OutputPower&) = delete;

private:
    void set_mode(wlr_output* output, bool on);

    Server& server_;
    wlr_output_power_manager_v1* manager_;
    Listener<wlr_output_power_v1_set_mode_event> on_set_mode_;
};

} // namespace tessera::compositor
